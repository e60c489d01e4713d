// Rotary position embeddings (RoPE), llama.cpp's "normal" mode (ggml_rope
// mode 0, used by the `llama` architecture): within each head the ADJACENT
// pairs (x[2i], x[2i+1]) are rotated by the angle pos * theta^(-2i/hs).
// (HuggingFace's Llama rotates the halves (x[i], x[i+hs/2]) instead, and its
// GGUF converter permutes the Q/K weight rows to compensate; modelc writes
// GGUF directly, so it trains in llama.cpp's layout.) The table is computed
// in double from modelc's own exp/log/sincos (kernels/mathfn.h) and rounded
// once to T; llama.cpp builds its table in float (powf, cosf, sinf), so its
// angles differ from these by float rounding only.
#include "kernels/mathfn.h"
#include "layers/layers.h"

namespace modelc {

template <class T>
void rope_table(T* cos, T* sin, int Tn, int head_dim, double theta) {
  // cos, sin [Tn, head_dim/2]: angle(t, i) = t * theta^(-2i/head_dim)
  const int half = head_dim / 2;
  const double log_theta = mathfn::log(theta);
  for (int i = 0; i < half; ++i) {
    const double inv_freq = mathfn::exp(-((double)(2 * i) / (double)head_dim) * log_theta);
    for (int t = 0; t < Tn; ++t) {
      double s, c;
      mathfn::sincos((double)t * inv_freq, &s, &c);
      cos[(int64_t)t * half + i] = (T)c;
      sin[(int64_t)t * half + i] = (T)s;
    }
  }
}

template <class T>
void rope_forward(T* out, const T* inp, const T* cos, const T* sin, int B, int Tn, int NH, int hs) {
  // out, inp [B*T, NH*hs] (out == inp allowed); cos, sin [T, hs/2]
  // out[2i]   = x[2i] * cos - x[2i+1] * sin
  // out[2i+1] = x[2i] * sin + x[2i+1] * cos
  const int half = hs / 2;
  const int64_t C = (int64_t)NH * hs;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < (int64_t)B * Tn; ++n) {
    const int t = (int)(n % Tn);
    const T* cs = cos + (int64_t)t * half;  // [hs/2]
    const T* sn = sin + (int64_t)t * half;  // [hs/2]
    for (int h = 0; h < NH; ++h) {
      const T* x = inp + n * C + (int64_t)h * hs;  // [hs]
      T* y = out + n * C + (int64_t)h * hs;        // [hs]
      for (int i = 0; i < half; ++i) {
        const T x0 = x[2 * i], x1 = x[2 * i + 1];
        y[2 * i] = x0 * cs[i] - x1 * sn[i];
        y[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
      }
    }
  }
}

template <class T>
void rope_backward(T* dinp, const T* dout, const T* cos, const T* sin, int B, int Tn, int NH,
                   int hs, GradMode mode) {
  // dinp, dout [B*T, NH*hs]; cos, sin [T, hs/2]. The rotation by -angle
  // (the transpose):  dx[2i]   (+)=  dy[2i] * cos + dy[2i+1] * sin
  //                   dx[2i+1] (+)= -dy[2i] * sin + dy[2i+1] * cos
  // kOverwrite allows dinp == dout (in place).
  const int half = hs / 2;
  const int64_t C = (int64_t)NH * hs;
  const bool acc = mode == GradMode::kAccumulate;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < (int64_t)B * Tn; ++n) {
    const int t = (int)(n % Tn);
    const T* cs = cos + (int64_t)t * half;  // [hs/2]
    const T* sn = sin + (int64_t)t * half;  // [hs/2]
    for (int h = 0; h < NH; ++h) {
      const T* dy = dout + n * C + (int64_t)h * hs;  // [hs]
      T* dx = dinp + n * C + (int64_t)h * hs;        // [hs]
      for (int i = 0; i < half; ++i) {
        const T d0 = dy[2 * i], d1 = dy[2 * i + 1];
        const T g0 = d0 * cs[i] + d1 * sn[i];
        const T g1 = d1 * cs[i] - d0 * sn[i];
        if (acc) {
          dx[2 * i] += g0;
          dx[2 * i + 1] += g1;
        } else {
          dx[2 * i] = g0;
          dx[2 * i + 1] = g1;
        }
      }
    }
  }
}

template void rope_table<float>(float*, float*, int, int, double);
template void rope_table<double>(double*, double*, int, int, double);
template void rope_forward<float>(float*, const float*, const float*, const float*, int, int, int, int);
template void rope_forward<double>(double*, const double*, const double*, const double*, int, int, int, int);
template void rope_backward<float>(float*, const float*, const float*, const float*, int, int, int, int, GradMode);
template void rope_backward<double>(double*, const double*, const double*, const double*, int, int, int, int, GradMode);

}  // namespace modelc
