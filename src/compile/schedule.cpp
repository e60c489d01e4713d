#include "compile/schedule.h"

#include "kernels/mathfn.h"

namespace modelc {

double LearningRate(const TrainConfig& t, int64_t step) {
  if (step < t.warmup_steps) return t.learning_rate * (double)(step + 1) / (double)t.warmup_steps;
  if (t.lr_schedule == "constant") return t.learning_rate;
  const int64_t decay_steps = t.steps - t.warmup_steps;
  if (decay_steps <= 1) return t.learning_rate;
  double progress = (double)(step - t.warmup_steps) / (double)(decay_steps - 1);
  if (progress > 1) progress = 1;
  const double kPi = 3.14159265358979323846;
  const double c = 0.5 * (1.0 + mathfn::cos(kPi * progress));
  return t.min_lr + (t.learning_rate - t.min_lr) * c;
}

}  // namespace modelc
