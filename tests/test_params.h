// Random GPT parameters for tests: normal(0, stddev) everywhere; LayerNorm
// weights are then set to exactly 1, or shifted by +1 (keeps the problem well
// conditioned while still random).
#pragma once
#include <random>
#include <vector>

#include "model/gpt.h"

namespace modelc {

template <class T>
std::vector<T> RandomGptParams(const GptConfig& c, uint32_t seed, double stddev,
                               bool ln_weights_exactly_one) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<T> p(GptParamCount(c));
  for (auto& x : p) x = (T)(n(g) * stddev);
  for (const auto& s : GptParamSpecs(c))
    if (s.init == ParamSpec::Init::kOnes)
      for (int64_t i = 0; i < s.size; ++i)
        p[s.offset + i] = ln_weights_exactly_one ? (T)1 : p[s.offset + i] + (T)1;
  return p;
}

}  // namespace modelc
