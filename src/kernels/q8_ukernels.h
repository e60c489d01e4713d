// Q8_0 panel dot-product micro-kernels, one per ISA (each in its own file
// compiled with that ISA's flags; raw pointers only, no std:: templates, see
// gemm_ukernels.h for why). The public API is kernels/q8_dot.h.
//
// A weight panel holds 16 output rows of a Q8_0 matrix [N, K] (K = 32 * nb),
// interleaved so that one 64-byte load covers 4 consecutive quants of all 16
// rows:
//   wq[((b*8 + g)*16 + r)*4 + i]  = quant (32*b + 4*g + i) of row r
//   wd[b*16 + r]                  = fp16 scale of block b of row r, as float
//   wsum[b*16 + r]                = sum of the 32 quants of block b of row r
// (rows past N are all zero). The activation row is Q8_0 too:
//   xq[32*b + j], xd[b] (its fp16 scale as float).
//
// Every kernel computes, for each row r, exactly
//   acc = 0
//   for b in 0..nb-1:
//     isum = sum_j wq(r, b, j) * xq[32*b + j]        (int32, exact)
//     acc  = acc + (float)isum * (wd[b*16 + r] * xd[b])
//   out[r] = acc
// The integer sums are exact whatever the instruction (VNNI, maddubs, scalar)
// and the float operations are the same ones in the same order, so every
// ISA gives the same bits.
#pragma once
#include <cstdint>

namespace modelc {

constexpr int kQ8Block = 32;      // values per Q8_0 block
constexpr int kQ8BlockBytes = 34;  // fp16 scale + 32 int8
constexpr int kQ8PanelRows = 16;  // output rows per weight panel

typedef void (*Q8PanelKernel)(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                              const int8_t* xq, const float* xd, float* out16);

// Only defined when the build has that ISA (MODELC_HAVE_AVX2 / _AVX512).
void Q8PanelDotScalar(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                      const int8_t* xq, const float* xd, float* out16);
void Q8PanelDotAvx2(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                    const int8_t* xq, const float* xd, float* out16);
void Q8PanelDotAvx512(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                      const int8_t* xq, const float* xd, float* out16);
void Q8PanelDotAvx512Vnni(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                          const int8_t* xq, const float* xd, float* out16);

}  // namespace modelc
