// AVX2+FMA GEMM micro-kernel, 6 x 16 (12 ymm accumulators).
#include <immintrin.h>

#include "kernels/gemm_ukernels.h"

namespace modelc {

void GemmUkernelAvx2_6x16(int kc, const float* A, long rs, long cs, const float* Bp,
                          float* C, long ldc, int mode, const float* bias) {
  __m256 c[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; ++i) {
    if (mode == 0) {
      c[i][0] = _mm256_setzero_ps();
      c[i][1] = _mm256_setzero_ps();
    } else if (mode == 1) {
      c[i][0] = _mm256_loadu_ps(C + i * ldc);
      c[i][1] = _mm256_loadu_ps(C + i * ldc + 8);
    } else {
      c[i][0] = _mm256_loadu_ps(bias);
      c[i][1] = _mm256_loadu_ps(bias + 8);
    }
  }
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(Bp + k * 16);
    const __m256 b1 = _mm256_loadu_ps(Bp + k * 16 + 8);
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i * rs + k * cs);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < 6; ++i) {
    _mm256_storeu_ps(C + i * ldc, c[i][0]);
    _mm256_storeu_ps(C + i * ldc + 8, c[i][1]);
  }
}

}  // namespace modelc
