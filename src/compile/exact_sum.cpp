#include "compile/exact_sum.h"

#include <cstring>

namespace modelc {

namespace {

using u128 = unsigned __int128;

inline u128 Join(uint64_t lo, uint64_t hi) { return ((u128)hi << 64) | lo; }

inline int TopBit(u128 v) {  // REQUIRES: v != 0
  const uint64_t hi = (uint64_t)(v >> 64);
  return hi ? 127 - __builtin_clzll(hi) : 63 - __builtin_clzll((uint64_t)v);
}

}  // namespace

bool ExactSum::ToFixed(float x, uint64_t* lo, uint64_t* hi) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  const uint32_t e = (b >> 23) & 0xff;
  *lo = *hi = 0;
  if (e == 0xff || (int)e - 127 >= kExactSumIntBits) return false;  // NaN, inf, too large
  if (e == 0) return true;  // zero or subnormal (< 2^-126): below half a quantum, rounds to 0
  const uint32_t m = (b & 0x7fffff) | 0x800000;  // value = m * 2^(e - 150)
  const int s = (int)e - 150 + kExactSumFracBits;  // value in quanta = m * 2^s
  u128 q;
  if (s >= 0) {
    q = (u128)m << s;
  } else if (s <= -25) {
    q = 0;  // m < 2^24 <= half a quantum
  } else {
    const int k = -s;
    uint32_t r = m >> k;
    const uint32_t rem = m & ((1u << k) - 1), half = 1u << (k - 1);
    if (rem > half || (rem == half && (r & 1))) ++r;
    q = r;
  }
  if (b >> 31) q = (u128)0 - q;
  *lo = (uint64_t)q;
  *hi = (uint64_t)(q >> 64);
  return true;
}

float ExactSum::FromFixed(uint64_t lo, uint64_t hi) {
  const u128 v = Join(lo, hi);
  const bool neg = (hi >> 63) != 0;
  u128 mag = neg ? (u128)0 - v : v;
  if (mag == 0) return 0.0f;
  int p = TopBit(mag);
  uint64_t q;
  if (p <= 23) {
    q = (uint64_t)mag << (23 - p);
  } else {
    const int k = p - 23;
    q = (uint64_t)(mag >> k);
    const u128 rem = mag & (((u128)1 << k) - 1), half = (u128)1 << (k - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    if (q == (1ull << 24)) {
      q >>= 1;
      ++p;
    }
  }
  // value = mag * 2^-96, leading bit at 2^(p - 96): biased exponent p + 31.
  const uint32_t bits = (neg ? 0x80000000u : 0u) | ((uint32_t)(p + 127 - kExactSumFracBits) << 23) |
                        ((uint32_t)q & 0x7fffff);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void ExactSum::Reset(size_t n) {
  words_.assign(2 * n, 0);
  nonfinite_ = 0;
}

void ExactSum::Add(const float* x) {
  const int64_t n = (int64_t)size();
  uint64_t* w = words_.data();
  uint64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad)
  for (int64_t i = 0; i < n; ++i) {
    uint64_t lo, hi;
    if (!ToFixed(x[i], &lo, &hi)) ++bad;
    const u128 s = Join(w[2 * i], w[2 * i + 1]) + Join(lo, hi);
    w[2 * i] = (uint64_t)s;
    w[2 * i + 1] = (uint64_t)(s >> 64);
  }
  nonfinite_ += bad;
}

void ExactSum::ToFloat(float* out) const {
  const int64_t n = (int64_t)size();
  const uint64_t* w = words_.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = FromFixed(w[2 * i], w[2 * i + 1]);
}

uint64_t ExactSum::Quantize(float* x, size_t n) {
  uint64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad)
  for (int64_t i = 0; i < (int64_t)n; ++i) {
    uint64_t lo, hi;
    if (!ToFixed(x[i], &lo, &hi)) ++bad;
    x[i] = FromFixed(lo, hi);
  }
  return bad;
}

void ExactSum::AddWords(uint64_t* dst, const uint64_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const u128 s = Join(dst[2 * i], dst[2 * i + 1]) + Join(src[2 * i], src[2 * i + 1]);
    dst[2 * i] = (uint64_t)s;
    dst[2 * i + 1] = (uint64_t)(s >> 64);
  }
}

}  // namespace modelc
