// Inference engine (KV cache) against the training forward, and the sampler.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "model/gpt.h"
#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "test_params.h"

namespace modelc {
namespace {

GptConfig SmallConfig() {
  GptConfig c;
  c.vocab = 256;
  c.context = 24;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_embd = 32;
  return c;
}

std::vector<float> RandomParams(const GptConfig& c, uint32_t seed) {
  return RandomGptParams<float>(c, seed, 0.1, /*ln_weights_exactly_one=*/true);
}

std::vector<int> RandomTokens(int n, int vocab, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = (int)(g() % (uint32_t)vocab);
  return t;
}

// Logits of the training forward at every position [T, V].
std::vector<float> ReferenceLogits(const GptConfig& c, const std::vector<float>& p,
                                   const std::vector<int>& tok) {
  Gpt<float> model(c);
  model.Forward(p.data(), tok.data(), nullptr, 1, (int)tok.size());
  return model.acts().logits;
}

void ExpectRowNear(const std::vector<float>& got, const float* want, int V, int pos) {
  ASSERT_EQ((int)got.size(), V) << "position " << pos;
  float worst = 0;
  for (int v = 0; v < V; ++v) worst = std::max(worst, std::fabs(got[v] - want[v]));
  EXPECT_LE(worst, 1e-5f) << "position " << pos;
}

// Shapes that exercise partial micro-kernel panels: head sizes below, equal
// to and above the panel width, contexts spanning several key panels, a
// vocabulary that is not a multiple of the panel width.
std::vector<GptConfig> StepConfigs() {
  std::vector<GptConfig> v = {SmallConfig()};
  GptConfig c;
  c.vocab = 200; c.context = 70; c.n_layer = 2; c.n_head = 3; c.n_embd = 48;
  v.push_back(c);
  c.vocab = 256; c.context = 40; c.n_layer = 1; c.n_head = 2; c.n_embd = 96;
  v.push_back(c);
  return v;
}

TEST(Runtime, StepMatchesTrainingForwardAtEveryPosition) {
  SetNumThreads(1);  // the OpenMP default team would oversubscribe busy machines
  for (const GptConfig& c : StepConfigs()) {
    SCOPED_TRACE("n_embd " + std::to_string(c.n_embd) + " context " + std::to_string(c.context));
    const auto p = RandomParams(c, 1);
    const auto tok = RandomTokens(c.context, c.vocab, 2);
    const auto ref = ReferenceLogits(c, p, tok);
    GptEngine e(c, p.data());
    int exact = 0;
    for (int t = 0; t < c.context; ++t) {
      EXPECT_EQ(e.position(), t);
      const auto& l = e.Step(tok[t]);
      ExpectRowNear(l, ref.data() + (size_t)t * c.vocab, c.vocab, t);
      exact += std::equal(l.begin(), l.end(), ref.begin() + (size_t)t * c.vocab);
    }
    // Same layer functions and GEMM per-element contract: bit for bit.
    EXPECT_EQ(exact, c.context);
    EXPECT_TRUE(e.full());
  }
}

TEST(Runtime, PrefillMatchesTrainingForward) {
  SetNumThreads(1);
  for (const GptConfig& c : StepConfigs()) {
    SCOPED_TRACE("n_embd " + std::to_string(c.n_embd) + " context " + std::to_string(c.context));
    const auto p = RandomParams(c, 3);
    const auto tok = RandomTokens(c.context, c.vocab, 4);
    const auto ref = ReferenceLogits(c, p, tok);
    GptEngine e(c, p.data());
    for (int n = 1; n <= c.context; ++n) {
      e.Reset();
      std::vector<int> prompt(tok.begin(), tok.begin() + n);
      const auto& l = e.Prefill(prompt);
      EXPECT_EQ(e.position(), n);
      ExpectRowNear(l, ref.data() + (size_t)(n - 1) * c.vocab, c.vocab, n - 1);
      EXPECT_TRUE(std::equal(l.begin(), l.end(), ref.begin() + (size_t)(n - 1) * c.vocab));
    }
  }
  const GptConfig c = SmallConfig();
  const auto p = RandomParams(c, 3);
  const auto tok = RandomTokens(c.context, c.vocab, 4);
  const auto ref = ReferenceLogits(c, p, tok);
  GptEngine e(c, p.data());
  // Prefill, then Steps, then another Prefill chunk continue the sequence.
  e.Reset();
  ExpectRowNear(e.Prefill({tok.begin(), tok.begin() + 5}), ref.data() + 4 * c.vocab, c.vocab, 4);
  for (int t = 5; t < 9; ++t)
    ExpectRowNear(e.Step(tok[t]), ref.data() + (size_t)t * c.vocab, c.vocab, t);
  ExpectRowNear(e.Prefill({tok.begin() + 9, tok.begin() + 17}), ref.data() + 16 * c.vocab,
                c.vocab, 16);
  for (int t = 17; t < c.context; ++t)
    ExpectRowNear(e.Step(tok[t]), ref.data() + (size_t)t * c.vocab, c.vocab, t);
}

TEST(Runtime, ResultsDoNotDependOnThreads) {
  GptConfig c = SmallConfig();
  c.n_embd = 64;
  const auto p = RandomParams(c, 5);
  const auto tok = RandomTokens(c.context, c.vocab, 6);
  std::vector<std::vector<float>> out[2];
  for (int r = 0; r < 2; ++r) {
    SetNumThreads(r == 0 ? 1 : 2);
    GptEngine e(c, p.data());
    out[r].push_back(e.Prefill({tok.begin(), tok.begin() + 10}));
    for (int t = 10; t < c.context; ++t) out[r].push_back(e.Step(tok[t]));
  }
  SetNumThreads(1);
  EXPECT_EQ(out[0], out[1]);
}

TEST(Runtime, RefusesWhenFullOrInvalid) {
  const GptConfig c = SmallConfig();
  const auto p = RandomParams(c, 7);
  GptEngine e(c, p.data());
  EXPECT_TRUE(e.Step(-1).empty());
  EXPECT_TRUE(e.Step(c.vocab).empty());
  EXPECT_TRUE(e.Prefill({}).empty());
  EXPECT_TRUE(e.Prefill(std::vector<int>(c.context + 1, 1)).empty());
  EXPECT_TRUE(e.Prefill({1, 2, 300}).empty());
  EXPECT_EQ(e.position(), 0);
  EXPECT_EQ((int)e.Prefill(std::vector<int>(c.context - 1, 3)).size(), c.vocab);
  EXPECT_FALSE(e.full());
  EXPECT_TRUE(e.Prefill({1, 2}).empty());  // would overflow the context
  EXPECT_EQ(e.position(), c.context - 1);
  EXPECT_EQ((int)e.Step(4).size(), c.vocab);
  EXPECT_TRUE(e.full());
  EXPECT_TRUE(e.Step(5).empty());
  EXPECT_TRUE(e.Prefill({5}).empty());
  EXPECT_EQ(e.position(), c.context);
  e.Reset();
  EXPECT_EQ(e.position(), 0);
  EXPECT_FALSE(e.full());
  EXPECT_EQ((int)e.Step(4).size(), c.vocab);
}

TEST(Runtime, StepThroughput) {
  GptConfig c;
  c.vocab = 256;
  c.context = 128;
  c.n_layer = 4;
  c.n_head = 4;
  c.n_embd = 128;
  const auto p = RandomParams(c, 8);
  SetNumThreads(1);
  GptEngine e(c, p.data());
  const auto t0 = std::chrono::steady_clock::now();
  int tok = 10, steps = 0;
  for (int rep = 0; rep < 4; ++rep) {
    e.Reset();
    while (!e.full()) {
      const auto& l = e.Step(tok);
      tok = SampleToken(l, SamplerOptions{}, (uint64_t)steps++);
    }
  }
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ info ] Step(): %d tokens in %.3f s = %.0f tokens/s (n_layer 4, n_embd 128, "
              "context 128, 1 thread, ISA %s)\n",
              steps, dt, steps / dt, IsaName(ActiveIsa()));
  EXPECT_EQ(steps, 4 * c.context);
}

// ---- Sampler ----

std::vector<float> SomeLogits() {
  return {0.5f, 2.0f, -1.0f, 1.5f, 2.0f, 0.0f, -3.0f, 1.0f};  // max 2.0 at 1 and 4
}

std::vector<double> Softmax(const std::vector<float>& z, double temp) {
  double mx = z[0], s = 0;
  for (float v : z) mx = std::max(mx, (double)v);
  std::vector<double> p(z.size());
  for (size_t i = 0; i < z.size(); ++i) s += p[i] = std::exp((z[i] - mx) / temp);
  for (auto& v : p) v /= s;
  return p;
}

TEST(Sampler, TemperatureZeroIsArgmaxLowestIndex) {
  SamplerOptions o;
  o.temperature = 0;
  for (uint64_t i = 0; i < 50; ++i) EXPECT_EQ(SampleToken(SomeLogits(), o, i), 1);
  o.temperature = -1;
  EXPECT_EQ(SampleToken(SomeLogits(), o, 0), 1);
  o.temperature = std::nan("");
  EXPECT_EQ(SampleToken(SomeLogits(), o, 0), 1);
}

TEST(Sampler, SameSeedAndIndexSameToken) {
  SamplerOptions o;
  o.temperature = 1.5;
  o.seed = 123;
  std::vector<int> a, b;
  for (uint64_t i = 0; i < 200; ++i) a.push_back(SampleToken(SomeLogits(), o, i));
  for (uint64_t i = 0; i < 200; ++i) b.push_back(SampleToken(SomeLogits(), o, i));
  EXPECT_EQ(a, b);
  // Another seed gives another sequence.
  o.seed = 124;
  std::vector<int> d;
  for (uint64_t i = 0; i < 200; ++i) d.push_back(SampleToken(SomeLogits(), o, i));
  EXPECT_NE(a, d);
}

TEST(Sampler, TopKOneAndTinyTopPAreArgmax) {
  SamplerOptions o;
  o.temperature = 5;  // flat: without the filters many tokens would appear
  o.top_k = 1;
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(SampleToken(SomeLogits(), o, i), 1);
  o.top_k = 0;
  o.top_p = 1e-9;
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(SampleToken(SomeLogits(), o, i), 1);
  // top_p <= 0 (or NaN) is treated as greedy.
  o.top_p = 0;
  EXPECT_EQ(SampleToken(SomeLogits(), o, 0), 1);
  o.top_p = -0.5;
  EXPECT_EQ(SampleToken(SomeLogits(), o, 0), 1);
  o.top_p = std::nan("");
  EXPECT_EQ(SampleToken(SomeLogits(), o, 0), 1);
}

TEST(Sampler, TopKTwoKeepsTheTiedMaxima) {
  SamplerOptions o;
  o.temperature = 1;
  o.top_k = 2;
  int n1 = 0, n4 = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    const int t = SampleToken(SomeLogits(), o, i);
    ASSERT_TRUE(t == 1 || t == 4) << t;
    (t == 1 ? n1 : n4)++;
  }
  EXPECT_NEAR(n1 / 2000.0, 0.5, 0.05);
  // Negative top_k is off, like 0; top_k >= V keeps everything.
  o.top_k = -3;
  std::vector<int> seen(8, 0);
  for (uint64_t i = 0; i < 4000; ++i) seen[SampleToken(SomeLogits(), o, i)]++;
  for (int v = 0; v < 8; ++v) EXPECT_GT(seen[v], 0) << v;
}

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
  const std::vector<float> z = SomeLogits();
  SamplerOptions o;
  o.temperature = 1;
  o.seed = 42;
  const int n = 20000;
  std::vector<int> count(z.size(), 0);
  for (int i = 0; i < n; ++i) count[SampleToken(z, o, (uint64_t)i)]++;
  const auto p = Softmax(z, 1.0);
  for (size_t v = 0; v < z.size(); ++v) EXPECT_NEAR(count[v] / (double)n, p[v], 0.01) << v;
}

TEST(Sampler, TopPKeepsTheSmallestSufficientPrefix) {
  // Sorted: 1 (p .3), 4 (.3), 3, 7, 0, 5, 2, 6. Mass of {1,4} is < 0.6 but
  // >= 0.55 needs exactly these two... compute from the softmax.
  const std::vector<float> z = SomeLogits();
  const auto p = Softmax(z, 1.0);
  SamplerOptions o;
  o.temperature = 1;
  o.top_p = (p[1] + p[4]) * 0.999;  // the two maxima suffice
  const int n = 4000;
  std::vector<int> count(z.size(), 0);
  for (int i = 0; i < n; ++i) count[SampleToken(z, o, (uint64_t)i)]++;
  EXPECT_EQ(count[1] + count[4], n);
  EXPECT_NEAR(count[1] / (double)n, 0.5, 0.05);
  o.top_p = (p[1] + p[4]) * 1.001;  // needs the third (token 3)
  count.assign(z.size(), 0);
  for (int i = 0; i < n; ++i) count[SampleToken(z, o, (uint64_t)i)]++;
  EXPECT_EQ(count[1] + count[4] + count[3], n);
  EXPECT_NEAR(count[3] / (double)n, p[3] / (p[1] + p[4] + p[3]), 0.03);
}

TEST(Sampler, EdgeCases) {
  SamplerOptions o;
  EXPECT_EQ(SampleToken({}, o, 0), -1);
  EXPECT_EQ(SampleToken({3.0f}, o, 0), 0);
  const float nan = std::nanf("");
  // NaN logits are never picked.
  for (uint64_t i = 0; i < 100; ++i) {
    const int t = SampleToken({nan, 0.0f, nan, 0.1f}, o, i);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
  EXPECT_EQ(SampleToken({nan, nan}, o, 0), 0);
  const float inf = INFINITY;
  EXPECT_EQ(SampleToken({0.0f, inf, 1.0f}, o, 0), 1);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_NE(SampleToken({-inf, 0.0f, 0.0f}, o, i), 0);
}

}  // namespace
}  // namespace modelc
