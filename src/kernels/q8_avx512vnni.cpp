// Q8_0 panel kernel for AVX-512 VNNI (see q8_ukernels.h): vpdpbusd
// multiplies unsigned by signed bytes and adds groups of 4 into int32
// without saturation. The activations are made unsigned by adding 128
// (x + 128 in 1..255, an XOR of the sign bit) and the excess
// 128 * sum(w) is subtracted from each block's sum: exact integers.
#include <immintrin.h>

#include "kernels/q8_ukernels.h"

namespace modelc {

void Q8PanelDotAvx512Vnni(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                          const int8_t* xq, const float* xd, float* out16) {
  const __m512i bias = _mm512_set1_epi8((char)0x80);
  __m512 acc = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const int8_t* wb = wq + (long)b * 512;
    // Two independent chains of vpdpbusd (even and odd groups).
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    for (int g = 0; g < 8; g += 2) {
      int xv0, xv1;
      __builtin_memcpy(&xv0, xq + b * 32 + 4 * g, 4);
      __builtin_memcpy(&xv1, xq + b * 32 + 4 * g + 4, 4);
      const __m512i x0 = _mm512_xor_si512(_mm512_set1_epi32(xv0), bias);
      const __m512i x1 = _mm512_xor_si512(_mm512_set1_epi32(xv1), bias);
      s0 = _mm512_dpbusd_epi32(s0, x0, _mm512_loadu_si512((const void*)(wb + g * 64)));
      s1 = _mm512_dpbusd_epi32(s1, x1, _mm512_loadu_si512((const void*)(wb + g * 64 + 64)));
    }
    const __m512i corr = _mm512_maskz_slli_epi32((__mmask16)0xFFFF, _mm512_loadu_si512((const void*)(wsum + b * 16)), 7);
    const __m512i s = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), corr);
    const __m512 dd = _mm512_mul_ps(_mm512_loadu_ps(wd + b * 16), _mm512_set1_ps(xd[b]));
    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_cvtepi32_ps((__mmask16)0xFFFF, s), dd));
  }
  _mm512_storeu_ps(out16, acc);
}

}  // namespace modelc
