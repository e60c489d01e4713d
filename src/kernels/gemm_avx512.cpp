// AVX-512F GEMM micro-kernel, 8 x 32 (16 zmm accumulators).
#include <immintrin.h>

#include "kernels/gemm_ukernels.h"

namespace modelc {

void GemmUkernelAvx512_8x32(int kc, const float* A, long rs, long cs, const float* Bp,
                            float* C, long ldc, int mode, const float* bias) {
  __m512 c[8][2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    if (mode == 0) {
      c[i][0] = _mm512_setzero_ps();
      c[i][1] = _mm512_setzero_ps();
    } else if (mode == 1) {
      c[i][0] = _mm512_loadu_ps(C + i * ldc);
      c[i][1] = _mm512_loadu_ps(C + i * ldc + 16);
    } else {
      c[i][0] = _mm512_loadu_ps(bias);
      c[i][1] = _mm512_loadu_ps(bias + 16);
    }
  }
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(Bp + k * 32);
    const __m512 b1 = _mm512_loadu_ps(Bp + k * 32 + 16);
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * rs + k * cs]);
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    _mm512_storeu_ps(C + i * ldc, c[i][0]);
    _mm512_storeu_ps(C + i * ldc + 16, c[i][1]);
  }
}

}  // namespace modelc
