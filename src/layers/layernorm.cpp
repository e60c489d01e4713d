// LayerNorm over the channel dimension.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/reduce.h"
#include "layers/layers.h"

namespace modelc {

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* w, const T* b, int64_t N,
                       int C) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* x = inp + n * C;
    const T m = RowSum(x, C) / (T)C;
    const T var = RowSqDev(x, m, C) / (T)C;
    const T s = (T)1 / std::sqrt(var + (T)kLayerNormEps);  // sqrt and / are correctly rounded
    T* o = out + n * C;
    for (int c = 0; c < C; ++c) o[c] = ((x[c] - m) * s) * w[c] + b[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

template <class T>
void layernorm_backward(T* dinp, T* dw, T* db, const T* dout, const T* inp, const T* w,
                        const T* mean, const T* rstd, int64_t N, int C) {
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dout * w
#pragma omp parallel
  {
    static thread_local std::vector<T> g, xh;
    g.resize(C);
    xh.resize(C);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + n * C;
      const T* d = dout + n * C;
      for (int c = 0; c < C; ++c) {
        xh[c] = (x[c] - mean[n]) * rstd[n];
        g[c] = d[c] * w[c];
      }
      const T gm = RowSum(g.data(), C) / (T)C;
      const T gxm = RowDot(g.data(), xh.data(), C) / (T)C;
      T* di = dinp + n * C;
      for (int c = 0; c < C; ++c) di[c] += rstd[n] * ((g[c] - gm) - xh[c] * gxm);
    }
    // Parameter gradients: parallel over blocks of channels; within a block
    // rows are visited in order (the per-element order is fixed), reading
    // dout row by row.
    constexpr int kBlk = 64;
#pragma omp for schedule(static)
    for (int cb = 0; cb < (C + kBlk - 1) / kBlk; ++cb) {
      const int c0 = cb * kBlk, nc = std::min(kBlk, C - c0);
      T sw[kBlk], sb[kBlk];
      for (int j = 0; j < nc; ++j) {
        sw[j] = dw[c0 + j];
        sb[j] = db[c0 + j];
      }
      for (int64_t n = 0; n < N; ++n) {
        const T* d = dout + n * C + c0;
        const T* x = inp + n * C + c0;
        for (int j = 0; j < nc; ++j) {
          sw[j] += d[j] * ((x[j] - mean[n]) * rstd[n]);
          sb[j] += d[j];
        }
      }
      for (int j = 0; j < nc; ++j) {
        dw[c0 + j] = sw[j];
        db[c0 + j] = sb[j];
      }
    }
  }
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, int);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t, int);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*, const float*, int64_t, int);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*, const double*, const double*, const double*, int64_t, int);

}  // namespace modelc
