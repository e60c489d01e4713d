// AVX-512F matrix-vector kernel over 32-column panels (see matvec.h): four
// panels at a time, 8 independent fma chains, one broadcast of x[k] each step.
#include <immintrin.h>

#include "kernels/matvec.h"

namespace modelc {

namespace {

template <int P>
inline void Panels(int K, int N, int p, const float* x, const float* panels, long ldp, const float* bias,
                   float* out) {
  __m512 c[P][2];
  const float* w[P];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    w[i] = panels + (p + i) * ldp;
    c[i][0] = bias ? _mm512_loadu_ps(bias + (p + i) * 32) : _mm512_setzero_ps();
    c[i][1] = bias ? _mm512_loadu_ps(bias + (p + i) * 32 + 16) : _mm512_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    const __m512 a = _mm512_set1_ps(x[k]);
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      c[i][0] = _mm512_fmadd_ps(a, _mm512_loadu_ps(w[i] + (long)k * 32), c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, _mm512_loadu_ps(w[i] + (long)k * 32 + 16), c[i][1]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    const int n0 = (p + i) * 32;
    const int n = N - n0 < 32 ? N - n0 : 32;
    const __mmask16 m0 = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
    const __mmask16 m1 = (__mmask16)(n >= 32 ? 0xFFFF : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    _mm512_mask_storeu_ps(out + n0, m0, c[i][0]);
    _mm512_mask_storeu_ps(out + n0 + 16, m1, c[i][1]);
  }
}

}  // namespace

void MatVecAvx512_32(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                     const float* bias, float* out) {
  int p = p0;
  for (; p + 4 <= p1; p += 4) Panels<4>(K, N, p, x, panels, ldp, bias, out);
  for (; p + 2 <= p1; p += 2) Panels<2>(K, N, p, x, panels, ldp, bias, out);
  for (; p < p1; ++p) Panels<1>(K, N, p, x, panels, ldp, bias, out);
}

}  // namespace modelc
