// Random test vectors and small helpers shared by the layer tests.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace modelc {
namespace testvec {

// n values uniform in [lo, hi) from a fixed seed.
inline std::vector<double> Rand(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

inline std::vector<float> ToF(const std::vector<double>& v) { return {v.begin(), v.end()}; }

inline double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace testvec
}  // namespace modelc
