#include "compile/optimizer.h"

#include <cmath>

namespace modelc {

void AdamWStep(const std::vector<ParamSpec>& specs, float* params, const float* grads, float* m,
               float* v, const AdamWHyper& h, int64_t t) {
  // Bias corrections by repeated multiplication (no pow): pure function of t.
  double b1t = 1, b2t = 1;
  for (int64_t i = 0; i < t; ++i) {
    b1t *= h.beta1;
    b2t *= h.beta2;
  }
  const double bc1 = 1 - b1t, bc2 = 1 - b2t;
  const float step_size = (float)(h.lr / bc1);
  const float bc2_sqrt = (float)std::sqrt(bc2);
  const float b1 = (float)h.beta1, b2 = (float)h.beta2, eps = (float)h.eps;
  for (const ParamSpec& s : specs) {
    const float decay = s.decay ? (float)(1.0 - h.lr * h.weight_decay) : 1.0f;
    float* p = params + s.offset;
    const float* g = grads + s.offset;
    float* mm = m + s.offset;
    float* vv = v + s.offset;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s.size; ++i) {
      const float gi = g[i];
      mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
      vv[i] = b2 * vv[i] + (1.0f - b2) * (gi * gi);
      const float denom = std::sqrt(vv[i]) / bc2_sqrt + eps;
      p[i] = p[i] * decay - step_size * (mm[i] / denom);
    }
  }
}

double GlobalNorm(const float* g, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(nchunks);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < nchunks; ++c) {
    double s = 0;
    const int64_t end = std::min(n, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < end; ++i) s += (double)g[i] * (double)g[i];
    part[c] = s;
  }
  double s = 0;
  for (double x : part) s += x;
  return std::sqrt(s);
}

float ClipGradients(float* g, int64_t n, double norm, double max_norm) {
  if (max_norm <= 0 || norm <= max_norm) return 1.0f;
  const float scale = (float)(max_norm / (norm + 1e-6));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] *= scale;
  return scale;
}

}  // namespace modelc
