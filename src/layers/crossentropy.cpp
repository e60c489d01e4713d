// Softmax + cross-entropy over the vocabulary.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/reduce.h"
#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

template <class T>
void crossentropy_forward(T* probs, T* losses, const T* logits, const int* targets, int64_t N,
                          int V) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* z = logits + n * V;
    T* p = probs + n * V;
    T mx = z[0];
    for (int v = 1; v < V; ++v) mx = std::max(mx, z[v]);
    if constexpr (std::is_same_v<T, float>) {
      for (int v = 0; v < V; ++v) p[v] = z[v];
      VecExpScaled(p, V, 1.0f, mx);  // z * 1 - mx == z - mx exactly
    } else {
      for (int v = 0; v < V; ++v) p[v] = Exp(z[v] - mx);
    }
    const T sum = RowSum(p, V);
    const T inv = (T)1 / sum;
    for (int v = 0; v < V; ++v) p[v] = p[v] * inv;
    // -log softmax = log(sum) - (z - max): accurate even when p[target] underflows
    losses[n] = Log(sum) - (z[targets[n]] - mx);
  }
}

template <class T>
void crossentropy_backward(T* dlogits, const T* probs, const int* targets, T dloss, int64_t N,
                           int V) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* p = probs + n * V;
    T* d = dlogits + n * V;
    for (int v = 0; v < V; ++v) d[v] += (p[v] - (v == targets[n] ? (T)1 : (T)0)) * dloss;
  }
}

template void crossentropy_forward<float>(float*, float*, const float*, const int*, int64_t, int);
template void crossentropy_forward<double>(double*, double*, const double*, const int*, int64_t, int);
template void crossentropy_backward<float>(float*, const float*, const int*, float, int64_t, int);
template void crossentropy_backward<double>(double*, const double*, const int*, double, int64_t, int);

}  // namespace modelc
