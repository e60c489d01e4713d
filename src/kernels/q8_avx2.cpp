// Q8_0 panel kernel for AVX2 (see q8_ukernels.h for the layout and the
// exact formula). Integer products with vpmaddubsw (unsigned x signed bytes
// to int16 pairs) and vpmaddwd (to int32): the unsigned operand is |w| (<= 128)
// and the signed one x with w's sign (|x| <= 127), so a pair is at most
// 2 * 128 * 127 = 32512 and never saturates.
#include <immintrin.h>

#include "kernels/q8_ukernels.h"

namespace modelc {

void Q8PanelDotAvx2(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                    const int8_t* xq, const float* xd, float* out16) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const int8_t* wb = wq + (long)b * 512;
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      int xv;
      __builtin_memcpy(&xv, xq + b * 32 + 4 * g, 4);
      const __m256i x = _mm256_set1_epi32(xv);
      const __m256i w0 = _mm256_loadu_si256((const __m256i*)(wb + g * 64));
      const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wb + g * 64 + 32));
      const __m256i p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(w0), _mm256_sign_epi8(x, w0));
      const __m256i p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(w1), _mm256_sign_epi8(x, w1));
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, ones));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, ones));
    }
    const __m256 sx = _mm256_set1_ps(xd[b]);
    const __m256 d0 = _mm256_mul_ps(_mm256_loadu_ps(wd + b * 16), sx);
    const __m256 d1 = _mm256_mul_ps(_mm256_loadu_ps(wd + b * 16 + 8), sx);
    acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_cvtepi32_ps(s0), d0));
    acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(_mm256_cvtepi32_ps(s1), d1));
  }
  _mm256_storeu_ps(out16, acc0);
  _mm256_storeu_ps(out16 + 8, acc1);
}

}  // namespace modelc
