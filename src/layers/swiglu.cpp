// SwiGLU gating of the Llama MLP: out = silu(gate) * up, silu(x) = x * sigmoid(x),
// sigmoid(x) = 1 / (1 + exp(-x)) with modelc's own exp (kernels/mathfn.h).
// Element-wise; the fixed evaluation order below is the same for every thread
// count (mathfn::exp is branch-free, so the loops may vectorize with the same
// bits). exp(-x) overflows to +inf for x < -88.7 (float): sigmoid = 0, no NaN.
#include <type_traits>

#include <omp.h>

#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

namespace {
// Thread t of nt's contiguous share [lo, hi) of N elements.
void Share(int64_t N, int t, int nt, int64_t* lo, int64_t* hi) {
  *lo = N * t / nt;
  *hi = N * (t + 1) / nt;
}
}  // namespace

template <class T>
void swiglu_forward(T* out, const T* gate, const T* up, int64_t N) {
  // out, gate, up [N] (N = rows * H)
  if constexpr (std::is_same_v<T, float>) {
    // The ISA kernels (kernels/vec.h): the same operations per element.
#pragma omp parallel
    {
      int64_t lo, hi;
      Share(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
      VecSwiGluForward(out + lo, gate + lo, up + lo, hi - lo);
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const T g = gate[i];
    const T sg = (T)1 / ((T)1 + Exp(-g));  // sigmoid(g)
    out[i] = (g * sg) * up[i];
  }
}

template <class T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t N) {
  // dgate, dup, dout, gate, up [N]
  // d silu(g)/dg = s * (1 + g * (1 - s)),  s = sigmoid(g)
  // dgate += dout * up * silu'(g);   dup += dout * silu(g)
  if constexpr (std::is_same_v<T, float>) {
#pragma omp parallel
    {
      int64_t lo, hi;
      Share(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
      VecSwiGluBackwardAcc(dgate + lo, dup + lo, dout + lo, gate + lo, up + lo, hi - lo);
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const T g = gate[i];
    const T sg = (T)1 / ((T)1 + Exp(-g));
    const T silu = g * sg;
    const T dsilu = sg * ((T)1 + g * ((T)1 - sg));
    dgate[i] += (dout[i] * up[i]) * dsilu;
    dup[i] += dout[i] * silu;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, int64_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, int64_t);

}  // namespace modelc
