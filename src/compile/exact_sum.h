// Exact, order-independent sums of float vectors: how micro-batch gradients
// are combined, within a process and across MPI ranks.
//
// Each float is converted to a 128-bit two's-complement fixed-point integer
// with quantum 2^-kFracBits (round to nearest even below the quantum), the
// integers are added (exact and associative, so any order, any split over
// ranks and threads gives the same bits), and the total is rounded to float
// once (nearest even). One process with n micro-batches and K processes
// sharing them therefore produce identical gradients.
//
// Range: |value| < 2^kIntBits per term (2^20 = 1048576; with up to 2^10
// terms the sum cannot overflow). A non-finite or out-of-range gradient is
// counted (nonfinite()) and contributes 0; the trainer stops with an error
// when any is seen, so this never changes a result silently. Values below
// 2^-73 lose low mantissa bits to the quantum 2^-96 (deterministically).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace modelc {

constexpr int kExactSumFracBits = 96;
constexpr int kExactSumIntBits = 20;

class ExactSum {
 public:
  // REQUIRES: called before Add; sets n elements to 0.
  void Reset(size_t n);
  size_t size() const { return words_.size() / 2; }
  // sum[i] += fixed(x[i]) for i < size(). Parallel over elements (the
  // per-element result does not depend on threads).
  void Add(const float* x);
  // out[i] = float(sum[i]), rounded to nearest even.
  void ToFloat(float* out) const;
  // Terms that were NaN, infinite or out of range since Reset.
  uint64_t nonfinite() const { return nonfinite_; }
  void set_nonfinite(uint64_t n) { nonfinite_ = n; }
  // The raw integers, 2 words per element (low word first, then the high word
  // as two's complement), for an MPI reduction with AddWords.
  uint64_t* words() { return words_.data(); }
  // dst[i] += src[i] as 128-bit integers, n elements.
  static void AddWords(uint64_t* dst, const uint64_t* src, size_t n);

  // x[i] = float(fixed(x[i])) in place: what Add then ToFloat give for a
  // single term, without the accumulator (one process, one micro-batch).
  // Returns the number of non-finite or out-of-range values (set to 0).
  static uint64_t Quantize(float* x, size_t n);

  // Single-value conversions (exposed for tests).
  // Returns false (and sets *lo = *hi = 0) for non-finite or |x| >= 2^kIntBits.
  static bool ToFixed(float x, uint64_t* lo, uint64_t* hi);
  static float FromFixed(uint64_t lo, uint64_t hi);

 private:
  std::vector<uint64_t> words_;
  uint64_t nonfinite_ = 0;
};

}  // namespace modelc
