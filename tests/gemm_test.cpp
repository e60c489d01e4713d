// GEMM: every transpose case, odd sizes, all init modes, against
//  (1) a double-precision reference (accuracy), and
//  (2) a plain float loop with the same per-element FMA order (bit-exact),
// for every ISA this CPU supports and for 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/isa.h"

namespace modelc {
namespace {

struct Case {
  int M, N, K;
  bool ta, tb;
  GemmInit init;
};

void RefFloat(const GemmShape& s, const float* A, const float* B, float* C, GemmInit init,
              const float* bias) {
  for (int i = 0; i < s.M; ++i)
    for (int j = 0; j < s.N; ++j) {
      float c = init == GemmInit::kZero ? 0.f
                : init == GemmInit::kAccumulate ? C[i * s.ldc + j] : bias[j];
      for (int k = 0; k < s.K; ++k) {
        float a = s.transA ? A[k * s.lda + i] : A[i * s.lda + k];
        float b = s.transB ? B[j * s.ldb + k] : B[k * s.ldb + j];
        c = std::fma(a, b, c);
      }
      C[i * s.ldc + j] = c;
    }
}

class GemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(GemmTest, MatchesReferencesBitExactAcrossIsasAndThreads) {
  const Case c = GetParam();
  GemmShape s = MakeGemm(c.M, c.N, c.K, c.ta, c.tb);
  // Use padded leading dimensions to exercise strides.
  s.lda += 3; s.ldb += 5; s.ldc += 2;
  const int arows = c.ta ? c.K : c.M, brows = c.tb ? c.N : c.K;
  std::mt19937 rng(c.M * 1000 + c.N * 10 + c.K);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> A(arows * s.lda), B(brows * s.ldb), C0(c.M * s.ldc), bias(c.N);
  for (auto& x : A) x = u(rng);
  for (auto& x : B) x = u(rng);
  for (auto& x : C0) x = u(rng);
  for (auto& x : bias) x = u(rng);

  std::vector<float> ref = C0;
  RefFloat(s, A.data(), B.data(), ref.data(), c.init, bias.data());

  // Double reference for accuracy.
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()),
      Cd(C0.begin(), C0.end()), biasd(bias.begin(), bias.end());
  Gemm(s, Ad.data(), Bd.data(), Cd.data(), c.init, biasd.data());
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j)
      ASSERT_NEAR(ref[i * s.ldc + j], Cd[i * s.ldc + j], 1e-5 * (c.K + 1))
          << "i=" << i << " j=" << j;

  for (int isa = 0; isa <= static_cast<int>(BestAvailableIsa()); ++isa) {
    for (int threads : {1, 2, 3}) {
      SetNumThreads(threads);
      std::vector<float> out = C0;
      GemmForIsa(static_cast<Isa>(isa), s, A.data(), B.data(), out.data(), c.init, bias.data());
      for (int i = 0; i < c.M; ++i)
        for (int j = 0; j < c.N; ++j)
          ASSERT_EQ(std::memcmp(&out[i * s.ldc + j], &ref[i * s.ldc + j], 4), 0)
              << IsaName(static_cast<Isa>(isa)) << " threads=" << threads << " i=" << i
              << " j=" << j << " got " << out[i * s.ldc + j] << " want " << ref[i * s.ldc + j];
      // Padding columns of C are untouched.
      for (int i = 0; i < c.M; ++i)
        for (int j = c.N; j < s.ldc; ++j) ASSERT_EQ(out[i * s.ldc + j], C0[i * s.ldc + j]);
    }
  }
  SetNumThreads(1);
}

std::vector<Case> Cases() {
  std::vector<Case> v;
  const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 96, 300},
                           {97, 31, 513}, {8, 32, 256}, {130, 129, 3}, {5, 200, 0}};
  for (auto& sh : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (GemmInit init : {GemmInit::kZero, GemmInit::kAccumulate, GemmInit::kBias})
          v.push_back({sh[0], sh[1], sh[2], (bool)ta, (bool)tb, init});
  return v;
}

// Test names such as M7_N13_K5_TN_Bias (T: transposed operand).
INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           const Case& c = info.param;
                           const char* init = c.init == GemmInit::kZero         ? "Zero"
                                              : c.init == GemmInit::kAccumulate ? "Accumulate"
                                                                                : "Bias";
                           return "M" + std::to_string(c.M) + "_N" + std::to_string(c.N) + "_K" +
                                  std::to_string(c.K) + "_" + (c.ta ? "T" : "N") + (c.tb ? "T" : "N") + "_" + init;
                         });

}  // namespace
}  // namespace modelc
