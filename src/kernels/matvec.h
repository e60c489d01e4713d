// Matrix-vector products over weights packed in the GEMM micro-kernel's
// column-panel layout (the inference engine's one-token path).
//
//   panels[p*ldp + k*NR + j] = W[p*NR + j, k]   (NR = the GEMM kernel's nr,
//                                               ldp >= K*NR; usually K*NR)
//   out[n] = c,  c = bias ? bias[n] : 0;  for k = 0..K-1: c = fma(x[k], W[n, k], c)
//
// That is the GEMM per-element contract (kernels/gemm.h) for one row, so the
// result is the same bits as Gemm / linear_forward on any ISA. Unlike the
// GEMM micro-kernel (MR rows at once, MR - 1 of them wasted for one row),
// these kernels run one row over several panels at once: enough independent
// fma chains to keep the FMA units busy while the weights stream from memory.
#pragma once

#include "kernels/isa.h"

namespace modelc {

// Panels [p0, p1) of a packed [N, K] matrix with panel width nr, ldp floats
// from one panel to the next; out and
// bias (nullable, padded to whole panels) are indexed by n. Writes out[n]
// only for n < N.
typedef void (*MatVecKernel)(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                             const float* bias, float* out);

struct MatVecKernelInfo {
  MatVecKernel fn;
  int nr;  // panel width, equal to GemmKernelForIsa(isa).nr
};

// Only defined when the build has that ISA (MODELC_HAVE_AVX2 / _AVX512).
void MatVecScalar_8(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                    const float* bias, float* out);
void MatVecAvx2_16(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                   const float* bias, float* out);
void MatVecAvx512_32(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                     const float* bias, float* out);

// The kernel for `isa`, with the same panel width as GemmKernelForIsa(isa).
MatVecKernelInfo MatVecKernelForIsa(Isa isa);

}  // namespace modelc
