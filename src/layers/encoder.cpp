// Token + position embedding (GPT-2), or token embedding alone (wpe ==
// nullptr: Llama, whose positions come from RoPE).
#include <algorithm>

#include "layers/layers.h"

namespace modelc {

template <class T>
void encoder_forward(T* out, const int* tok, const T* wte, const T* wpe, int B, int Tn, int C) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < (int64_t)B * Tn; ++n) {
    const int t = (int)(n % Tn);
    const T* e = wte + (int64_t)tok[n] * C;
    T* o = out + n * C;
    if (!wpe) {
      for (int c = 0; c < C; ++c) o[c] = e[c];
      continue;
    }
    const T* p = wpe + (int64_t)t * C;
    for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
  }
}

template <class T>
void encoder_backward(T* dwte, T* dwpe, const T* dout, const int* tok, int B, int Tn, int C, int V) {
  // Parallel over blocks of channels; each block walks rows in order b, t,
  // so the accumulation order into dwte/dwpe is fixed.
  constexpr int kBlk = 64;
#pragma omp parallel for schedule(static)
  for (int cb = 0; cb < (C + kBlk - 1) / kBlk; ++cb) {
    const int c0 = cb * kBlk, nc = std::min(kBlk, C - c0);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < Tn; ++t) {
        const int64_t n = (int64_t)b * Tn + t;
        const T* d = dout + n * C + c0;
        T* e = dwte + (int64_t)tok[n] * C + c0;
        for (int j = 0; j < nc; ++j) e[j] += d[j];
        if (!dwpe) continue;
        T* p = dwpe + (int64_t)t * C + c0;
        for (int j = 0; j < nc; ++j) p[j] += d[j];
      }
  }
}

template void encoder_forward<float>(float*, const int*, const float*, const float*, int, int, int);
template void encoder_forward<double>(double*, const int*, const double*, const double*, int, int, int);
template void encoder_backward<float>(float*, float*, const float*, const int*, int, int, int, int);
template void encoder_backward<double>(double*, double*, const double*, const int*, int, int, int, int);

}  // namespace modelc
