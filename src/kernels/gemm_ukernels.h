// GEMM micro-kernels, one per ISA (each in its own file compiled with that
// ISA's flags). They see only raw pointers: no std:: templates may be
// instantiated in an ISA file, or the linker could pick an AVX-512 copy of a
// shared inline function for code that runs on any CPU.
//
// A micro-kernel computes one MR x NR tile of C over kc steps of K:
//   A(i,k) = A[i*rs + k*cs] (rows of op(A) read in place, no packing);
//   Bp: kc x NR packed k-major (Bp[k*NR + j]).
//   mode 0: start from 0; 1: start from C; 2: from bias[j].
//   for k in 0..kc-1: c[i][j] = fma(A(i,k), Bp[k*NR+j], c[i][j]) — in order.
#pragma once

#include "kernels/isa.h"

namespace modelc {

typedef void (*GemmMicroKernel)(int kc, const float* A, long rs, long cs, const float* Bp,
                                float* C, long ldc, int mode, const float* bias);

struct GemmKernelInfo {
  GemmMicroKernel fn;
  int mr, nr;
};

// Only defined when the build has that ISA (MODELC_HAVE_AVX2 / _AVX512).
void GemmUkernelScalar_4x8(int kc, const float* A, long rs, long cs, const float* Bp,
                           float* C, long ldc, int mode, const float* bias);
void GemmUkernelAvx2_6x16(int kc, const float* A, long rs, long cs, const float* Bp,
                          float* C, long ldc, int mode, const float* bias);
void GemmUkernelAvx512_8x32(int kc, const float* A, long rs, long cs, const float* Bp,
                            float* C, long ldc, int mode, const float* bias);

// The micro-kernel Gemm uses for `isa` (defined in gemm.cpp; the inference
// engine packs its weights for the same one). An ISA that is not compiled
// into this binary gets the best lower one that is.
GemmKernelInfo GemmKernelForIsa(Isa isa);

}  // namespace modelc
