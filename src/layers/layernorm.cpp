// LayerNorm over the channel dimension.
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
    std::vector<T> g(C), xh(C);
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
    // Parameter gradients: parallel over channels, rows in order.
#pragma omp for schedule(static)
    for (int c = 0; c < C; ++c) {
      T sw = dw[c], sb = db[c];
      for (int64_t n = 0; n < N; ++n) {
        const T d = dout[n * C + c];
        sw += d * ((inp[n * C + c] - mean[n]) * rstd[n]);
        sb += d;
      }
      dw[c] = sw;
      db[c] = sb;
    }
  }
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, int);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t, int);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*, const float*, int64_t, int);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*, const double*, const double*, const double*, int64_t, int);

}  // namespace modelc
