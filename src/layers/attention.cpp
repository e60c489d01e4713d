// Causal multi-head self-attention. Each (batch, head) pair is one task; the
// matrix products inside run on the deterministic GEMM on the calling thread.
#include <algorithm>
#include <type_traits>
#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/reduce.h"
#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

template <class T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH) {
  const int hs = C / NH;
  const T scale = (T)1 / std::sqrt((T)hs);
  const int64_t C3 = 3 * (int64_t)C;
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH, h = bh % NH;
    const T* q = qkv + (int64_t)b * Tn * C3 + h * hs;
    const T* k = q + C;
    const T* v = q + 2 * C;
    T* P = att + (int64_t)bh * Tn * Tn;
    // S[T,T] = Q[T,hs] · K[T,hs]^T
    GemmShape s{Tn, Tn, hs, false, true, (int)C3, (int)C3, Tn};
    Gemm(s, q, k, P, GemmInit::kZero, nullptr, false);
    for (int i = 0; i < Tn; ++i) {
      T* row = P + (int64_t)i * Tn;
      T mx = row[0] * scale;
      for (int j = 0; j <= i; ++j) mx = std::max(mx, row[j] * scale);
      if constexpr (std::is_same_v<T, float>)
        VecExpScaled(row, i + 1, scale, mx);
      else
        for (int j = 0; j <= i; ++j) row[j] = Exp(row[j] * scale - mx);
      const T inv = (T)1 / RowSum(row, i + 1);
      for (int j = 0; j <= i; ++j) row[j] = row[j] * inv;
      for (int j = i + 1; j < Tn; ++j) row[j] = 0;
    }
    // Y[T,hs] = P[T,T] · V[T,hs]
    GemmShape y{Tn, hs, Tn, false, false, Tn, (int)C3, C};
    Gemm(y, P, v, out + (int64_t)b * Tn * C + h * hs, GemmInit::kZero, nullptr, false);
  }
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int NH) {
  const int hs = C / NH;
  const T scale = (T)1 / std::sqrt((T)hs);
  const int64_t C3 = 3 * (int64_t)C;
#pragma omp parallel
  {
    static thread_local std::vector<T> dP;  // kept between calls: no allocation per step
    dP.resize((size_t)Tn * Tn);
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * NH; ++bh) {
      const int b = bh / NH, h = bh % NH;
      const int64_t qoff = (int64_t)b * Tn * C3 + h * hs;
      const T* q = qkv + qoff;
      const T* k = q + C;
      const T* v = q + 2 * C;
      T* dq = dqkv + qoff;
      T* dk = dq + C;
      T* dv = dq + 2 * C;
      const T* P = att + (int64_t)bh * Tn * Tn;
      const T* dy = dout + (int64_t)b * Tn * C + h * hs;
      // dP[T,T] = dY[T,hs] · V^T
      Gemm(GemmShape{Tn, Tn, hs, false, true, C, (int)C3, Tn}, dy, v, dP.data(), GemmInit::kZero,
           nullptr, false);
      // dV[T,hs] += P^T · dY
      Gemm(GemmShape{Tn, hs, Tn, true, false, Tn, C, (int)C3}, P, dy, dv, GemmInit::kAccumulate,
           nullptr, false);
      // dS = P * (dP - sum_j P dP) * scale, causal
      for (int i = 0; i < Tn; ++i) {
        const T* p = P + (int64_t)i * Tn;
        T* d = dP.data() + (int64_t)i * Tn;
        const T dot = RowDot(p, d, i + 1);
        for (int j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot) * scale;
        for (int j = i + 1; j < Tn; ++j) d[j] = 0;
      }
      // dQ[T,hs] += dS · K ;  dK[T,hs] += dS^T · Q
      Gemm(GemmShape{Tn, hs, Tn, false, false, Tn, (int)C3, (int)C3}, dP.data(), k, dq,
           GemmInit::kAccumulate, nullptr, false);
      Gemm(GemmShape{Tn, hs, Tn, true, false, Tn, (int)C3, (int)C3}, dP.data(), q, dk,
           GemmInit::kAccumulate, nullptr, false);
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, int, int, int, int);
template void attention_backward<float>(float*, const float*, const float*, const float*, int, int, int, int);
template void attention_backward<double>(double*, const double*, const double*, const double*, int, int, int, int);

}  // namespace modelc
