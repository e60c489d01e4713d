// The whole GPT: backward against central finite differences in double
// precision; the float forward against the double forward; and thread-count
// independence of a float forward+backward, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "model/gpt.h"
#include "test_params.h"

namespace modelc {
namespace {

GptConfig Tiny() {
  GptConfig c;
  c.vocab = 11;
  c.context = 6;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  return c;
}

std::vector<double> RandParams(const GptConfig& c, uint32_t seed) {
  return RandomGptParams<double>(c, seed, 0.3, /*ln_weights_exactly_one=*/false);
}

TEST(Model, ParamLayoutMatchesGpt2) {
  GptConfig c = Tiny();
  auto specs = GptParamSpecs(c);
  ASSERT_EQ(specs.size(), 2u + 12u * c.n_layer + 2u);
  EXPECT_EQ(specs[0].name, "token_embd.weight");
  EXPECT_EQ(specs[2].name, "blk.0.attn_norm.weight");
  EXPECT_EQ(specs[4].name, "blk.0.attn_qkv.weight");
  EXPECT_EQ(specs[4].shape, (std::vector<int64_t>{3 * 8, 8}));
  EXPECT_EQ(specs.back().name, "output_norm.bias");
  // 12 C^2 + 13 C per layer, + (V + T) C + 2C
  const int64_t C = 8;
  EXPECT_EQ(GptParamCount(c), c.n_layer * (12 * C * C + 13 * C) + (11 + 6) * C + 2 * C);
}

TEST(Model, BackwardMatchesFiniteDifferences) {
  GptConfig c = Tiny();
  const int B = 2, Tn = 5;
  std::vector<int> tok = {1, 5, 9, 2, 2, 0, 10, 3, 4, 7};
  std::vector<int> tgt = {5, 9, 2, 2, 0, 10, 3, 4, 7, 1};
  auto p = RandParams(c, 42);
  Gpt<double> model(c);
  model.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
  std::vector<double> g(p.size(), 0.0);
  // loss = mean over positions
  model.Backward(p.data(), g.data(), tok.data(), tgt.data(), 1.0 / (B * Tn));
  const double h = 1e-6;
  int checked = 0;
  for (const auto& s : GptParamSpecs(c)) {
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
      ASSERT_NEAR(g[k], fd, 1e-7 + 1e-5 * std::fabs(fd)) << s.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(Model, FloatForwardMatchesDouble) {
  GptConfig c = Tiny();
  const int B = 2, Tn = 5;
  std::vector<int> tok = {1, 5, 9, 2, 2, 0, 10, 3, 4, 7};
  std::vector<int> tgt = {5, 9, 2, 2, 0, 10, 3, 4, 7, 1};
  auto p = RandParams(c, 7);
  std::vector<float> pf(p.begin(), p.end());
  Gpt<double> md(c);
  Gpt<float> mf(c);
  const double ld = md.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
  const double lf = mf.Forward(pf.data(), tok.data(), tgt.data(), B, Tn);
  EXPECT_NEAR(lf, ld, 1e-5 * std::fabs(ld));
  for (size_t i = 0; i < md.acts().logits.size(); ++i)
    EXPECT_NEAR(mf.acts().logits[i], md.acts().logits[i], 2e-5);
  std::vector<double> gd(p.size(), 0.0);
  std::vector<float> gf(p.size(), 0.0f);
  md.Backward(p.data(), gd.data(), tok.data(), tgt.data(), 0.1);
  mf.Backward(pf.data(), gf.data(), tok.data(), tgt.data(), 0.1f);
  double maxg = 0;
  for (double x : gd) maxg = std::max(maxg, std::fabs(x));
  for (size_t i = 0; i < gd.size(); ++i) EXPECT_NEAR(gf[i], gd[i], 1e-5 * maxg) << i;
}

TEST(Model, GradientsBitIdenticalAcrossThreadCounts) {
  GptConfig c;
  c.vocab = 256; c.context = 32; c.n_layer = 2; c.n_head = 4; c.n_embd = 64;
  const int B = 3, Tn = 32;
  std::mt19937 g(3);
  std::vector<int> tok(B * Tn), tgt(B * Tn);
  for (auto& t : tok) t = g() % 256;
  for (auto& t : tgt) t = g() % 256;
  auto pd = RandParams(c, 9);
  std::vector<float> p(pd.begin(), pd.end());
  std::vector<float> ref;
  for (int threads : {1, 2, 3, 8}) {
    SetNumThreads(threads);
    Gpt<float> m(c);
    m.Forward(p.data(), tok.data(), tgt.data(), B, Tn);
    std::vector<float> grad(p.size(), 0.0f);
    m.Backward(p.data(), grad.data(), tok.data(), tgt.data(), 1.0f / (B * Tn));
    if (ref.empty()) ref = grad;
    else ASSERT_EQ(std::memcmp(ref.data(), grad.data(), 4 * ref.size()), 0) << threads;
  }
  SetNumThreads(1);
}

}  // namespace
}  // namespace modelc
