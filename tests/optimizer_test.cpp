// AdamW, gradient clipping and the learning-rate schedule against plain
// double-precision references.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "compile/optimizer.h"
#include "compile/schedule.h"

namespace modelc {
namespace {

TEST(Optimizer, AdamWMatchesDoubleReferenceOverSteps) {
  GptConfig c;
  c.vocab = 5; c.context = 3; c.n_layer = 1; c.n_head = 1; c.n_embd = 4;
  auto specs = GptParamSpecs(c);
  const int64_t P = GptParamCount(c);
  std::mt19937 g(1);
  std::normal_distribution<double> n(0, 1);
  std::vector<double> pd(P), md(P, 0), vd(P, 0);
  for (auto& x : pd) x = n(g);
  std::vector<float> p(pd.begin(), pd.end()), m(P, 0), v(P, 0), grad(P);
  AdamWHyper h;
  h.lr = 1e-2; h.beta1 = 0.9; h.beta2 = 0.95; h.eps = 1e-8; h.weight_decay = 0.1;
  for (int t = 1; t <= 10; ++t) {
    for (int64_t i = 0; i < P; ++i) grad[i] = (float)n(g);
    AdamWStep(specs, p.data(), grad.data(), m.data(), v.data(), h, t);
    for (const auto& s : specs)
      for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
        const double gi = grad[i];
        md[i] = 0.9 * md[i] + 0.1 * gi;
        vd[i] = 0.95 * vd[i] + 0.05 * gi * gi;
        const double mhat = md[i] / (1 - std::pow(0.9, t)), vhat = vd[i] / (1 - std::pow(0.95, t));
        if (s.decay) pd[i] -= h.lr * h.weight_decay * pd[i];
        pd[i] -= h.lr * mhat / (std::sqrt(vhat) + h.eps);
      }
  }
  for (int64_t i = 0; i < P; ++i) EXPECT_NEAR(p[i], pd[i], 2e-6 * (1 + std::fabs(pd[i]))) << i;
  // Decay only on 2-D weights: the spec says which.
  for (const auto& s : specs) EXPECT_EQ(s.decay, s.shape.size() == 2) << s.name;
}

TEST(Optimizer, GlobalNormAndClipping) {
  std::vector<float> g(100000);
  double ref = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    g[i] = (float)std::sin(0.37 * i);
    ref += (double)g[i] * g[i];
  }
  ref = std::sqrt(ref);
  const double norm = GlobalNorm(g.data(), g.size());
  EXPECT_NEAR(norm, ref, 1e-9 * ref);
  ClipGradients(g.data(), g.size(), norm, 1.0);
  EXPECT_NEAR(GlobalNorm(g.data(), g.size()), 1.0, 1e-5);
  // Below the threshold nothing changes.
  std::vector<float> h = {0.1f, 0.2f};
  EXPECT_EQ(ClipGradients(h.data(), 2, GlobalNorm(h.data(), 2), 1.0), 1.0f);
  EXPECT_EQ(h[0], 0.1f);
}

TEST(Schedule, WarmupThenCosineToMinLr) {
  TrainConfig t;
  t.steps = 110; t.warmup_steps = 10; t.learning_rate = 1e-3; t.min_lr = 1e-4;
  EXPECT_DOUBLE_EQ(LearningRate(t, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRate(t, 9), 1e-3);
  EXPECT_NEAR(LearningRate(t, 10), 1e-3, 1e-15);
  EXPECT_NEAR(LearningRate(t, 109), 1e-4, 1e-15);
  for (int s = 10; s < 110; ++s) {
    const double p = (s - 10) / 99.0;
    EXPECT_NEAR(LearningRate(t, s), 1e-4 + 0.9e-3 * 0.5 * (1 + std::cos(M_PI * p)), 1e-15);
  }
  t.lr_schedule = "constant";
  EXPECT_DOUBLE_EQ(LearningRate(t, 50), 1e-3);
}

}  // namespace
}  // namespace modelc
