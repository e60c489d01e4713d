// Step parity with PyTorch (tests/reference/gpt_reference.py).
//
// Both sides start from the same initial weights (modelc's InitParams) and
// see the same batches, exchanged as raw float32/int32 files plus a JSON
// table. Compared, for two shapes (one with odd sizes and several heads):
//   - logits and loss of one forward pass,
//   - every parameter gradient,
//   - the loss of each of 10 AdamW steps (with clipping) and the parameters
//     after them.
// Tolerances (fp32, same maths, different summation orders):
//   logits      |d| <= 2e-5 * max(1, max|logit|)
//   loss        |d| <= 1e-5 * loss
//   gradients   per tensor, |d| <= 1e-4 * max|g| of that tensor + 1e-7,
//               and the tensor's relative L2 error <= 1e-5
//   step losses |d| <= 1e-4 * loss      parameters |d| <= 1e-4 (lr is 1e-3)
// A real bug (a wrong transpose, a missing bias, wrong decay set, an
// off-by-one in the mask or the schedule) moves these by orders of magnitude.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "compile/schedule.h"
#include "compile/trainer.h"
#include "kernels/isa.h"
#include "model/gpt.h"
#include "pytorch_reference.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

using pytorch_ref::ReadF32;
using pytorch_ref::ParityBatches;
using pytorch_ref::ParityTrainConfig;
using pytorch_ref::WriteParityInputs;

struct Shape {
  const char* label;
  GptConfig c;
  int B;
};

class Parity : public ::testing::TestWithParam<Shape> {};

TEST_P(Parity, MatchesPyTorch) {
  const Shape sh = GetParam();
  const GptConfig& c = sh.c;
  const int B = sh.B, Tn = c.context, steps = 10;
  SetNumThreads(2);
  char tmpl[] = "/tmp/modelc_parity_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;

  const TrainConfig tc = ParityTrainConfig(steps, B);
  const auto specs = GptParamSpecs(c);
  std::vector<float> params = InitParams(FromGptConfig(c), 1234);
  const int64_t P = (int64_t)params.size();
  const std::vector<int32_t> batches = ParityBatches(steps, B, Tn, c.vocab, 77);
  WriteParityInputs(dir,
                    {{"vocab", c.vocab}, {"context", c.context}, {"n_layer", c.n_layer},
                     {"n_head", c.n_head}, {"n_embd", c.n_embd}},
                    B, Tn, specs, tc, params, batches);

  std::string out;
  const int rc = pytorch_ref::Run("gpt_reference.py", dir, &out);
  ASSERT_NE(rc, -1);
  ASSERT_EQ(rc, 0) << "the PyTorch reference failed (python3-torch is installed by "
                      "scripts/setup):\n" << out;

  // modelc, step by step, with the trainer's own update.
  Gpt<float> model(c);
  const int* tok0 = batches.data();
  const int* tgt0 = batches.data() + (size_t)B * Tn;
  const double loss0 = model.Forward(params.data(), tok0, tgt0, B, Tn);
  std::vector<float> grads(P, 0.0f);
  const float scale = 1.0f / (float)(B * Tn);
  model.Backward(params.data(), grads.data(), tok0, tgt0, scale);

  const auto ref_logits = ReadF32(dir / "ref_logits.f32");
  const auto ref_grads = ReadF32(dir / "ref_grads.f32");
  const auto ref_params = ReadF32(dir / "ref_params.f32");
  nlohmann::json ref = nlohmann::json::parse(std::ifstream(dir / "ref.json"));
  ASSERT_EQ(ref_logits.size(), model.acts().logits.size());
  ASSERT_EQ(ref_grads.size(), (size_t)P);
  ASSERT_EQ(ref_params.size(), (size_t)P);

  double maxl = 1;
  for (float x : ref_logits) maxl = std::max(maxl, (double)std::fabs(x));
  for (size_t i = 0; i < ref_logits.size(); ++i)
    ASSERT_NEAR(model.acts().logits[i], ref_logits[i], 2e-5 * maxl) << sh.label << " logit " << i;
  EXPECT_NEAR(loss0, ref["loss0"].get<double>(), 1e-5 * loss0) << sh.label;

  for (const auto& s : specs) {
    double maxg = 0, d2 = 0, r2 = 0;
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) maxg = std::max(maxg, (double)std::fabs(ref_grads[i]));
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
      const double d = (double)grads[i] - ref_grads[i];
      d2 += d * d;
      r2 += (double)ref_grads[i] * ref_grads[i];
      ASSERT_NEAR(grads[i], ref_grads[i], 1e-4 * maxg + 1e-7)
          << sh.label << " gradient of " << s.name << "[" << i - s.offset << "]";
    }
    EXPECT_LE(std::sqrt(d2), 1e-5 * std::sqrt(r2) + 1e-9) << sh.label << " gradient of " << s.name;
  }

  std::vector<float> m(P, 0.0f), v(P, 0.0f);
  for (int s = 0; s < steps; ++s) {
    const int* tok = batches.data() + (size_t)s * 2 * B * Tn;
    const int* tgt = tok + (size_t)B * Tn;
    std::fill(grads.begin(), grads.end(), 0.0f);
    const double loss = model.Forward(params.data(), tok, tgt, B, Tn);
    model.Backward(params.data(), grads.data(), tok, tgt, scale);
    ApplyUpdate(specs, tc, s, params.data(), grads.data(), m.data(), v.data());
    EXPECT_NEAR(loss, ref["step_losses"][s].get<double>(), 1e-4 * loss) << sh.label << " step " << s;
  }
  for (const auto& s : specs)
    for (int64_t i = s.offset; i < s.offset + s.size; ++i)
      ASSERT_NEAR(params[i], ref_params[i], 1e-4)
          << sh.label << " parameter " << s.name << "[" << i - s.offset << "] after " << steps << " steps";
  fs::remove_all(dir);
  SetNumThreads(1);
}

Shape Odd() {
  Shape s{"odd (3 heads, C=18, T=7, vocab 53)", {}, 3};
  s.c.vocab = 53; s.c.context = 7; s.c.n_layer = 2; s.c.n_head = 3; s.c.n_embd = 18;
  return s;
}
Shape Bytes() {
  Shape s{"byte model (4 heads, C=32, T=16)", {}, 4};
  s.c.vocab = 256; s.c.context = 16; s.c.n_layer = 2; s.c.n_head = 4; s.c.n_embd = 32;
  return s;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Parity, ::testing::Values(Odd(), Bytes()),
                         [](const auto& info) { return std::string(info.index ? "Bytes" : "Odd"); });

}  // namespace
}  // namespace modelc
