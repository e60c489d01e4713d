// AVX2 matrix-vector kernel over 16-column panels (see matvec.h): four
// panels at a time, 8 independent fma chains, one broadcast of x[k] each step.
#include <immintrin.h>

#include "kernels/matvec.h"

namespace modelc {

namespace {

template <int P>
inline void Panels(int K, int N, int p, const float* x, const float* panels, long ldp, const float* bias,
                   float* out) {
  __m256 c[P][2];
  const float* w[P];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    w[i] = panels + (p + i) * ldp;
    c[i][0] = bias ? _mm256_loadu_ps(bias + (p + i) * 16) : _mm256_setzero_ps();
    c[i][1] = bias ? _mm256_loadu_ps(bias + (p + i) * 16 + 8) : _mm256_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    const __m256 a = _mm256_broadcast_ss(x + k);
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      c[i][0] = _mm256_fmadd_ps(a, _mm256_loadu_ps(w[i] + (long)k * 16), c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, _mm256_loadu_ps(w[i] + (long)k * 16 + 8), c[i][1]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    const int n0 = (p + i) * 16;
    if (N - n0 >= 16) {
      _mm256_storeu_ps(out + n0, c[i][0]);
      _mm256_storeu_ps(out + n0 + 8, c[i][1]);
    } else {
      float t[16];
      _mm256_storeu_ps(t, c[i][0]);
      _mm256_storeu_ps(t + 8, c[i][1]);
      for (int j = 0; j < N - n0; ++j) out[n0 + j] = t[j];
    }
  }
}

}  // namespace

void MatVecAvx2_16(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                   const float* bias, float* out) {
  int p = p0;
  for (; p + 4 <= p1; p += 4) Panels<4>(K, N, p, x, panels, ldp, bias, out);
  for (; p + 2 <= p1; p += 2) Panels<2>(K, N, p, x, panels, ldp, bias, out);
  for (; p < p1; ++p) Panels<1>(K, N, p, x, panels, ldp, bias, out);
}

}  // namespace modelc
