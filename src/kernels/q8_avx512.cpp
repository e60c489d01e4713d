// Q8_0 panel kernel for AVX-512 without VNNI (see q8_ukernels.h): all 16
// rows of a panel in one register; vpmaddubsw on |w| and x with w's sign
// (as q8_avx2.cpp, no saturation), vpmaddwd to int32.
#include <immintrin.h>

#include "kernels/q8_ukernels.h"

namespace modelc {

void Q8PanelDotAvx512(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                      const int8_t* xq, const float* xd, float* out16) {
  const __m512i ones = _mm512_set1_epi16(1);
  const __m512i zero = _mm512_setzero_si512();
  __m512 acc = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const int8_t* wb = wq + (long)b * 512;
    __m512i s = _mm512_setzero_si512();
    for (int g = 0; g < 8; ++g) {
      int xv;
      __builtin_memcpy(&xv, xq + b * 32 + 4 * g, 4);
      const __m512i x = _mm512_set1_epi32(xv);
      const __m512i w = _mm512_loadu_si512((const void*)(wb + g * 64));
      const __mmask64 neg = _mm512_movepi8_mask(w);
      const __m512i xs = _mm512_mask_sub_epi8(x, neg, zero, x);  // x * sign(w)
      const __m512i p = _mm512_maddubs_epi16(_mm512_abs_epi8(w), xs);
      s = _mm512_add_epi32(s, _mm512_madd_epi16(p, ones));
    }
    const __m512 dd = _mm512_mul_ps(_mm512_loadu_ps(wd + b * 16), _mm512_set1_ps(xd[b]));
    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_cvtepi32_ps((__mmask16)0xFFFF, s), dd));
  }
  _mm512_storeu_ps(out16, acc);
}

}  // namespace modelc
