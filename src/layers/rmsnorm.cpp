// RMSNorm over the channel dimension (Llama): no mean subtraction, no bias.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/reduce.h"
#include "layers/layers.h"

namespace modelc {

template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* w, int64_t N, int C, double eps) {
  // out [N, C], rstd [N], inp [N, C], w [C]
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* x = inp + n * C;                      // [C]
    const T ms = RowDot(x, x, C) / (T)C;           // mean(x^2), fixed-order tree
    const T s = (T)1 / std::sqrt(ms + (T)eps);     // sqrt and / are correctly rounded
    T* o = out + n * C;                            // [C]
    for (int c = 0; c < C; ++c) o[c] = (x[c] * s) * w[c];
    rstd[n] = s;
  }
}

template <class T>
void rmsnorm_backward(T* dinp, T* dw, const T* dout, const T* inp, const T* w, const T* rstd,
                      int64_t N, int C) {
  // xhat = x * rstd;  g = dout * w
  // dx = rstd * (g - xhat * mean(g * xhat))
  // dw = sum_n dout * xhat
#pragma omp parallel
  {
    static thread_local std::vector<T> g, xh;  // [C] each, kept between calls
    g.resize(C);
    xh.resize(C);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + n * C;   // [C]
      const T* d = dout + n * C;  // [C]
      for (int c = 0; c < C; ++c) {
        xh[c] = x[c] * rstd[n];
        g[c] = d[c] * w[c];
      }
      const T gxm = RowDot(g.data(), xh.data(), C) / (T)C;
      T* di = dinp + n * C;  // [C]
      for (int c = 0; c < C; ++c) di[c] += rstd[n] * (g[c] - xh[c] * gxm);
    }
    // Weight gradient: parallel over blocks of channels; within a block the
    // rows are visited in order, so every element's sum has a fixed order.
    constexpr int kBlk = 64;
#pragma omp for schedule(static)
    for (int cb = 0; cb < (C + kBlk - 1) / kBlk; ++cb) {
      const int c0 = cb * kBlk, nc = std::min(kBlk, C - c0);
      T sw[kBlk];  // [nc]
      for (int j = 0; j < nc; ++j) sw[j] = dw[c0 + j];
      for (int64_t n = 0; n < N; ++n) {
        const T* d = dout + n * C + c0;
        const T* x = inp + n * C + c0;
        for (int j = 0; j < nc; ++j) sw[j] += d[j] * (x[j] * rstd[n]);
      }
      for (int j = 0; j < nc; ++j) dw[c0 + j] = sw[j];
    }
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int, double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t, int, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t, int);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*, const double*, int64_t, int);

}  // namespace modelc
