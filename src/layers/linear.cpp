// Fully connected layer on the deterministic GEMM.
#include <algorithm>

#include "kernels/gemm.h"
#include "layers/layers.h"

namespace modelc {

template <class T>
void linear_forward(T* out, const T* inp, const T* W, const T* bias, int64_t N, int C, int OC) {
  // out[N,OC] = inp[N,C] · W[OC,C]^T (+ bias)
  Gemm(MakeGemm((int)N, OC, C, false, true), inp, W, out,
       bias ? GemmInit::kBias : GemmInit::kZero, bias);
}

template <class T>
void linear_backward(T* dinp, T* dW, T* dbias, const T* dout, const T* inp, const T* W,
                     int64_t N, int C, int OC, GradMode dinp_mode) {
  // dinp[N,C] (+)= dout[N,OC] · W[OC,C]
  Gemm(MakeGemm((int)N, C, OC, false, false), dout, W, dinp,
       dinp_mode == GradMode::kAccumulate ? GemmInit::kAccumulate : GemmInit::kZero);
  // dW[OC,C] += dout^T[OC,N] · inp[N,C]
  Gemm(MakeGemm(OC, C, (int)N, true, false), dout, inp, dW, GemmInit::kAccumulate);
  if (dbias) {
    // Column sums in row order, parallel over blocks of columns.
    constexpr int kBlk = 64;
#pragma omp parallel for schedule(static)
    for (int ob = 0; ob < (OC + kBlk - 1) / kBlk; ++ob) {
      const int o0 = ob * kBlk, no = std::min(kBlk, OC - o0);
      T s[kBlk];
      for (int j = 0; j < no; ++j) s[j] = dbias[o0 + j];
      for (int64_t n = 0; n < N; ++n) {
        const T* d = dout + n * OC + o0;
        for (int j = 0; j < no; ++j) s[j] += d[j];
      }
      for (int j = 0; j < no; ++j) dbias[o0 + j] = s[j];
    }
  }
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int, int);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int, int);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, int, int, GradMode);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t, int, int, GradMode);

}  // namespace modelc
