// Templates shared by the engines of every family (runtime/engine.h); only
// runtime/*.cpp include this.
#pragma once
#include <algorithm>

#include <omp.h>

#include "kernels/isa.h"
#include "runtime/engine.h"

namespace modelc {

template <class V>
void Grow(V& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

template <class F>
void InferenceEngine::StepRun(int n, F&& f) {
  const int nt = omp_in_parallel() ? 1 : NumThreads();
  if (nt > 1 && n > 1) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int i = 0; i < n; ++i) f(i);
  } else {
    for (int i = 0; i < n; ++i) f(i);
  }
}

template <class After>
void InferenceEngine::StepProduct(const Packed& W, const float* in, float* out, After&& after) {
  const int NR = kern_.nr;
  if (W.q8) {  // the row quantized once, by this thread
    Grow(xq_, (size_t)W.K);
    Grow(xd_, (size_t)W.K / kQ8Block);
    QuantizeActivationQ8(in, W.K, xq_.data(), xd_.data());
  }
  const int np = W.q8 ? W.q.np : W.np, width = W.q8 ? kQ8PanelRows : NR;
  const int per = std::max(1, 64 / width), chunks = (np + per - 1) / per;
  StepRun(chunks, [&](int c) {
    const int p0 = c * per, p1 = std::min(np, p0 + per);
    const int n0 = p0 * width, n1 = std::min(W.N, p1 * width);
    if (W.q8) {
      Q8MatVecPanels(W.q, p0, p1, xq_.data(), xd_.data(), out, q8_fn_);
      if (W.has_bias)
        for (int n = n0; n < n1; ++n) out[n] = out[n] + W.bias[n];
    } else {
      mv_.fn(W.K, W.N, p0, p1, in, W.panels.data(), (long)W.K * NR,
             W.has_bias ? W.bias.data() : nullptr, out);
    }
    after(n0, n1);
  });
}

}  // namespace modelc
