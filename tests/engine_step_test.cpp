// InferenceEngine::Step (one parallel region per token, products split over
// panels, attention over heads) against the batched path, bit for bit, at
// thread counts below, at and above the number of heads.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "model/gpt.h"
#include "runtime/engine.h"
#include "test_params.h"

namespace modelc {
namespace {

std::vector<int> Tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = (int)(g() % (uint32_t)vocab);
  return t;
}

TEST(EngineStep, StepEqualsPrefillAllAtEveryThreadCount) {
  std::vector<GptConfig> cfgs;
  GptConfig c;
  // head size 32 below the AVX-512 panel width, vocabulary not a multiple of
  // any panel width, context over several key panels
  c.vocab = 200; c.context = 70; c.n_layer = 2; c.n_head = 3; c.n_embd = 96;
  cfgs.push_back(c);
  c.vocab = 77; c.context = 33; c.n_layer = 1; c.n_head = 4; c.n_embd = 64;
  cfgs.push_back(c);
  for (const GptConfig& cfg : cfgs) {
    SCOPED_TRACE("n_embd " + std::to_string(cfg.n_embd) + " vocab " + std::to_string(cfg.vocab));
    const auto p = RandomGptParams<float>(cfg, 11, 0.1, /*ln_weights_exactly_one=*/false);
    const auto tok = Tokens(cfg.context, cfg.vocab, 12);
    SetNumThreads(1);
    GptEngine ref(cfg, p.data());
    std::vector<float> all;
    ASSERT_TRUE(ref.PrefillAll(tok, &all));
    // and the training forward, for the whole sequence
    Gpt<float> model(cfg);
    model.Forward(p.data(), tok.data(), nullptr, 1, (int)tok.size());
    ASSERT_EQ(std::memcmp(model.acts().logits.data(), all.data(), all.size() * 4), 0);
    for (int threads : {1, 2, 3, 5}) {
      SetNumThreads(threads);
      GptEngine e(cfg, p.data());
      // a prefix by Prefill, the rest by Step
      const std::vector<int> head(tok.begin(), tok.begin() + 5);
      const auto& first = e.Prefill(head);
      ASSERT_EQ(std::memcmp(first.data(), all.data() + (size_t)4 * cfg.vocab, cfg.vocab * 4), 0);
      for (int t = 5; t < cfg.context; ++t) {
        const auto& l = e.Step(tok[t]);
        ASSERT_EQ((int)l.size(), cfg.vocab);
        ASSERT_EQ(std::memcmp(l.data(), all.data() + (size_t)t * cfg.vocab, cfg.vocab * 4), 0)
            << "threads " << threads << " position " << t;
      }
      EXPECT_TRUE(e.full());
      EXPECT_TRUE(e.Step(tok[0]).empty());
      // After Reset the whole sequence by Step again.
      e.Reset();
      for (int t = 0; t < cfg.context; ++t)
        ASSERT_EQ(std::memcmp(e.Step(tok[t]).data(), all.data() + (size_t)t * cfg.vocab,
                              cfg.vocab * 4), 0)
            << "after Reset, threads " << threads << " position " << t;
    }
    SetNumThreads(1);
  }
}

}  // namespace
}  // namespace modelc
