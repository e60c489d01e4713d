// exp / log / tanh overloads for the layer templates: the project's own
// implementations (kernels/mathfn.h) for float and double, never libm.
#pragma once
#include "kernels/mathfn.h"

namespace modelc {

inline float Exp(float x) { return mathfn::exp(x); }
inline double Exp(double x) { return mathfn::exp(x); }
inline float Log(float x) { return mathfn::log(x); }
inline double Log(double x) { return mathfn::log(x); }
inline float Tanh(float x) { return mathfn::tanh(x); }
// Double tanh from the own double exp (reference and finite-difference tests).
inline double Tanh(double x) {
  const double a = x < 0 ? -x : x;
  if (a > 20) return x < 0 ? -1.0 : 1.0;
  if (a < 0.01) {
    const double x2 = x * x;  // Taylor series, error < 1e-18
    return x * (1 - x2 * (1.0 / 3 - x2 * (2.0 / 15 - x2 * (17.0 / 315))));
  }
  const double e = mathfn::exp(2 * x);
  return (e - 1) / (e + 1);
}

}  // namespace modelc
