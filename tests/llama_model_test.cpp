// The whole Llama model (src/model/llama.h):
//  - parameter specs: llama.cpp `llama` GGUF names, shapes, count, contiguous offsets;
//  - backward against central finite differences in double (tied and untied);
//  - the float forward/backward against the double one;
//  - loss and gradients bit-identical at 1, 2, 3 and 8 threads;
//  - step parity with PyTorch (tests/reference/llama_reference.py, written
//    for the tests from the definitions, not from modelc's code): logits,
//    loss, every gradient, and 10 AdamW steps with modelc's own update.
// The odd shape: vocab 53, C = 24, NH = 6, NKV = 2 (3 query heads per kv
// head), head_dim 4, ffn_hidden 40, T = 7, B = 2, 2 layers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compile/schedule.h"
#include "compile/trainer.h"
#include "kernels/isa.h"
#include "model/llama.h"
#include "pytorch_reference.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

LlamaConfig OddLlama(bool tied) {
  LlamaConfig c;
  c.vocab = 53;
  c.context = 7;
  c.n_layer = 2;
  c.n_head = 6;
  c.n_head_kv = 2;
  c.n_embd = 24;
  c.ffn_hidden = 40;
  c.rope_theta = 10000.0;
  c.rms_eps = 1e-5;
  c.tie_embeddings = tied;
  return c;
}

// Random parameters: normal(0, stddev) in every matrix; RMSNorm weights
// 1 + normal(0, stddev) (random, but well conditioned).
template <class T>
std::vector<T> RandomLlamaParams(const LlamaConfig& c, uint32_t seed, double stddev) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<T> p(LlamaParamCount(c));
  for (auto& x : p) x = (T)(n(g) * stddev);
  for (const auto& s : LlamaParamSpecs(c))
    if (s.init == ParamSpec::Init::kOnes)
      for (int64_t i = 0; i < s.size; ++i) p[s.offset + i] += (T)1;
  return p;
}

void RandomBatch(int V, int n, uint32_t seed, std::vector<int>* tok, std::vector<int>* tgt) {
  std::mt19937 g(seed);
  tok->resize(n);
  tgt->resize(n);
  for (auto& t : *tok) t = (int)(g() % (unsigned)V);
  for (auto& t : *tgt) t = (int)(g() % (unsigned)V);
}

TEST(LlamaModel, ParamSpecsNamesShapesOffsets) {
  for (bool tied : {true, false}) {
    const LlamaConfig c = OddLlama(tied);
    const auto specs = LlamaParamSpecs(c);
    const int64_t V = 53, C = 24, Q = 6 * 4, KV = 2 * 4, H = 40;
    ASSERT_EQ(specs.size(), 1u + 9u * c.n_layer + 1u + (tied ? 0u : 1u));
    const std::vector<std::pair<std::string, std::vector<int64_t>>> block = {
        {"attn_norm.weight", {C}},       {"attn_q.weight", {Q, C}},  {"attn_k.weight", {KV, C}},
        {"attn_v.weight", {KV, C}},      {"attn_output.weight", {C, Q}},
        {"ffn_norm.weight", {C}},        {"ffn_gate.weight", {H, C}}, {"ffn_up.weight", {H, C}},
        {"ffn_down.weight", {C, H}}};
    size_t i = 0;
    EXPECT_EQ(specs[i].name, "token_embd.weight");
    EXPECT_EQ(specs[i].shape, (std::vector<int64_t>{V, C}));
    ++i;
    for (int l = 0; l < c.n_layer; ++l)
      for (const auto& [name, shape] : block) {
        EXPECT_EQ(specs[i].name, "blk." + std::to_string(l) + "." + name);
        EXPECT_EQ(specs[i].shape, shape) << specs[i].name;
        EXPECT_EQ(specs[i].decay, shape.size() == 2) << specs[i].name;
        EXPECT_EQ(specs[i].init, shape.size() == 2 ? ParamSpec::Init::kNormal : ParamSpec::Init::kOnes)
            << specs[i].name;
        ++i;
      }
    EXPECT_EQ(specs[i].name, "output_norm.weight");
    EXPECT_EQ(specs[i].shape, (std::vector<int64_t>{C}));
    ++i;
    if (!tied) {
      EXPECT_EQ(specs[i].name, "output.weight");
      EXPECT_EQ(specs[i].shape, (std::vector<int64_t>{V, C}));
      ++i;
    }
    EXPECT_EQ(i, specs.size());
    int64_t off = 0;
    for (const auto& s : specs) {
      int64_t size = 1;
      for (int64_t d : s.shape) size *= d;
      EXPECT_EQ(s.size, size) << s.name;
      EXPECT_EQ(s.offset, off) << s.name;
      off += s.size;
      if (s.init == ParamSpec::Init::kNormal) {
        const bool proj = s.name.find("attn_output") != std::string::npos ||
                          s.name.find("ffn_down") != std::string::npos;
        EXPECT_DOUBLE_EQ(s.init_std, proj ? 0.02 / std::sqrt(2.0 * c.n_layer) : 0.02) << s.name;
      }
    }
    // V C (+ V C untied) + per layer: 2C + Q C + 2 KV C + C Q + 3 H C; + C
    const int64_t per_layer = 2 * C + Q * C + 2 * KV * C + C * Q + 3 * H * C;
    EXPECT_EQ(LlamaParamCount(c), V * C * (tied ? 1 : 2) + c.n_layer * per_layer + C);
    EXPECT_EQ(off, LlamaParamCount(c));
    const LlamaOffsets o = LlamaParamOffsets(c);
    EXPECT_EQ(o.output, tied ? o.tok_embd : specs.back().offset);
  }
  LlamaConfig bad = OddLlama(true);
  bad.n_head_kv = 4;  // does not divide 6
  EXPECT_THROW(LlamaParamSpecs(bad), std::invalid_argument);
  bad = OddLlama(true);
  bad.n_head = 8;  // head_dim 3: odd
  bad.n_head_kv = 2;
  EXPECT_THROW(LlamaParamSpecs(bad), std::invalid_argument);
}

void CheckFiniteDifferences(bool tied) {
  const LlamaConfig c = OddLlama(tied);
  const int B = 2, Tn = 7;
  SetNumThreads(1);  // ~1000 tiny double forwards: no thread start-up per layer
  std::vector<int> tok, tgt;
  RandomBatch(c.vocab, B * Tn, 5, &tok, &tgt);
  auto p = RandomLlamaParams<double>(c, 42, 0.3);
  Llama<double> model(c);
  model.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
  std::vector<double> g(p.size(), 0.0);
  model.Backward(p.data(), g.data(), tok.data(), tgt.data(), 1.0 / (B * Tn));  // mean loss
  const double h = 1e-6;
  int checked = 0;
  double worst = 0;
  for (const auto& s : LlamaParamSpecs(c)) {
    const int64_t stride = s.size > 24 ? s.size / 24 : 1;
    for (int64_t i = 0; i < s.size; i += stride) {
      const int64_t k = s.offset + i;
      const double old = p[k];
      p[k] = old + h;
      const double lp = model.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
      p[k] = old - h;
      const double lm = model.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
      p[k] = old;
      const double fd = (lp - lm) / (2 * h);
      ASSERT_NEAR(g[k], fd, 1e-7 + 1e-5 * std::fabs(fd)) << (tied ? "tied " : "untied ") << s.name << "[" << i << "]";
      worst = std::max(worst, std::fabs(g[k] - fd) / std::max(1e-3, std::fabs(fd)));
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
  std::printf("  %s: %d gradient elements vs central differences, worst relative error %.2e\n",
              tied ? "tied" : "untied", checked, worst);
}

TEST(LlamaModel, BackwardMatchesFiniteDifferencesTied) { CheckFiniteDifferences(true); }
TEST(LlamaModel, BackwardMatchesFiniteDifferencesUntied) { CheckFiniteDifferences(false); }

TEST(LlamaModel, FloatMatchesDouble) {
  for (bool tied : {true, false}) {
    const LlamaConfig c = OddLlama(tied);
    const int B = 2, Tn = 7;
    std::vector<int> tok, tgt;
    RandomBatch(c.vocab, B * Tn, 11, &tok, &tgt);
    auto p = RandomLlamaParams<double>(c, 7, 0.3);
    std::vector<float> pf(p.begin(), p.end());
    p.assign(pf.begin(), pf.end());  // the same (float-representable) parameters
    Llama<double> md(c);
    Llama<float> mf(c);
    const double ld = md.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
    const double lf = mf.Forward(pf.data(), tok.data(), tgt.data(), B, Tn);
    EXPECT_NEAR(lf, ld, 1e-5 * std::fabs(ld));
    double maxl = 0, dl = 0;
    for (size_t i = 0; i < md.acts().logits.size(); ++i) {
      maxl = std::max(maxl, std::fabs(md.acts().logits[i]));
      dl = std::max(dl, std::fabs(mf.acts().logits[i] - md.acts().logits[i]));
    }
    EXPECT_LE(dl, 1e-5 * std::max(1.0, maxl));  // measured ~2e-6 relative (logits up to ~5)
    std::vector<double> gd(p.size(), 0.0);
    std::vector<float> gf(p.size(), 0.0f);
    md.Backward(p.data(), gd.data(), tok.data(), tgt.data(), 1.0 / (B * Tn));
    mf.Backward(pf.data(), gf.data(), tok.data(), tgt.data(), 1.0f / (B * Tn));
    double worst = 0;
    for (const auto& s : LlamaParamSpecs(c)) {
      double d2 = 0, r2 = 0;
      for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
        d2 += (gf[i] - gd[i]) * (gf[i] - gd[i]);
        r2 += gd[i] * gd[i];
      }
      const double rel = std::sqrt(d2 / std::max(r2, 1e-300));
      worst = std::max(worst, rel);
      // Measured <= 8.4e-6 with these deliberately large (std 0.3) weights;
      // the parity test's 1e-5 applies at std 0.1, where float errors are smaller.
      EXPECT_LE(rel, 5e-5) << (tied ? "tied " : "untied ") << s.name;
    }
    std::printf("  %s: |loss f - d| %.2e, max |logit f - d| %.2e, worst per-tensor gradient rel. L2 %.2e\n",
                tied ? "tied" : "untied", std::fabs(lf - ld), dl, worst);
  }
}

TEST(LlamaModel, LossAndGradientsBitIdenticalAcrossThreadCounts) {
  for (bool tied : {true, false}) {
    LlamaConfig c;
    c.vocab = 256; c.context = 32; c.n_layer = 2; c.n_head = 4; c.n_head_kv = 2;
    c.n_embd = 64; c.ffn_hidden = 176; c.tie_embeddings = tied;
    const int B = 3, Tn = 29;  // Tn < context: a prefix of the RoPE table
    std::vector<int> tok, tgt;
    RandomBatch(c.vocab, B * Tn, 3, &tok, &tgt);
    auto p = RandomLlamaParams<float>(c, 9, 0.1);
    std::vector<float> ref;
    double ref_loss = 0;
    for (int threads : {1, 2, 3, 8}) {
      SetNumThreads(threads);
      Llama<float> m(c);
      const double loss = m.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
      std::vector<float> grad(p.size(), 0.0f);
      m.Backward(p.data(), grad.data(), tok.data(), tgt.data(), 1.0f / (B * Tn));
      // A second step on the same object (reused buffers) gives the same bits.
      std::vector<float> grad2(p.size(), 0.0f);
      m.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
      m.Backward(p.data(), grad2.data(), tok.data(), tgt.data(), 1.0f / (B * Tn));
      ASSERT_EQ(std::memcmp(grad.data(), grad2.data(), 4 * grad.size()), 0) << threads;
      if (ref.empty()) {
        ref = grad;
        ref_loss = loss;
        ASSERT_TRUE(std::isfinite(loss));
      } else {
        ASSERT_EQ(std::memcmp(&ref_loss, &loss, sizeof loss), 0) << threads << " threads";
        ASSERT_EQ(std::memcmp(ref.data(), grad.data(), 4 * ref.size()), 0) << threads << " threads";
      }
    }
    SetNumThreads(1);
  }
}

// ---------------------------------------------------------------------------
// Step parity with PyTorch (the harness of tests/parity_test.cpp, copied).
// Tolerances (fp32, same maths, different summation orders):
//   logits      |d| <= 2e-5 * max(1, max|logit|)
//   loss        |d| <= 1e-5 * loss
//   gradients   per tensor, relative L2 error <= 1e-5, and
//               |d| <= 1e-4 * max|g| of that tensor + 1e-7 element-wise
//   step losses |d| <= 1e-4 * loss      parameters |d| <= 1e-4 (lr 1e-3)

using pytorch_ref::ReadF32;
using pytorch_ref::ParityBatches;
using pytorch_ref::ParityTrainConfig;
using pytorch_ref::WriteParityInputs;

void CheckParity(bool tied) {
  const LlamaConfig c = OddLlama(tied);
  const char* label = tied ? "tied" : "untied";
  const int B = 2, Tn = c.context, steps = 10;
  SetNumThreads(2);
  char tmpl[] = "/tmp/modelc_llama_parity_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;

  const TrainConfig tc = ParityTrainConfig(steps, B);
  const auto specs = LlamaParamSpecs(c);
  // Larger than the 0.02 init, so that attention, RoPE and the gates matter.
  std::vector<float> params = RandomLlamaParams<float>(c, 1234, 0.1);
  const int64_t P = (int64_t)params.size();
  const std::vector<int32_t> batches = ParityBatches(steps, B, Tn, c.vocab, 77);
  WriteParityInputs(dir,
                    {{"vocab", c.vocab},         {"context", c.context},
                     {"n_layer", c.n_layer},     {"n_head", c.n_head},
                     {"n_head_kv", c.n_head_kv}, {"n_embd", c.n_embd},
                     {"ffn_hidden", c.ffn_hidden}, {"rope_theta", c.rope_theta},
                     {"rms_eps", c.rms_eps},     {"tie_embeddings", c.tie_embeddings}},
                    B, Tn, specs, tc, params, batches);

  std::string out;
  const int rc = pytorch_ref::Run("llama_reference.py", dir, &out);
  ASSERT_NE(rc, -1);
  ASSERT_EQ(rc, 0) << "the PyTorch reference failed (python3-torch is installed by "
                      "scripts/setup):\n" << out;

  Llama<float> model(c);
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

  double maxl = 1, dlog = 0;
  for (float x : ref_logits) maxl = std::max(maxl, (double)std::fabs(x));
  for (size_t i = 0; i < ref_logits.size(); ++i) {
    ASSERT_NEAR(model.acts().logits[i], ref_logits[i], 2e-5 * maxl) << label << " logit " << i;
    dlog = std::max(dlog, (double)std::fabs(model.acts().logits[i] - ref_logits[i]));
  }
  EXPECT_NEAR(loss0, ref["loss0"].get<double>(), 1e-5 * loss0) << label;

  double worst = 0;
  std::string worst_name;
  for (const auto& s : specs) {
    double maxg = 0, d2 = 0, r2 = 0;
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) maxg = std::max(maxg, (double)std::fabs(ref_grads[i]));
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
      const double d = (double)grads[i] - ref_grads[i];
      d2 += d * d;
      r2 += (double)ref_grads[i] * ref_grads[i];
      ASSERT_NEAR(grads[i], ref_grads[i], 1e-4 * maxg + 1e-7)
          << label << " gradient of " << s.name << "[" << i - s.offset << "]";
    }
    ASSERT_GT(r2, 0) << label << " gradient of " << s.name << " is zero in the reference";
    const double rel = std::sqrt(d2 / r2);
    EXPECT_LE(rel, 1e-5) << label << " gradient of " << s.name;
    if (rel > worst) worst = rel, worst_name = s.name;
  }

  std::vector<float> m(P, 0.0f), v(P, 0.0f);
  double worst_step = 0;
  for (int s = 0; s < steps; ++s) {
    const int* tok = batches.data() + (size_t)s * 2 * B * Tn;
    const int* tgt = tok + (size_t)B * Tn;
    std::fill(grads.begin(), grads.end(), 0.0f);
    const double loss = model.Forward(params.data(), tok, tgt, B, Tn);
    model.Backward(params.data(), grads.data(), tok, tgt, scale);
    ApplyUpdate(specs, tc, s, params.data(), grads.data(), m.data(), v.data());
    const double rl = ref["step_losses"][s].get<double>();
    EXPECT_NEAR(loss, rl, 1e-4 * loss) << label << " step " << s;
    worst_step = std::max(worst_step, std::fabs(loss - rl) / rl);
  }
  double dparam = 0;
  for (const auto& s : specs)
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
      ASSERT_NEAR(params[i], ref_params[i], 1e-4)
          << label << " parameter " << s.name << "[" << i - s.offset << "] after " << steps << " steps";
      dparam = std::max(dparam, (double)std::fabs(params[i] - ref_params[i]));
    }
  std::printf("  %s: max |logit d| %.2e (max |logit| %.2f), |loss d| %.2e, worst gradient rel. L2 %.2e (%s), "
              "step losses rel. <= %.2e, params after %d steps |d| <= %.2e\n",
              label, dlog, maxl, std::fabs(loss0 - ref["loss0"].get<double>()), worst,
              worst_name.c_str(), worst_step, steps, dparam);
  fs::remove_all(dir);
  SetNumThreads(1);
}

TEST(LlamaParity, OddGqaTiedMatchesPyTorch) { CheckParity(true); }
TEST(LlamaParity, OddGqaUntiedMatchesPyTorch) { CheckParity(false); }

}  // namespace
}  // namespace modelc
