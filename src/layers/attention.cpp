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

namespace {
constexpr int kRowBlock = 32;  // causal blocking of the T x T products
}  // namespace

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
    // Causal: row block [i0, i1) only needs keys [0, i1). Every product
    // below is cut at block edges that depend on Tn only, and the skipped
    // terms are exact zeros, so the result does not depend on the blocking.
    for (int i0 = 0; i0 < Tn; i0 += kRowBlock) {
      const int i1 = std::min(Tn, i0 + kRowBlock);
      // S[i0:i1, 0:i1] = Q[i0:i1, hs] · K[0:i1, hs]^T
      GemmShape s{i1 - i0, i1, hs, false, true, (int)C3, (int)C3, Tn};
      Gemm(s, q + (int64_t)i0 * C3, k, P + (int64_t)i0 * Tn, GemmInit::kZero, nullptr, false);
      for (int i = i0; i < i1; ++i) {
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
      // Y[i0:i1, hs] = P[i0:i1, 0:i1] · V[0:i1, hs]
      GemmShape y{i1 - i0, hs, i1, false, false, Tn, (int)C3, C};
      Gemm(y, P + (int64_t)i0 * Tn, v, out + ((int64_t)b * Tn + i0) * C + h * hs, GemmInit::kZero,
           nullptr, false);
    }
  }
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int NH, GradMode mode) {
  const GemmInit dinit = mode == GradMode::kAccumulate ? GemmInit::kAccumulate : GemmInit::kZero;
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
      for (int i0 = 0; i0 < Tn; i0 += kRowBlock) {
        const int i1 = std::min(Tn, i0 + kRowBlock);
        // dP[i0:i1, 0:i1] = dY[i0:i1, hs] · V[0:i1, hs]^T
        Gemm(GemmShape{i1 - i0, i1, hs, false, true, C, (int)C3, Tn}, dy + (int64_t)i0 * C, v,
             dP.data() + (int64_t)i0 * Tn, GemmInit::kZero, nullptr, false);
        // dS = P * (dP - sum_j P dP) * scale on j <= i, zero above the diagonal
        for (int i = i0; i < i1; ++i) {
          const T* p = P + (int64_t)i * Tn;
          T* d = dP.data() + (int64_t)i * Tn;
          const T dot = RowDot(p, d, i + 1);
          for (int j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot) * scale;
          for (int j = i + 1; j < Tn; ++j) d[j] = 0;
        }
        // dQ[i0:i1, hs] += dS[i0:i1, 0:i1] · K[0:i1, hs]
        Gemm(GemmShape{i1 - i0, hs, i1, false, false, Tn, (int)C3, (int)C3},
             dP.data() + (int64_t)i0 * Tn, k, dq + (int64_t)i0 * C3, dinit,
             nullptr, false);
      }
      for (int j0 = 0; j0 < Tn; j0 += kRowBlock) {
        const int j1 = std::min(Tn, j0 + kRowBlock);
        // Keys [j0, j1) are seen by queries [j0, Tn) only.
        // dV[j0:j1, hs] += P[j0:Tn, j0:j1]^T · dY[j0:Tn, hs]
        Gemm(GemmShape{j1 - j0, hs, Tn - j0, true, false, Tn, C, (int)C3},
             P + (int64_t)j0 * Tn + j0, dy + (int64_t)j0 * C, dv + (int64_t)j0 * C3,
             dinit, nullptr, false);
        // dK[j0:j1, hs] += dS[j0:Tn, j0:j1]^T · Q[j0:Tn, hs]
        Gemm(GemmShape{j1 - j0, hs, Tn - j0, true, false, Tn, (int)C3, (int)C3},
             dP.data() + (int64_t)j0 * Tn + j0, q + (int64_t)j0 * C3, dk + (int64_t)j0 * C3,
             dinit, nullptr, false);
      }
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, int, int, int, int);
template void attention_backward<float>(float*, const float*, const float*, const float*, int, int, int, int, GradMode);
template void attention_backward<double>(double*, const double*, const double*, const double*, int, int, int, int, GradMode);

}  // namespace modelc
