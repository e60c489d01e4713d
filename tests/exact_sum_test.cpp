// ExactSum (compile/exact_sum.h): exact conversion, correct final rounding,
// and the same bits for any order or split of the terms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "compile/exact_sum.h"

namespace modelc {
namespace {

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(ExactSum, RoundTripIsExactInRange) {
  std::mt19937 g(1);
  std::uniform_real_distribution<double> e(-73, 19.9);
  for (int i = 0; i < 200000; ++i) {
    const float x = (float)((g() & 1 ? -1 : 1) * std::exp2(e(g)));
    uint64_t lo, hi;
    ASSERT_TRUE(ExactSum::ToFixed(x, &lo, &hi)) << x;
    ASSERT_EQ(Bits(ExactSum::FromFixed(lo, hi)), Bits(x)) << x;
  }
  for (float x : {1.0f, -1.0f, 0.5f, 1048575.9f, -1048575.9f, std::ldexp(1.0f, -73)}) {
    uint64_t lo, hi;
    ASSERT_TRUE(ExactSum::ToFixed(x, &lo, &hi));
    EXPECT_EQ(ExactSum::FromFixed(lo, hi), x);
  }
}

TEST(ExactSum, TinyValuesRoundToTheQuantumNearestEven) {
  uint64_t lo, hi;
  auto fixed = [&](float x) {
    EXPECT_TRUE(ExactSum::ToFixed(x, &lo, &hi));
    return lo;  // small magnitudes: the low word says it all
  };
  EXPECT_EQ(fixed(std::ldexp(1.0f, -96)), 1u);
  EXPECT_EQ(fixed(std::ldexp(1.0f, -97)), 0u);          // half a quantum: ties to even (0)
  EXPECT_EQ(fixed(std::ldexp(3.0f, -97)), 2u);          // 1.5 quanta: ties to even (2)
  EXPECT_EQ(fixed(std::ldexp(3.0f, -98)), 1u);          // 0.75 quanta
  EXPECT_EQ(fixed(std::ldexp(5.0f, -98)), 1u);          // 1.25 quanta
  EXPECT_EQ(fixed(std::numeric_limits<float>::denorm_min()), 0u);
  EXPECT_EQ(fixed(-0.0f), 0u);
  EXPECT_EQ(hi, 0u);
  EXPECT_EQ(Bits(ExactSum::FromFixed(0, 0)), Bits(0.0f));
}

TEST(ExactSum, NonFiniteAndOutOfRangeAreCountedNotAdded) {
  ExactSum s;
  s.Reset(5);
  const float inf = std::numeric_limits<float>::infinity();
  const float x[5] = {std::nanf(""), inf, -inf, 1048576.0f, 2.5f};
  s.Add(x);
  EXPECT_EQ(s.nonfinite(), 4u);
  std::vector<float> out(5);
  s.ToFloat(out.data());
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 2.5f}));
}

// Terms whose exact sum fits a double: the result must be the double sum
// rounded once to float (round to nearest even).
TEST(ExactSum, SumIsCorrectlyRounded) {
  std::mt19937 g(2);
  std::uniform_int_distribution<int> mant(-(1 << 23), 1 << 23), ex(-30, -6);
  const int n = 4096, terms = 7;
  ExactSum s;
  s.Reset(n);
  std::vector<double> ref(n, 0.0);
  for (int t = 0; t < terms; ++t) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i) {
      x[i] = std::ldexp((float)mant(g), ex(g));  // 24-bit mantissas, exponents within 2^-53..2^-6
      ref[i] += (double)x[i];                     // exact: every term is a multiple of 2^-53 below 2^18
    }
    s.Add(x.data());
  }
  std::vector<float> out(n);
  s.ToFloat(out.data());
  for (int i = 0; i < n; ++i) ASSERT_EQ(Bits(out[i]), Bits((float)ref[i])) << i;
}

TEST(ExactSum, AnyOrderAndAnySplitGiveTheSameBits) {
  std::mt19937 g(3);
  std::normal_distribution<float> nd;
  const int n = 1000, terms = 12;
  std::vector<std::vector<float>> x(terms, std::vector<float>(n));
  for (auto& v : x)
    for (auto& e : v) e = nd(g) * std::exp2((float)(g() % 40) - 30.0f);
  // In order, in one sum.
  ExactSum a;
  a.Reset(n);
  for (const auto& v : x) a.Add(v.data());
  std::vector<float> ra(n);
  a.ToFloat(ra.data());
  // Reversed, split over 3 "ranks" (round-robin), combined with AddWords.
  std::vector<ExactSum> parts(3);
  for (auto& p : parts) p.Reset(n);
  for (int t = terms - 1; t >= 0; --t) parts[t % 3].Add(x[t].data());
  ExactSum::AddWords(parts[2].words(), parts[0].words(), n);
  ExactSum::AddWords(parts[2].words(), parts[1].words(), n);
  std::vector<float> rb(n);
  parts[2].ToFloat(rb.data());
  ASSERT_EQ(std::memcmp(ra.data(), rb.data(), n * sizeof(float)), 0);
  // And it is not what naive float accumulation gives everywhere (so the
  // test would notice a float sum in disguise).
  int naive_differs = 0;
  for (int i = 0; i < n; ++i) {
    float f = 0;
    for (int t = 0; t < terms; ++t) f += x[t][i];
    naive_differs += Bits(f) != Bits(ra[i]);
  }
  EXPECT_GT(naive_differs, 0);
}

}  // namespace
}  // namespace modelc
