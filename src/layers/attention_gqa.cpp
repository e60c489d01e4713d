// Grouped-query causal self-attention (Llama 2/3, Mistral, ...) on separate
// q, k, v. NH query heads share NKV key/value heads: query head h reads kv
// head h / (NH/NKV). With NKV == NH this is multi-head attention and gives the
// same bits as attention_forward/backward on the packed qkv (the same
// products, in the same order; tested).
//
// Forward: one task per (batch, query head), the products inside on the
// deterministic GEMM on the calling thread, blocked causally as in
// attention.cpp. Backward: one task per (batch, kv head); inside it the G =
// NH/NKV query heads of the group run in order h = kvh*G, kvh*G+1, ..., and
// each accumulates its dK/dV into the kv head's gradient with the
// fixed-order GEMM. So every dK/dV element is init, then head kvh*G's terms
// in key order, then the next head's, ...: one order for any thread count.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/reduce.h"
#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

namespace {
constexpr int kRowBlock = 32;  // causal blocking of the T x T products (as attention.cpp)
}  // namespace

template <class T>
void attention_gqa_forward(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tn,
                           int NH, int NKV, int hs) {
  // out [B*T, NH*hs], att [B, NH, T, T], q [B*T, NH*hs], k, v [B*T, NKV*hs]
  const int G = NH / NKV;
  const int Cq = NH * hs, Ckv = NKV * hs;
  const T scale = (T)1 / std::sqrt((T)hs);
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH, h = bh % NH, kvh = h / G;
    const T* qh = q + (int64_t)b * Tn * Cq + h * hs;      // [T, hs], row stride Cq
    const T* kh = k + (int64_t)b * Tn * Ckv + kvh * hs;   // [T, hs], row stride Ckv
    const T* vh = v + (int64_t)b * Tn * Ckv + kvh * hs;   // [T, hs], row stride Ckv
    T* oh = out + (int64_t)b * Tn * Cq + h * hs;          // [T, hs], row stride Cq
    T* P = att + (int64_t)bh * Tn * Tn;                   // [T, T]
    for (int i0 = 0; i0 < Tn; i0 += kRowBlock) {
      const int i1 = std::min(Tn, i0 + kRowBlock);
      // S[i0:i1, 0:i1] = Q[i0:i1, hs] · K[0:i1, hs]^T
      Gemm(GemmShape{i1 - i0, i1, hs, false, true, Cq, Ckv, Tn}, qh + (int64_t)i0 * Cq, kh,
           P + (int64_t)i0 * Tn, GemmInit::kZero, nullptr, false);
      for (int i = i0; i < i1; ++i) {
        T* row = P + (int64_t)i * Tn;  // [T]
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
      Gemm(GemmShape{i1 - i0, hs, i1, false, false, Tn, Ckv, Cq}, P + (int64_t)i0 * Tn, vh,
           oh + (int64_t)i0 * Cq, GemmInit::kZero, nullptr, false);
    }
  }
}

template <class T>
void attention_gqa_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                            const T* v, const T* att, int B, int Tn, int NH, int NKV, int hs,
                            GradMode mode) {
  // dq, dout, q [B*T, NH*hs]; dk, dv, k, v [B*T, NKV*hs]; att [B, NH, T, T]
  const GemmInit dinit = mode == GradMode::kAccumulate ? GemmInit::kAccumulate : GemmInit::kZero;
  const int G = NH / NKV;
  const int Cq = NH * hs, Ckv = NKV * hs;
  const T scale = (T)1 / std::sqrt((T)hs);
#pragma omp parallel
  {
    static thread_local std::vector<T> dP;  // [T, T], kept between calls
    dP.resize((size_t)Tn * Tn);
#pragma omp for schedule(static)
    for (int bkv = 0; bkv < B * NKV; ++bkv) {
      const int b = bkv / NKV, kvh = bkv % NKV;
      const int64_t kvoff = (int64_t)b * Tn * Ckv + kvh * hs;
      const T* kh = k + kvoff;  // [T, hs], row stride Ckv
      const T* vh = v + kvoff;  // [T, hs], row stride Ckv
      T* dkh = dk + kvoff;      // [T, hs], row stride Ckv
      T* dvh = dv + kvoff;      // [T, hs], row stride Ckv
      for (int g = 0; g < G; ++g) {  // the group's query heads, in order
        const int h = kvh * G + g;
        const int64_t qoff = (int64_t)b * Tn * Cq + h * hs;
        const T* qh = q + qoff;      // [T, hs], row stride Cq
        const T* dy = dout + qoff;   // [T, hs], row stride Cq
        T* dqh = dq + qoff;          // [T, hs], row stride Cq
        const T* P = att + ((int64_t)b * NH + h) * Tn * Tn;  // [T, T]
        // the first head of the group starts dK/dV (zero or accumulate), the others add
        const GemmInit kvinit = g == 0 ? dinit : GemmInit::kAccumulate;
        for (int i0 = 0; i0 < Tn; i0 += kRowBlock) {
          const int i1 = std::min(Tn, i0 + kRowBlock);
          // dP[i0:i1, 0:i1] = dY[i0:i1, hs] · V[0:i1, hs]^T
          Gemm(GemmShape{i1 - i0, i1, hs, false, true, Cq, Ckv, Tn}, dy + (int64_t)i0 * Cq, vh,
               dP.data() + (int64_t)i0 * Tn, GemmInit::kZero, nullptr, false);
          // dS = P * (dP - sum_j P dP) * scale on j <= i, zero above the diagonal
          for (int i = i0; i < i1; ++i) {
            const T* p = P + (int64_t)i * Tn;
            T* d = dP.data() + (int64_t)i * Tn;
            const T dot = RowDot(p, d, i + 1);
            for (int j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot) * scale;
            for (int j = i + 1; j < Tn; ++j) d[j] = 0;
          }
          // dQ[i0:i1, hs] (+)= dS[i0:i1, 0:i1] · K[0:i1, hs]
          Gemm(GemmShape{i1 - i0, hs, i1, false, false, Tn, Ckv, Cq}, dP.data() + (int64_t)i0 * Tn,
               kh, dqh + (int64_t)i0 * Cq, dinit, nullptr, false);
        }
        for (int j0 = 0; j0 < Tn; j0 += kRowBlock) {
          const int j1 = std::min(Tn, j0 + kRowBlock);
          // Keys [j0, j1) are seen by queries [j0, Tn) only.
          // dV[j0:j1, hs] (+)= P[j0:Tn, j0:j1]^T · dY[j0:Tn, hs]
          Gemm(GemmShape{j1 - j0, hs, Tn - j0, true, false, Tn, Cq, Ckv},
               P + (int64_t)j0 * Tn + j0, dy + (int64_t)j0 * Cq, dvh + (int64_t)j0 * Ckv, kvinit,
               nullptr, false);
          // dK[j0:j1, hs] (+)= dS[j0:Tn, j0:j1]^T · Q[j0:Tn, hs]
          Gemm(GemmShape{j1 - j0, hs, Tn - j0, true, false, Tn, Cq, Ckv},
               dP.data() + (int64_t)j0 * Tn + j0, qh + (int64_t)j0 * Cq, dkh + (int64_t)j0 * Ckv,
               kvinit, nullptr, false);
        }
      }
    }
  }
}

template void attention_gqa_forward<float>(float*, float*, const float*, const float*, const float*, int, int, int, int, int);
template void attention_gqa_forward<double>(double*, double*, const double*, const double*, const double*, int, int, int, int, int);
template void attention_gqa_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*, const float*, int, int, int, int, int, GradMode);
template void attention_gqa_backward<double>(double*, double*, double*, const double*, const double*, const double*, const double*, const double*, int, int, int, int, int, GradMode);

}  // namespace modelc
