// Next-token sampling: temperature, top-k, top-p (nucleus), all from a
// counter-based random draw, so a token is a pure function of
// (logits, options, draw_index).
#pragma once
#include <cstdint>
#include <vector>

namespace modelc {

struct SamplerOptions {
  double temperature = 0.8;  // <= 0 (or NaN): greedy argmax
  int top_k = 0;             // keep the k most likely; <= 0: off
  double top_p = 1.0;        // nucleus mass; <= 0 (or NaN): greedy; >= 1: off
  uint64_t seed = 0;
};

// The stream of RandomUniform(seed, stream, draw_index) used for draws.
constexpr uint64_t kSamplerStream = 7;

// Picks the next token from logits.
//  - temperature <= 0, NaN, or top_p <= 0 / NaN: argmax (lowest index on ties).
//  - otherwise p = softmax(logits / temperature) in double (own Exp); sort by
//    (p desc, index asc); keep the first top_k (if top_k > 0); keep the
//    smallest prefix whose mass >= top_p * (mass kept so far); draw
//    u = RandomUniform(seed, kSamplerStream, draw_index) and return the first
//    token in that order whose cumulative mass exceeds u * (prefix mass).
// NaN logits count as -infinity (never picked unless all are NaN, then 0).
// Empty logits: returns -1.
int SampleToken(const std::vector<float>& logits, const SamplerOptions& o, uint64_t draw_index);

}  // namespace modelc
