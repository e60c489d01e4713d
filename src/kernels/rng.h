// Counter-based random numbers: every value is a pure function of
// (seed, stream, index). There is no generator state, so results do not depend
// on call order, thread count or how work is partitioned.
//
// Core: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as
// 1, 2, 3", SC'11), bit-compatible with Random123's philox4x32_10 (checked
// against its kat_vectors in tests/rng_test.cpp).
//
// Mapping of the convenience API onto Philox:
//   key     = seed                  (key word 0 = low 32 bits, word 1 = high)
//   counter = (stream, index)       (counter_hi = stream, counter_lo = index)
//   Block(seed, stream, index) -> words w0..w3.
//   RandomU64 = w0 | (w1 << 32).
// Rejection-sampling functions (RandomBelow, RandomNormal) that need more bits
// than one block continue, deterministically, with the blocks
//   Philox::Block(seed + j * kRetryKeyStep, stream, index),  j = 1, 2, ...
// (a different key per retry). These overlap a user-visible draw only if a
// caller uses two seeds that differ by a multiple of kRetryKeyStep (a large
// odd 64-bit constant), which ordinary seeds never do.
#pragma once

#include <array>
#include <cstdint>

namespace modelc {

// Philox4x32-10 constants (Random123).
inline constexpr uint32_t kPhiloxMul0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxMul1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kPhiloxWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1
inline constexpr int kPhiloxRounds = 10;

// Same function as Philox::Block, defined here with internal linkage so that
// ISA-specific kernels (*_avx2.cpp, *_avx512.cpp) can inline / vectorise it
// without risking that the linker hands their AVX copy to baseline code (see
// the linkage note in kernels/mathfn.h). Pure integer arithmetic: identical
// results under any flags.
static inline std::array<uint32_t, 4> PhiloxBlockInline(uint64_t key, uint64_t counter_hi,
                                                        uint64_t counter_lo) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo);
  uint32_t c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi);
  uint32_t c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key);
  uint32_t k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxMul1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n1 = static_cast<uint32_t>(p1);
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kPhiloxWeyl0;  // the bump after the last round is unused
    k1 += kPhiloxWeyl1;
  }
  return {c0, c1, c2, c3};
}

struct Philox {
  // Philox4x32-10 of the 128-bit counter and 64-bit key. In Random123's word
  // order: ctr = {lo32(counter_lo), hi32(counter_lo), lo32(counter_hi),
  // hi32(counter_hi)}, key = {lo32(key), hi32(key)}; returns the 4 output
  // words in the same order.
  static std::array<uint32_t, 4> Block(uint64_t key, uint64_t counter_hi, uint64_t counter_lo);
};

// Key step between rejection-sampling retry blocks (see top of file).
inline constexpr uint64_t kRetryKeyStep = 0x9E3779B97F4A7C15ull;

// 64 uniformly distributed bits: w0 | (w1 << 32) of Block(seed, stream, index).
uint64_t RandomU64(uint64_t seed, uint64_t stream, uint64_t index);

// Uniform double in [0, 1) with 53 random bits: (RandomU64 >> 11) * 2^-53.
double RandomUniform(uint64_t seed, uint64_t stream, uint64_t index);

// Uniform integer in [0, n), exactly unbiased. Rejects 64-bit draws below
// 2^64 mod n: first w0|w1<<32 (== RandomU64), then w2|w3<<32 of the same
// block, then the two halves of each retry block j = 1, 2, ... in turn.
// n == 0 returns 0.
uint64_t RandomBelow(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n);

// Standard normal N(0, 1) by the Marsaglia polar method. Attempt j uses block
// j (j = 0: Block(seed, stream, index); j >= 1: retry blocks):
//   u = 2*U(w0,w1) - 1, v = 2*U(w2,w3) - 1 (U = 53-bit uniform in [0,1)),
//   s = u*u + v*v; accept if 0 < s < 1 and return
//   u * sqrt((-2 * mathfn::log(s)) / s).
// Only IEEE-exact operations and modelc's own log: bit-reproducible.
double RandomNormal(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace modelc
