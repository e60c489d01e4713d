// Learning-rate schedule: linear warm-up, then cosine decay to min_lr (or constant).
#pragma once
#include <cstdint>

#include "source/recipe.h"

namespace modelc {

// lr for optimizer step `step` (0-based). Pure function; uses the project's own cos.
double LearningRate(const TrainConfig& t, int64_t step);

}  // namespace modelc
