// GEMM driver: packing, blocking, threading and dispatch. Compiled for the
// baseline ISA; only the micro-kernels are ISA-specific (see gemm_ukernels.h).
#include "kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/gemm_ukernels.h"
#include "kernels/isa.h"

namespace modelc {

void GemmUkernelScalar_4x8(int kc, const float* A, long rs, long cs, const float* Bp, float* C,
                           long ldc, int mode, const float* bias) {
  float c[4][8];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      c[i][j] = mode == 0 ? 0.0f : mode == 1 ? C[i * ldc + j] : bias[j];
  for (int k = 0; k < kc; ++k)
    for (int i = 0; i < 4; ++i) {
      const float a = A[i * rs + k * cs];
      for (int j = 0; j < 8; ++j) c[i][j] = std::fma(a, Bp[k * 8 + j], c[i][j]);
    }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) C[i * ldc + j] = c[i][j];
}

GemmKernelInfo GemmKernelForIsa(Isa isa) {
  // Falls through to a lower ISA when `isa`'s kernel is not compiled in.
  switch (isa) {
    case Isa::kAvx512:
#if defined(MODELC_HAVE_AVX512)
      return {GemmUkernelAvx512_8x32, 8, 32};
#endif
      [[fallthrough]];
    case Isa::kAvx2:
#if defined(MODELC_HAVE_AVX2)
      return {GemmUkernelAvx2_6x16, 6, 16};
#endif
      [[fallthrough]];
    default: return {GemmUkernelScalar_4x8, 4, 8};
  }
}

namespace {

constexpr int kKc = 192;        // K block
constexpr int kMcPanels = 8;    // A panels per macro tile
constexpr int kNcPanels = 4;    // B panels per macro tile

// dst[0:n] = src[0:n], dst[n:width] = 0. Fixed-size copies for the common
// widths compile to vector moves (a plain loop here stays scalar).
inline void CopyRun(float* dst, const float* src, int n, int width) {
  if (n == width) {
    switch (width) {
      case 8: std::memcpy(dst, src, 8 * sizeof(float)); return;
      case 16: std::memcpy(dst, src, 16 * sizeof(float)); return;
      case 32: std::memcpy(dst, src, 32 * sizeof(float)); return;
      default: break;
    }
  }
  for (int i = 0; i < n; ++i) dst[i] = src[i];
  for (int i = n; i < width; ++i) dst[i] = 0.0f;
}

struct Buffers {
  std::vector<float> a, b, bias;
};
thread_local Buffers tl_buf;

}  // namespace

GemmShape MakeGemm(int M, int N, int K, bool transA, bool transB) {
  GemmShape s;
  s.M = M; s.N = N; s.K = K; s.transA = transA; s.transB = transB;
  s.lda = transA ? M : K;
  s.ldb = transB ? K : N;
  s.ldc = N;
  return s;
}

void Gemm(const GemmShape& s, const float* A, const float* B, float* C, GemmInit init,
          const float* bias, bool parallel) {
  static const Isa isa = ActiveIsa();
  GemmForIsa(isa, s, A, B, C, init, bias, parallel);
}

void GemmForIsa(Isa isa, const GemmShape& s, const float* A, const float* B, float* C,
                GemmInit init, const float* bias, bool parallel) {
  const int M = s.M, N = s.N, K = s.K;
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (init == GemmInit::kAccumulate) return;
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j)
        C[(long)i * s.ldc + j] = init == GemmInit::kBias ? bias[j] : 0.0f;
    return;
  }
  const GemmKernelInfo kern = GemmKernelForIsa(isa);
  const int MR = kern.mr, NR = kern.nr;
  const int mp = (M + MR - 1) / MR, np = (N + NR - 1) / NR;
  const double flops = 2.0 * M * N * K;
  const int nt = (parallel && !omp_in_parallel() && flops >= (1 << 18)) ? NumThreads() : 1;

  Buffers& buf = tl_buf;
  const int kcmax = std::min(kKc, K);
  buf.b.resize((size_t)np * NR * kcmax);
  float* Bp = buf.b.data();
  const float* biasp = bias;
  if (init == GemmInit::kBias) {
    buf.bias.assign((size_t)np * NR, 0.0f);
    std::memcpy(buf.bias.data(), bias, sizeof(float) * N);
    biasp = buf.bias.data();
  }
  // op(A)(i,k) = A[i*rsA + k*csA]
  const long rsA = s.transA ? 1 : s.lda, csA = s.transA ? s.lda : 1;
  const int mblocks = (mp + kMcPanels - 1) / kMcPanels;
  const int nblocks = (np + kNcPanels - 1) / kNcPanels;
  const int first_mode = init == GemmInit::kZero ? 0 : init == GemmInit::kAccumulate ? 1 : 2;

  // K blocks outermost: pack one K block of B (all of N, shared by the
  // threads, small enough to stay in cache), then every thread runs its
  // output tiles over that block, carrying C from the previous block. Each
  // C element sees k in order 0..K-1 whatever the thread count.
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float edge[32 * 32];
    float apack[8 * kKc];
    // Transposed A (dW): consecutive k are lda apart, a new cache line and
    // often a new page per k. Pack the tile's A rows per K block instead.
    float* ablock = nullptr;
    if (s.transA && nblocks > 1) {
      tl_buf.a.resize((size_t)kMcPanels * MR * kKc);
      ablock = tl_buf.a.data();
    }
    for (int k0 = 0; k0 < K; k0 += kKc) {
      const int kc = std::min(kKc, K - k0);
      const int mode = k0 == 0 ? first_mode : 1;
      // Pack B[k0:k0+kc, :] into NR-column panels:
      // Bp[(q*kc + k)*NR + j] = op(B)(k0 + k, q*NR + j), zero beyond N.
#pragma omp for schedule(static)
      for (int q = 0; q < np; ++q) {
        float* dst = Bp + (size_t)q * kc * NR;
        const int j0 = q * NR, nj = std::min(NR, N - j0);
        if (!s.transB) {
          for (int k = 0; k < kc; ++k)
            CopyRun(dst + (size_t)k * NR, B + (long)(k0 + k) * s.ldb + j0, nj, NR);
        } else {
          for (int j = 0; j < nj; ++j) {
            const float* src = B + (long)(j0 + j) * s.ldb + k0;
            for (int k = 0; k < kc; ++k) dst[(size_t)k * NR + j] = src[k];
          }
          for (int j = nj; j < NR; ++j)
            for (int k = 0; k < kc; ++k) dst[(size_t)k * NR + j] = 0.0f;
        }
      }  // implied barrier: B block packed
#pragma omp for schedule(static)
      for (int t = 0; t < mblocks * nblocks; ++t) {
        const int mb = t / nblocks, nb = t % nblocks;
        const int p0 = mb * kMcPanels, p1 = std::min(mp, (mb + 1) * kMcPanels);
        if (ablock) {  // see above: pack this tile's A rows for this K block
          for (int p = p0; p < p1; ++p) {
            const int i0 = p * MR, mi = std::min(MR, M - i0);
            float* dst = ablock + (size_t)(p - p0) * MR * kc;
            for (int k = 0; k < kc; ++k)
              CopyRun(dst + (size_t)k * MR, A + (long)(k0 + k) * s.lda + i0, mi, MR);
          }
        }
        for (int q = nb * kNcPanels; q < std::min(np, (nb + 1) * kNcPanels); ++q) {
          const float* bpan = Bp + (size_t)q * kc * NR;
          const int j0 = q * NR;
          for (int p = mb * kMcPanels; p < std::min(mp, (mb + 1) * kMcPanels); ++p) {
            const int i0 = p * MR;
            const int mi = std::min(MR, M - i0), nj = std::min(NR, N - j0);
            const float* at = A + (long)i0 * rsA + (long)k0 * csA;
            long rs = rsA, cs = csA;
            if (ablock) {
              at = ablock + (size_t)(p - p0) * MR * kc;
              rs = 1;
              cs = MR;
            } else if (mi < MR) {  // bottom edge: pack the rows that exist, zero the rest
              for (int k = 0; k < kc; ++k)
                for (int i = 0; i < MR; ++i)
                  apack[k * MR + i] = i < mi ? at[(long)i * rsA + (long)k * csA] : 0.0f;
              at = apack;
              rs = 1;
              cs = MR;
            }
            float* ct = C + (long)i0 * s.ldc + j0;
            if (mi == MR && nj == NR) {
              kern.fn(kc, at, rs, cs, bpan, ct, s.ldc, mode, biasp + (biasp ? j0 : 0));
            } else {
              if (mode == 1)
                for (int i = 0; i < mi; ++i)
                  for (int j = 0; j < nj; ++j) edge[i * NR + j] = ct[(long)i * s.ldc + j];
              kern.fn(kc, at, rs, cs, bpan, edge, NR, mode, biasp + (biasp ? j0 : 0));
              for (int i = 0; i < mi; ++i)
                for (int j = 0; j < nj; ++j) ct[(long)i * s.ldc + j] = edge[i * NR + j];
            }
          }
        }
      }  // implied barrier: B block free for the next K block
    }
  }
}

void Gemm(const GemmShape& s, const double* A, const double* B, double* C, GemmInit init,
          const double* bias, bool parallel) {
  for (int i = 0; i < s.M; ++i)
    for (int j = 0; j < s.N; ++j) {
      double c = init == GemmInit::kZero ? 0.0
                 : init == GemmInit::kAccumulate ? C[(long)i * s.ldc + j]
                                                 : bias[j];
      for (int k = 0; k < s.K; ++k) {
        const double a = s.transA ? A[(long)k * s.lda + i] : A[(long)i * s.lda + k];
        const double b = s.transB ? B[(long)j * s.ldb + k] : B[(long)k * s.ldb + j];
        c = std::fma(a, b, c);
      }
      C[(long)i * s.ldc + j] = c;
    }
}

}  // namespace modelc
