// Deterministic GEMM.
//
//   C[M,N] = init + op(A)[M,K] · op(B)[K,N]
//   op(A)(i,k) = transA ? A[k*lda + i] : A[i*lda + k]
//   op(B)(k,j) = transB ? B[j*ldb + k] : B[k*ldb + j]
//
// The per-element contract, identical for every ISA, thread count and
// blocking:   c = init(i,j);  for k = 0..K-1:  c = fma(op(A)(i,k), op(B)(k,j), c)
// where init is 0, the old C[i,j] (kAccumulate) or bias[j] (kBias).
// The result is therefore a pure function of the inputs and the shape.
// Implementation: pack A into MR-row panels and B into NR-column panels,
// vectorize across output columns, accumulate K in order with explicit FMA,
// carry C through K-blocks, split threads over output tiles only.
#pragma once
#include <cstdint>

#include "kernels/isa.h"

namespace modelc {

enum class GemmInit { kZero, kAccumulate, kBias };

struct GemmShape {
  int M = 0, N = 0, K = 0;
  bool transA = false, transB = false;
  int lda = 0, ldb = 0, ldc = 0;
};

// REQUIRES: lda/ldb/ldc large enough for the layout; bias has N entries when
// init == kBias. `parallel`: may use the OpenMP thread team (ignored inside a
// parallel region, where it runs on the calling thread).
void Gemm(const GemmShape& s, const float* A, const float* B, float* C,
          GemmInit init, const float* bias = nullptr, bool parallel = true);
// Same, with an explicit ISA (tests compare ISAs in one process).
// REQUIRES: isa <= BestAvailableIsa().
void GemmForIsa(Isa isa, const GemmShape& s, const float* A, const float* B, float* C,
                GemmInit init, const float* bias = nullptr, bool parallel = true);
// Double version: plain loops with the same per-element order (reference and
// finite-difference tests).
void Gemm(const GemmShape& s, const double* A, const double* B, double* C,
          GemmInit init, const double* bias = nullptr, bool parallel = true);

// Convenience for row-major contiguous matrices: lda/ldb/ldc derived.
GemmShape MakeGemm(int M, int N, int K, bool transA, bool transB);

}  // namespace modelc
