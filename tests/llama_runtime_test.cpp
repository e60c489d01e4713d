// LlamaEngine (runtime/engine.h) against the training forward
// (Llama<float>::Forward): one token at a time (KV cache of n_head_kv heads,
// RoPE at the absolute position), prefill, prefill then steps, every-row
// logits; the same bits at 1 and 2 threads; the int8 (Q8_0) path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/q8_dot.h"
#include "model/llama.h"
#include "runtime/engine.h"

namespace modelc {
namespace {

// Shapes with grouped-query heads, partial micro-kernel panels (head sizes
// below and above the panel width, a vocabulary that is not a multiple of
// it, contexts spanning several key panels) and an untied output.
std::vector<LlamaConfig> Configs() {
  std::vector<LlamaConfig> v;
  LlamaConfig c;
  c.vocab = 200; c.context = 70; c.n_layer = 2; c.n_head = 6; c.n_head_kv = 2; c.n_embd = 48;
  c.ffn_hidden = 64; c.tie_embeddings = true;
  v.push_back(c);
  c.vocab = 256; c.context = 40; c.n_layer = 1; c.n_head = 3; c.n_head_kv = 3; c.n_embd = 96;
  c.ffn_hidden = 96; c.tie_embeddings = false; c.rope_theta = 500.0;
  v.push_back(c);
  c.vocab = 61; c.context = 24; c.n_layer = 3; c.n_head = 4; c.n_head_kv = 1; c.n_embd = 32;
  c.ffn_hidden = 40; c.tie_embeddings = true; c.rope_theta = 10000.0;
  v.push_back(c);
  return v;
}

std::string Name(const LlamaConfig& c) {
  return "C" + std::to_string(c.n_embd) + " NH" + std::to_string(c.n_head) + " NKV" +
         std::to_string(c.n_head_kv) + " ctx" + std::to_string(c.context) +
         (c.tie_embeddings ? " tied" : " untied");
}

std::vector<float> RandomParams(const LlamaConfig& c, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<float> p(LlamaParamCount(c));
  for (auto& x : p) x = (float)(n(g) * 0.1);
  for (const auto& s : LlamaParamSpecs(c))
    if (s.shape.size() == 1)
      for (int64_t i = 0; i < s.size; ++i) p[s.offset + i] = (float)(1.0 + 0.1 * n(g));
  return p;
}

std::vector<int> RandomTokens(int n, int vocab, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = (int)(g() % (uint32_t)vocab);
  return t;
}

std::vector<float> ReferenceLogits(const LlamaConfig& c, const std::vector<float>& p,
                                   const std::vector<int>& tok) {
  Llama<float> model(c);
  model.Forward(p.data(), tok.data(), nullptr, 1, (int)tok.size());
  return model.acts().logits;
}

bool RowEquals(const std::vector<float>& got, const std::vector<float>& ref, int row, int V) {
  return (int)got.size() == V && std::equal(got.begin(), got.end(), ref.begin() + (size_t)row * V);
}

TEST(LlamaRuntime, StepMatchesTrainingForwardBitForBit) {
  for (int threads : {1, 2}) {
    SetNumThreads(threads);
    for (const LlamaConfig& c : Configs()) {
      SCOPED_TRACE(Name(c) + " threads " + std::to_string(threads));
      const auto p = RandomParams(c, 1);
      const auto tok = RandomTokens(c.context, c.vocab, 2);
      const auto ref = ReferenceLogits(c, p, tok);
      LlamaEngine e(c, p.data());
      int exact = 0;
      for (int t = 0; t < c.context; ++t) exact += RowEquals(e.Step(tok[t]), ref, t, c.vocab);
      EXPECT_EQ(exact, c.context);
      EXPECT_TRUE(e.full());
      EXPECT_TRUE(e.Step(tok[0]).empty());  // refused when full
    }
  }
  SetNumThreads(1);
}

TEST(LlamaRuntime, PrefillAndMixedMatchTrainingForward) {
  SetNumThreads(2);
  for (const LlamaConfig& c : Configs()) {
    SCOPED_TRACE(Name(c));
    const auto p = RandomParams(c, 3);
    const auto tok = RandomTokens(c.context, c.vocab, 4);
    const auto ref = ReferenceLogits(c, p, tok);
    LlamaEngine e(c, p.data());
    for (int n : {1, 2, 7, c.context / 2, c.context}) {
      e.Reset();
      EXPECT_TRUE(RowEquals(e.Prefill({tok.begin(), tok.begin() + n}), ref, n - 1, c.vocab)) << n;
    }
    // Prefill, Steps, another Prefill chunk, Steps: one sequence.
    e.Reset();
    EXPECT_TRUE(RowEquals(e.Prefill({tok.begin(), tok.begin() + 5}), ref, 4, c.vocab));
    for (int t = 5; t < 9; ++t) EXPECT_TRUE(RowEquals(e.Step(tok[t]), ref, t, c.vocab)) << t;
    EXPECT_TRUE(RowEquals(e.Prefill({tok.begin() + 9, tok.begin() + 17}), ref, 16, c.vocab));
    for (int t = 17; t < c.context; ++t) EXPECT_TRUE(RowEquals(e.Step(tok[t]), ref, t, c.vocab)) << t;
    // Every row at once.
    e.Reset();
    std::vector<float> all;
    ASSERT_TRUE(e.PrefillAll(tok, &all));
    EXPECT_EQ(all, ref);
    EXPECT_FALSE(e.PrefillAll({0}, &all));  // full
  }
  SetNumThreads(1);
}

TEST(LlamaRuntime, Q8PathIsCloseToF32AndThreadIndependent) {
  LlamaConfig c = Configs()[0];  // K = 48 or 64: whole 32-value blocks except none
  c.n_embd = 64; c.n_head = 4; c.n_head_kv = 2; c.ffn_hidden = 96;
  const auto p = RandomParams(c, 5);
  // Every 2-D matrix as Q8_0, and the decoded values in place (what
  // LoadModelFile gives for a quantized file).
  std::vector<float> pq = p;
  std::vector<std::vector<uint8_t>> raw;
  Q8Weights q8;
  for (const auto& s : LlamaParamSpecs(c)) {
    if (s.shape.size() != 2) continue;
    raw.emplace_back((size_t)s.size / 32 * 34);
    QuantizeRowQ8_0(p.data() + s.offset, s.size, raw.back().data());
    DequantizeRowQ8_0(raw.back().data(), s.size, pq.data() + s.offset);
    q8[s.name] = raw.back().data();
  }
  const auto tok = RandomTokens(c.context, c.vocab, 6);
  const auto ref = ReferenceLogits(c, p, tok);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    SetNumThreads(threads);
    LlamaEngine e(c, pq.data(), &q8);
    EXPECT_TRUE(e.quantized());
    std::vector<float> all;
    for (int t = 0; t < c.context; ++t) {
      const auto& l = e.Step(tok[t]);
      all.insert(all.end(), l.begin(), l.end());
    }
    runs.push_back(all);
  }
  SetNumThreads(1);
  EXPECT_EQ(runs[0], runs[1]);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, (double)std::fabs(runs[0][i] - ref[i]));
    scale = std::max(scale, (double)std::fabs(ref[i]));
  }
  EXPECT_LT(worst, 0.05 * scale) << "worst " << worst << " of " << scale;
  EXPECT_GT(worst, 0.0);  // it did run on int8
}

}  // namespace
}  // namespace modelc
