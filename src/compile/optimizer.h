// AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW semantics),
// and global-norm gradient clipping. Element-wise, so thread-independent;
// the norm is a fixed-order reduction.
#pragma once
#include <cstdint>
#include <vector>

#include "model/gpt.h"

namespace modelc {

struct AdamWHyper {
  double lr = 0, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0;
};

// One AdamW step `t` (1-based) on every tensor of `specs`; weight decay only
// on tensors with spec.decay. m, v: first and second moments, same size as params.
void AdamWStep(const std::vector<ParamSpec>& specs, float* params, const float* grads, float* m,
               float* v, const AdamWHyper& h, int64_t t);

// sqrt(sum g^2) over n elements, accumulated in double in fixed-size chunks
// combined in chunk order.
double GlobalNorm(const float* g, int64_t n);
// Scales g by max_norm / norm when norm > max_norm (max_norm > 0). Returns the scale.
float ClipGradients(float* g, int64_t n, double norm, double max_norm);

}  // namespace modelc
