#include "kernels/rng.h"

#include <cmath>

#include "kernels/mathfn.h"

namespace modelc {

namespace {

std::array<uint32_t, 4> AttemptBlock(uint64_t seed, uint64_t stream, uint64_t index, uint64_t attempt) {
  return PhiloxBlockInline(seed + attempt * kRetryKeyStep, stream, index);
}

inline uint64_t Lo64(const std::array<uint32_t, 4>& w) {
  return static_cast<uint64_t>(w[0]) | (static_cast<uint64_t>(w[1]) << 32);
}
inline uint64_t Hi64(const std::array<uint32_t, 4>& w) {
  return static_cast<uint64_t>(w[2]) | (static_cast<uint64_t>(w[3]) << 32);
}

}  // namespace

std::array<uint32_t, 4> Philox::Block(uint64_t key, uint64_t counter_hi, uint64_t counter_lo) {
  return PhiloxBlockInline(key, counter_hi, counter_lo);
}

uint64_t RandomU64(uint64_t seed, uint64_t stream, uint64_t index) {
  return Lo64(PhiloxBlockInline(seed, stream, index));
}

double RandomUniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<double>(RandomU64(seed, stream, index) >> 11) * 0x1p-53;
}

uint64_t RandomBelow(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n) {
  if (n == 0) return 0;
  // 2^64 mod n: draws below it are rejected so that the accepted range
  // [threshold, 2^64) holds a whole number of copies of [0, n).
  const uint64_t threshold = (0 - n) % n;
  for (uint64_t attempt = 0;; ++attempt) {
    const std::array<uint32_t, 4> w = AttemptBlock(seed, stream, index, attempt);
    const uint64_t a = Lo64(w);
    if (a >= threshold) return a % n;
    const uint64_t b = Hi64(w);
    if (b >= threshold) return b % n;
  }
}

double RandomNormal(uint64_t seed, uint64_t stream, uint64_t index) {
  for (uint64_t attempt = 0;; ++attempt) {
    const std::array<uint32_t, 4> w = AttemptBlock(seed, stream, index, attempt);
    const double u = 2.0 * (static_cast<double>(Lo64(w) >> 11) * 0x1p-53) - 1.0;  // exact
    const double v = 2.0 * (static_cast<double>(Hi64(w) >> 11) * 0x1p-53) - 1.0;  // exact
    const double uu = u * u;
    const double vv = v * v;
    const double s = uu + vv;
    if (s > 0.0 && s < 1.0) {
      return u * std::sqrt((-2.0 * mathfn::log(s)) / s);  // sqrt is IEEE correctly rounded
    }
  }
}

}  // namespace modelc
