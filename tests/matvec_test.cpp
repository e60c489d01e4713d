// One-row matrix-vector kernels (kernels/matvec.h): every ISA against the
// contract (fma chain in k order, from the bias), against Gemm with one row,
// and against a double-precision dot product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_ukernels.h"
#include "kernels/isa.h"
#include "kernels/matvec.h"

namespace modelc {
namespace {

std::vector<Isa> Isas() {
  std::vector<Isa> v;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    if (IsaCompiledIn(isa) && (int)isa <= (int)BestAvailableIsa()) v.push_back(isa);
  return v;
}

// W [N, K] into nr-column panels, ldp floats apart (padding stays 0).
std::vector<float> PackPanels(const std::vector<float>& W, int N, int K, int nr, long ldp) {
  const int np = (N + nr - 1) / nr;
  std::vector<float> p((size_t)np * ldp, 0.0f);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) p[(size_t)(n / nr) * ldp + (size_t)k * nr + n % nr] = W[(size_t)n * K + k];
  return p;
}

TEST(MatVec, PanelWidthsMatchTheGemmKernels) {
  for (Isa isa : Isas()) EXPECT_EQ(MatVecKernelForIsa(isa).nr, GemmKernelForIsa(isa).nr) << IsaName(isa);
}

TEST(MatVec, EveryIsaFollowsTheFmaContractBitForBit) {
  std::mt19937 g(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  // N below, at and above panel widths and group sizes (1, 2 and 4 panels);
  // K with odd lengths; ldp padding (the attention value cache).
  for (int N : {1, 7, 16, 31, 32, 33, 100, 161, 384})
    for (int K : {1, 5, 64, 97})
      for (int pad : {0, 3}) {
        std::vector<float> W((size_t)N * K), x(K), bias(N + 64, 0.0f);
        for (auto& v : W) v = nd(g);
        for (auto& v : x) v = nd(g);
        for (int n = 0; n < N; ++n) bias[n] = nd(g);
        for (int with_bias : {0, 1}) {
          // The contract, and a double dot product.
          std::vector<float> want(N);
          for (int n = 0; n < N; ++n) {
            float c = with_bias ? bias[n] : 0.0f;
            double d = with_bias ? bias[n] : 0.0;
            for (int k = 0; k < K; ++k) {
              c = std::fma(x[k], W[(size_t)n * K + k], c);
              d += (double)x[k] * W[(size_t)n * K + k];
            }
            want[n] = c;
            ASSERT_NEAR(c, d, 1e-5 * (1 + K)) << "N " << N << " K " << K;
          }
          for (Isa isa : Isas()) {
            const MatVecKernelInfo mv = MatVecKernelForIsa(isa);
            const long ldp = (long)(K + pad) * mv.nr;
            const auto P = PackPanels(W, N, K, mv.nr, ldp);
            const int np = (N + mv.nr - 1) / mv.nr;
            // Whole range, and split into two parts at every panel boundary
            // (as threads split it): every element computed once, same bits.
            for (int split = 0; split <= np; ++split) {
              std::vector<float> got(N + 64, -7.0f);
              mv.fn(K, N, 0, split, x.data(), P.data(), ldp, with_bias ? bias.data() : nullptr,
                    got.data());
              mv.fn(K, N, split, np, x.data(), P.data(), ldp, with_bias ? bias.data() : nullptr,
                    got.data());
              ASSERT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * N), 0)
                  << IsaName(isa) << " N " << N << " K " << K << " split " << split;
              for (int n = N; n < N + 64; ++n) ASSERT_EQ(got[n], -7.0f) << "wrote past N";
            }
          }
          // The GEMM with one row (kBias / kZero) gives the same bits.
          std::vector<float> gm(N);
          Gemm(GemmShape{1, N, K, false, true, K, K, N}, x.data(), W.data(), gm.data(),
               with_bias ? GemmInit::kBias : GemmInit::kZero, with_bias ? bias.data() : nullptr,
               false);
          ASSERT_EQ(std::memcmp(gm.data(), want.data(), sizeof(float) * N), 0)
              << "N " << N << " K " << K;
        }
      }
}

}  // namespace
}  // namespace modelc
