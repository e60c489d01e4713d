#include "cli/progress.h"

#include <cmath>
#include <string>

namespace modelc {

std::string FormatDuration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  long t = (long)(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void ProgressPrinter::Update(const StepInfo& s) {
  if (s.has_val) last_val_ = s.val_loss;
  const double eta = s.elapsed_s / (double)(s.step - s.first_step) * (double)(s.steps - s.step);
  char val[48] = "";
  // Nats per byte beside per-token losses when tokens are not bytes.
  if (last_val_ >= 0 && s.val_tokens_per_byte != 1.0)
    std::snprintf(val, sizeof val, " val %.4f (%.3f/byte)", last_val_, last_val_ * s.val_tokens_per_byte);
  else if (last_val_ >= 0)
    std::snprintf(val, sizeof val, " val %.4f", last_val_);
  if (tty_) {
    const int width = 24;
    const int filled = (int)((double)width * s.step / s.steps);
    std::string bar(filled, '#');
    bar += std::string(width - filled, '.');
    std::fprintf(out_, "\r\033[K[%s] %lld/%lld loss %.4f%s lr %.2e %.0f tok/s ETA %s", bar.c_str(),
                 (long long)s.step, (long long)s.steps, s.loss, val, s.lr, s.tokens_per_s,
                 FormatDuration(eta).c_str());
    std::fflush(out_);
    drawn_ = true;
    return;
  }
  const int64_t every = std::max<int64_t>(1, s.steps / 20);
  if (s.step % every == 0 || s.step == s.steps || s.has_val) {
    std::fprintf(out_, "step %lld/%lld loss %.4f%s lr %.3e %.0f tok/s elapsed %s ETA %s\n",
                 (long long)s.step, (long long)s.steps, s.loss, val, s.lr, s.tokens_per_s,
                 FormatDuration(s.elapsed_s).c_str(), FormatDuration(eta).c_str());
    std::fflush(out_);
  }
}

void ProgressPrinter::Finish() {
  if (tty_ && drawn_) std::fprintf(out_, "\n");
  drawn_ = false;
}

}  // namespace modelc
