// Elementwise layers: GELU (tanh form) and the residual add.
// float runs on the ISA-dispatched kernels (kernels/vec.h, mathfn::gelu_tanh);
// double (tests) on the same formula written out below.
#include <algorithm>
#include <type_traits>

#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

namespace {
constexpr double kGeluS = 0.7978845608028654;  // sqrt(2/pi)
constexpr double kGeluA = 0.044715;
}  // namespace

constexpr int64_t kChunk = 4096;  // elements per parallel task

template <class T>
void gelu_forward(T* out, const T* inp, int64_t N) {
  if constexpr (std::is_same_v<T, float>) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < (N + kChunk - 1) / kChunk; ++c)
      VecGeluForward(out + c * kChunk, inp + c * kChunk, std::min(kChunk, N - c * kChunk));
    return;
  }
  const T s = (T)kGeluS, a = (T)kGeluA;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const T x = inp[i];
    const T u = s * (x + a * (x * x * x));
    out[i] = (T)0.5 * x * ((T)1 + Tanh(u));
  }
}

template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t N, GradMode mode) {
  if constexpr (std::is_same_v<T, float>) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < (N + kChunk - 1) / kChunk; ++c) {
      const int64_t n = std::min(kChunk, N - c * kChunk);
      // Zeroing one chunk just before use stays in L1.
      if (mode == GradMode::kOverwrite) std::fill(dinp + c * kChunk, dinp + c * kChunk + n, 0.0f);
      VecGeluBackwardAcc(dinp + c * kChunk, inp + c * kChunk, dout + c * kChunk, n);
    }
    return;
  }
  if (mode == GradMode::kOverwrite) std::fill(dinp, dinp + N, T(0));
  const T s = (T)kGeluS, a = (T)kGeluA;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const T x = inp[i];
    const T u = s * (x + a * (x * x * x));
    const T t = Tanh(u);
    const T du = s * ((T)1 + (T)3 * a * (x * x));
    const T g = (T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * du;
    dinp[i] += g * dout[i];
  }
}

template <class T>
void residual_forward(T* out, const T* a, const T* b, int64_t N) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) out[i] = a[i] + b[i];
}

template <class T>
void residual_backward(T* da, T* db, const T* dout, int64_t N) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

template void gelu_forward<float>(float*, const float*, int64_t);
template void gelu_forward<double>(double*, const double*, int64_t);
template void gelu_backward<float>(float*, const float*, const float*, int64_t, GradMode);
template void gelu_backward<double>(double*, const double*, const double*, int64_t, GradMode);
template void residual_forward<float>(float*, const float*, const float*, int64_t);
template void residual_forward<double>(double*, const double*, const double*, int64_t);
template void residual_backward<float>(float*, float*, const float*, int64_t);
template void residual_backward<double>(double*, double*, const double*, int64_t);

}  // namespace modelc
