// Bit-reproducible elementary functions for the training path.
//
// modelc promises bit-identical training on any CPU, so nothing on the training
// path may call libm's transcendental functions (their results differ between
// libm versions and vendors). Every function here is built only from IEEE-754
// correctly rounded operations (+, -, *, /, sqrt, fma) and integer/bit
// manipulation, with a fixed evaluation order:
//
//  * Every fused multiply-add is written out as std::fma. The project builds
//    with -ffp-contract=off, so the compiler never fuses anything else. fma is
//    correctly rounded whether it becomes an instruction (files built with
//    -mfma) or a libm call (fma() is exact-by-specification, not an
//    approximation), so results are identical either way.
//  * Rounding mode must be the default round-to-nearest-even (the range
//    reductions use the 1.5*2^p "magic number" rounding trick). No other state
//    (FTZ/DAZ must be off) is assumed.
//  * Every function has internal linkage (`static inline`). This matters: the
//    header is included both by baseline files and by files compiled with
//    -mavx2/-mavx512f. With plain `inline` (external linkage), a copy that
//    the compiler did not inline would be emitted as a COMDAT by each TU and
//    the linker would keep an arbitrary one, so baseline code could end up
//    calling an AVX-512 copy (SIGILL on older CPUs). `static` gives every TU
//    its own copy compiled with its own flags.
//  * Everything is scalar, branch-free (bit-mask selects instead of
//    branches, so loops calling exp/log/tanh/gelu auto-vectorise, e.g. at -O3
//    with -mavx2 -mfma), and has no lookup tables. Only cos (LR schedule, not a
//    hot loop) branches.
//
// Accuracy (max error over the whole input range, measured against glibc in
// higher precision by tests/mathfn_test.cpp; see that file for the numbers):
//   bound (asserted)   measured
//   float  exp   2 ulp     0.99 ulp      float  log  2 ulp   0.82 ulp
//   float  tanh  3 ulp     1.31 ulp
//   double exp   2 ulp     0.90 ulp      double log  2 ulp   0.83 ulp
//   double cos   2 ulp     0.75 ulp (on [0, pi])
//   double sincos 2 ulp    0.77 ulp (sin and cos, on |x| < 2^20)
// Results are bit-identical at -O0/-O2/-O3, with or without -mfma/-mavx2/
// -mavx512f, scalar or auto-vectorised (checked when this file was written;
// tests/mathfn_test.cpp pins a hash of the outputs).
//
// Polynomial coefficients: the float kernels use the Cephes single-precision
// minimax coefficients (expf, logf, tanhf); the double kernels use the fdlibm
// (Sun Microsystems, freely redistributable) coefficients for exp, log and the
// sin/cos kernels on [-pi/4, pi/4].
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace modelc::mathfn {

namespace detail {

static inline float FloatFromBits(uint32_t u) { return std::bit_cast<float>(u); }
static inline uint32_t BitsFromFloat(float f) { return std::bit_cast<uint32_t>(f); }
static inline double DoubleFromBits(uint64_t u) { return std::bit_cast<double>(u); }
static inline uint64_t BitsFromDouble(double d) { return std::bit_cast<uint64_t>(d); }

// Branch-free selects: c ? a : b through bit masks. Plain `c ? a : b` on
// floats is turned into a branch by GCC under the default -ftrapping-math,
// which blocks auto-vectorisation of loops calling these functions.
static inline float Select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return FloatFromBits((BitsFromFloat(a) & m) | (BitsFromFloat(b) & ~m));
}
static inline double Select(bool c, double a, double b) {
  const uint64_t m = 0u - static_cast<uint64_t>(c);
  return DoubleFromBits((BitsFromDouble(a) & m) | (BitsFromDouble(b) & ~m));
}

}  // namespace detail

// ---------------------------------------------------------------------------
// float exp
// ---------------------------------------------------------------------------
// x = k*ln2 + r, |r| <= ln2/2 (+ a hair), k = round(x/ln2) via the magic
// constant 1.5*2^23. ln2 is split Cody-Waite style into C1 = 0.693359375 (9
// significant bits, so k*C1 is exact and x - k*C1 is exact by Sterbenz) and
// C2 = ln2 - C1. e^r = 1 + r + r^2*P(r) (Cephes degree-5 P). The result is
// scaled by 2^k as 2^(k>>1) * 2^(k - (k>>1)); both factors are normal floats
// for every k in [-151, 129], so overflow to +inf and gradual underflow
// (denormal results, correctly rounded from p*2^k) come out of the final
// multiply without special cases.
//   x >= 88.7228394 (0x42b17218) -> +inf, x <= -103.972 -> +0 (denormals in
//   between), NaN -> NaN, -inf -> 0, +inf -> inf.
static inline float exp(float x) {
  // Clamp (NaN compares false and passes through unchanged). The clamped
  // values still overflow / underflow naturally below.
  x = detail::Select(x > 89.0f, 89.0f, x);
  x = detail::Select(x < -104.0f, -104.0f, x);

  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kC1 = 0.693359375f;
  constexpr float kC2 = -2.12194440e-4f;

  const float t = x * kLog2e + kMagic;  // round(x/ln2) in the low mantissa bits
  const float kf = t - kMagic;          // exact
  // k as an integer straight from the bits (|k| < 2^22). Unsigned arithmetic:
  // for NaN inputs the value is garbage but no UB, and the NaN propagates.
  const int32_t k = static_cast<int32_t>(detail::BitsFromFloat(t) - detail::BitsFromFloat(kMagic));

  float r = x - kf * kC1;      // exact
  r = std::fma(-kf, kC2, r);   // r -= kf*C2, single rounding

  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  const float r2 = r * r;
  float y = std::fma(p, r2, r);
  y = y + 1.0f;

  const int32_t k1 = k >> 1;  // arithmetic shift (defined in C++20)
  const int32_t k2 = k - k1;
  const float s1 = detail::FloatFromBits(static_cast<uint32_t>(k1 + 127) << 23);
  const float s2 = detail::FloatFromBits(static_cast<uint32_t>(k2 + 127) << 23);
  return (y * s1) * s2;
}

// ---------------------------------------------------------------------------
// float log
// ---------------------------------------------------------------------------
// x = m * 2^e with m in [sqrt(2)/2, sqrt(2)); f = m - 1 (exact);
// log(1+f) = f - f^2/2 + f^3*P(f) (Cephes degree-8 P); log x = log(1+f) + e*ln2
// with ln2 split as in exp. Denormal inputs are pre-scaled by 2^23.
//   log(+-0) = -inf, log(x<0) = NaN, log(+inf) = +inf, log(NaN) = NaN.
static inline float log(float x) {
  const bool sub = x < 0x1p-126f;  // denormal (also true for 0 / negatives: fixed below)
  const float xs = detail::Select(sub, x * 0x1p23f, x);
  const int32_t eadj = 23 & -static_cast<int32_t>(sub);

  const uint32_t ix = detail::BitsFromFloat(xs);
  int32_t e = static_cast<int32_t>((ix >> 23) & 0xffu) - 126 - eadj;  // xs = m * 2^e, m in [0.5,1)
  float m = detail::FloatFromBits((ix & 0x007fffffu) | 0x3f000000u);
  const bool lo = m < 0.707106781186547524f;
  m = detail::Select(lo, m + m, m);  // exact; m now in [sqrt(2)/2, sqrt(2))
  e -= static_cast<int32_t>(lo);
  const float f = m - 1.0f;  // exact (Sterbenz)
  const float ef = static_cast<float>(e);

  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = std::fma(p, f, -1.1514610310e-1f);
  p = std::fma(p, f, 1.1676998740e-1f);
  p = std::fma(p, f, -1.2420140846e-1f);
  p = std::fma(p, f, 1.4249322787e-1f);
  p = std::fma(p, f, -1.6668057665e-1f);
  p = std::fma(p, f, 2.0000714765e-1f);
  p = std::fma(p, f, -2.4999993993e-1f);
  p = std::fma(p, f, 3.3333331174e-1f);
  float y = (p * f) * z;
  y = std::fma(ef, -2.12194440e-4f, y);
  y = std::fma(-0.5f, z, y);
  float r = f + y;
  r = std::fma(ef, 0.693359375f, r);

  constexpr float kInf = std::numeric_limits<float>::infinity();
  r = detail::Select(x < 0.0f, std::numeric_limits<float>::quiet_NaN(), r);
  r = detail::Select(x == 0.0f, -kInf, r);
  r = detail::Select(x == kInf, kInf, r);
  r = detail::Select(x != x, x, r);  // NaN in -> NaN out
  return r;
}

// ---------------------------------------------------------------------------
// float tanh
// ---------------------------------------------------------------------------
// |x| < 0.625: x + x^3*P(x^2) (Cephes degree-4 P).
// |x| >= 0.625: 1 - 2/(exp(2|x|) + 1), |x| clamped to 9.5 first (tanh rounds
// to exactly 1.0f for |x| > 9.0109, so the result saturates to +-1 there).
// Sign restored by copying x's sign bit. Both branches are always computed and
// a select picks one (no data-dependent branch). tanh(+-0) = +-0, NaN -> NaN.
static inline float tanh(float x) {
  const uint32_t ux = detail::BitsFromFloat(x);
  const uint32_t sign = ux & 0x80000000u;
  const float ax = detail::FloatFromBits(ux & 0x7fffffffu);

  // Large branch.
  const float axc = detail::Select(ax > 9.5f, 9.5f, ax);  // NaN passes through
  const float e = exp(axc + axc);
  const float big = 1.0f - 2.0f / (e + 1.0f);

  // Small branch.
  const float z = ax * ax;
  float p = -5.70498872745e-3f;
  p = std::fma(p, z, 2.06390887954e-2f);
  p = std::fma(p, z, -5.37397155531e-2f);
  p = std::fma(p, z, 1.33314422036e-1f);
  p = std::fma(p, z, -3.33332819422e-1f);
  const float small = std::fma(p * z, ax, ax);

  const float r = detail::Select(ax < 0.625f, small, big);
  return detail::FloatFromBits(detail::BitsFromFloat(r) | sign);
}

// ---------------------------------------------------------------------------
// GELU, tanh approximation (as in GPT-2):
//   gelu(x) = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// Fixed evaluation order (no fma, each step rounded to float):
//   x3    = (x * x) * x
//   inner = kSqrt2OverPi * (x + 0.044715f * x3)
//   t     = mathfn::tanh(inner)
//   out   = (0.5f * x) * (1.0f + t)
// with kSqrt2OverPi = 0.7978845608028654f (float nearest to sqrt(2/pi)).
// gelu(+inf) = +inf; gelu(-inf) = NaN (inf * 0); NaN -> NaN.
// ---------------------------------------------------------------------------
inline constexpr float kGeluSqrt2OverPi = 0.7978845608028654f;
inline constexpr float kGeluCoef = 0.044715f;

static inline float gelu_tanh(float x) {
  const float x3 = (x * x) * x;
  const float inner = kGeluSqrt2OverPi * (x + kGeluCoef * x3);
  const float t = tanh(inner);
  return (0.5f * x) * (1.0f + t);
}

// d/dx gelu_tanh(x), for the backward pass. Fixed evaluation order:
//   x2     = x * x
//   inner  = kSqrt2OverPi * (x + 0.044715f * (x2 * x))      (same as forward)
//   t      = mathfn::tanh(inner)
//   dinner = kSqrt2OverPi * (1.0f + 0.134145f * x2)          (0.134145 = 3*0.044715)
//   out    = 0.5f * (1.0f + t) + (0.5f * x) * ((1.0f - t * t) * dinner)
static inline float gelu_tanh_grad(float x) {
  const float x2 = x * x;
  const float inner = kGeluSqrt2OverPi * (x + kGeluCoef * (x2 * x));
  const float t = tanh(inner);
  const float dinner = kGeluSqrt2OverPi * (1.0f + 0.134145f * x2);
  return 0.5f * (1.0f + t) + (0.5f * x) * ((1.0f - t * t) * dinner);
}

// ---------------------------------------------------------------------------
// double exp (fdlibm e_exp.c algorithm, branch-free special cases)
// ---------------------------------------------------------------------------
// x = k*ln2 + r, ln2 = ln2HI (32 significant bits, k*ln2HI exact) + ln2LO.
// c = r - r^2*P(r^2); e^r = 1 - ((lo - r*c/(2-c)) - hi). Scaled by
// 2^(k>>1) * 2^(k-(k>>1)) (both factors normal for k in [-1077, 1025]).
//   x > 709.782712893384 -> +inf, x < -745.1332191019412 -> 0, NaN -> NaN.
static inline double exp(double x) {
  x = detail::Select(x > 710.0, 710.0, x);
  x = detail::Select(x < -746.0, -746.0, x);

  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  constexpr double kInvLn2 = 1.44269504088896338700e+00;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42 fee00000
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef 35793c76
  constexpr double P1 = 1.66666666666666019037e-01;
  constexpr double P2 = -2.77777777770155933842e-03;
  constexpr double P3 = 6.61375632143793436117e-05;
  constexpr double P4 = -1.65339022054652515390e-06;
  constexpr double P5 = 4.13813679705723846039e-08;

  const double t = x * kInvLn2 + kMagic;
  const double kd = t - kMagic;
  const int64_t k = static_cast<int64_t>(detail::BitsFromDouble(t) - detail::BitsFromDouble(kMagic));

  const double hi = x - kd * kLn2Hi;  // exact
  const double lo = kd * kLn2Lo;
  const double r = hi - lo;
  const double z = r * r;
  double p = P5;
  p = std::fma(p, z, P4);
  p = std::fma(p, z, P3);
  p = std::fma(p, z, P2);
  p = std::fma(p, z, P1);
  const double c = std::fma(-z, p, r);  // r - z*P(z)
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);

  const int64_t k1 = k >> 1;
  const int64_t k2 = k - k1;
  const double s1 = detail::DoubleFromBits(static_cast<uint64_t>(k1 + 1023) << 52);
  const double s2 = detail::DoubleFromBits(static_cast<uint64_t>(k2 + 1023) << 52);
  return (y * s1) * s2;
}

// ---------------------------------------------------------------------------
// double log (fdlibm e_log.c algorithm)
// ---------------------------------------------------------------------------
// x = 2^k * (1+f), 1+f in [sqrt(2)/2, sqrt(2)); s = f/(2+f);
// log(1+f) = f - hfsq + s*(hfsq + R(s^2)), hfsq = f^2/2.
//   log(+-0) = -inf, log(x<0) = NaN, log(+inf) = +inf, log(NaN) = NaN.
static inline double log(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double Lg1 = 6.666666666666735130e-01;
  constexpr double Lg2 = 3.999999999940941908e-01;
  constexpr double Lg3 = 2.857142874366239149e-01;
  constexpr double Lg4 = 2.222219843214978396e-01;
  constexpr double Lg5 = 1.818357216161805012e-01;
  constexpr double Lg6 = 1.531383769920937332e-01;
  constexpr double Lg7 = 1.479819860511658591e-01;

  const bool sub = x < 0x1p-1022;
  const double xs = detail::Select(sub, x * 0x1p54, x);
  int64_t k = -54 & -static_cast<int64_t>(sub);

  const uint64_t ix = detail::BitsFromDouble(xs);
  uint32_t hx = static_cast<uint32_t>(ix >> 32);
  k += static_cast<int64_t>((hx >> 20) & 0x7ffu) - 1023;
  hx &= 0x000fffffu;
  // i = 0x100000 iff the mantissa is >= sqrt(2) (then use m/2, k+1).
  const uint32_t i = (hx + 0x95f64u) & 0x100000u;
  const uint64_t mbits = (static_cast<uint64_t>(hx | (i ^ 0x3ff00000u)) << 32) | (ix & 0xffffffffu);
  k += static_cast<int64_t>(i >> 20);
  const double f = detail::DoubleFromBits(mbits) - 1.0;  // exact
  const double dk = static_cast<double>(k);

  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * std::fma(w, std::fma(w, Lg6, Lg4), Lg2);
  const double t2 = z * std::fma(w, std::fma(w, std::fma(w, Lg7, Lg5), Lg3), Lg1);
  const double R = t2 + t1;
  const double hfsq = (0.5 * f) * f;
  double res = dk * kLn2Hi - ((hfsq - (s * (hfsq + R) + dk * kLn2Lo)) - f);

  constexpr double kInf = std::numeric_limits<double>::infinity();
  res = detail::Select(x < 0.0, std::numeric_limits<double>::quiet_NaN(), res);
  res = detail::Select(x == 0.0, -kInf, res);
  res = detail::Select(x == kInf, kInf, res);
  res = detail::Select(x != x, x, res);
  return res;
}

// ---------------------------------------------------------------------------
// double cos, for the cosine learning-rate schedule.
// ---------------------------------------------------------------------------
// REQUIRES: 0 <= x <= pi (as a double, i.e. x <= 3.141592653589793). Negative
// inputs are accepted via cos(-x) = cos(x) (so [-pi, pi] works); larger |x|
// gives unspecified (but deterministic) results. NaN -> NaN.
// Reduction (exact differences by Sterbenz; pi/2 and pi as hi+lo pairs):
//   [0, pi/4]      : cos(x)
//   (pi/4, 3pi/4]  :  sin(pi/2 - x)
//   (3pi/4, pi]    : -cos(pi - x)
// with fdlibm's __kernel_sin / __kernel_cos (argument given as hi + lo).
namespace detail {

// sin(x + y) for |x| <= pi/4, |y| <= ulp(x)/2 (fdlibm __kernel_sin, iy = 1).
static inline double KernelSin(double x, double y) {
  constexpr double S1 = -1.66666666666666324348e-01;
  constexpr double S2 = 8.33333333332248946124e-03;
  constexpr double S3 = -1.98412698298579493134e-04;
  constexpr double S4 = 2.75573137070700676789e-06;
  constexpr double S5 = -2.50507602534068634195e-08;
  constexpr double S6 = 1.58969099521155010221e-10;
  const double z = x * x;
  const double v = z * x;
  double r = S6;
  r = std::fma(r, z, S5);
  r = std::fma(r, z, S4);
  r = std::fma(r, z, S3);
  r = std::fma(r, z, S2);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

// cos(x + y) for |x| <= pi/4 (fdlibm __kernel_cos, newer FreeBSD form).
static inline double KernelCos(double x, double y) {
  constexpr double C1 = 4.16666666666666019037e-02;
  constexpr double C2 = -1.38888888888741095749e-03;
  constexpr double C3 = 2.48015872894767294178e-05;
  constexpr double C4 = -2.75573143513906633035e-07;
  constexpr double C5 = 2.08757232129817482790e-09;
  constexpr double C6 = -1.13596475577881948265e-11;
  const double z = x * x;
  double p = C6;
  p = std::fma(p, z, C5);
  p = std::fma(p, z, C4);
  p = std::fma(p, z, C3);
  p = std::fma(p, z, C2);
  p = std::fma(p, z, C1);
  const double r = z * p;
  const double hz = 0.5 * z;
  const double w = 1.0 - hz;
  return w + (((1.0 - w) - hz) + (z * r - x * y));
}

}  // namespace detail

static inline double cos(double x) {
  constexpr double kPio4 = 0.78539816339744830962;
  constexpr double k3Pio4 = 2.35619449019234492885;
  constexpr double kPio2Hi = 1.5707963267948966;        // 0x3ff921fb54442d18
  constexpr double kPio2Lo = 6.123233995736766036e-17;  // pi/2 - kPio2Hi
  constexpr double kPiHi = 3.141592653589793;           // 0x400921fb54442d18
  constexpr double kPiLo = 1.2246467991473532072e-16;   // pi - kPiHi

  x = x < 0.0 ? -x : x;
  if (x <= kPio4) return detail::KernelCos(x, 0.0);
  if (x <= k3Pio4) {
    const double d = kPio2Hi - x;  // exact
    const double hi = d + kPio2Lo;
    const double lo = (d - hi) + kPio2Lo;  // Fast2Sum (|d| >= |kPio2Lo| or d == 0)
    return detail::KernelSin(hi, lo);
  }
  if (x <= 4.0) {  // (3pi/4, pi] and a little beyond
    const double d = kPiHi - x;  // exact
    const double hi = d + kPiLo;
    const double lo = (d - hi) + kPiLo;
    return -detail::KernelCos(hi, lo);
  }
  return x - x;  // NaN for NaN/inf; outside the contract otherwise
}

// ---------------------------------------------------------------------------
// double sin and cos together, over a wide range (RoPE tables).
// ---------------------------------------------------------------------------
// REQUIRES: |x| < 2^20 (RoPE needs pos * theta^(-2i/d) < 65536). Larger |x|
// gives unspecified (but deterministic) results; NaN / inf -> NaN, NaN.
// Reduction, Cody-Waite with the constants of fdlibm's e_rem_pio2.c:
// n = round(|x| * 2/pi) (magic-number rounding, ties to even) and
//   r = |x| - n*P1 - n*P2 - n*P3 - n*P3t,   pi/2 = P1 + P2 + P3 + P3t,
// P1, P2, P3 of 33 significant bits each, so every n*Pk (n < 2^20) is exact,
// and |x| - n*P1 is exact. The two further subtractions keep their rounding
// errors (TwoSum, exact whatever the magnitudes), and the result is the pair
// y0 + y1 (Fast2Sum), good to ~100 bits relative even next to a multiple of
// pi/2. (fdlibm runs its 2nd and 3rd steps only after cancellation and drops
// the earlier error term there; running them always needs the errors kept,
// as here.) Then fdlibm's kernels on [-pi/4, pi/4] (+ a hair), the quadrant
// n mod 4:  0: ( sin r,  cos r)   1: ( cos r, -sin r)
//           2: (-sin r, -cos r)   3: (-cos r,  sin r)
// and sin(-x) = -sin(x) from the sign bit. Branch-free (selects, sign bits).
// Accuracy against glibc's sinl/cosl over |x| < 2^20: tests/mathfn_test.cpp.
// mathfn::cos above stays as it is (its bits are pinned for the LR schedule).
namespace detail {
// a - b = s + e exactly (Knuth's TwoSum, no condition on the magnitudes).
static inline void TwoDiff(double a, double b, double* s, double* e) {
  const double d = a - b;
  const double bb = d - a;  // ~ -b
  *s = d;
  *e = (a - (d - bb)) - (b + bb);
}
}  // namespace detail

static inline void sincos(double x, double* s, double* c) {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  const double kInvPio2 = detail::DoubleFromBits(0x3FE45F306DC9C883ull);  // 2/pi
  const double kP1 = detail::DoubleFromBits(0x3FF921FB54400000ull);   // pio2_1: 33 bits of pi/2
  const double kP2 = detail::DoubleFromBits(0x3DD0B4611A600000ull);   // pio2_2: the next 33
  const double kP3 = detail::DoubleFromBits(0x3BA3198A2E000000ull);   // pio2_3: the next 33
  const double kP3t = detail::DoubleFromBits(0x397B839A252049C1ull);  // pio2_3t: the rest

  const uint64_t sign = detail::BitsFromDouble(x) & 0x8000000000000000ull;
  const double ax = detail::DoubleFromBits(detail::BitsFromDouble(x) & 0x7fffffffffffffffull);

  const double t = ax * kInvPio2 + kMagic;
  const double fn = t - kMagic;  // round(|x| * 2/pi), an exact integer
  const uint64_t n = detail::BitsFromDouble(t) - detail::BitsFromDouble(kMagic);  // garbage for NaN/inf

  const double a = ax - fn * kP1;  // exact
  double r2, e2, r3, e3;
  detail::TwoDiff(a, fn * kP2, &r2, &e2);
  detail::TwoDiff(r2, fn * kP3, &r3, &e3);
  const double tail = (e2 + e3) - fn * kP3t;
  const double y0 = r3 + tail;
  const double y1 = (r3 - y0) + tail;

  const double ks = detail::KernelSin(y0, y1);
  const double kc = detail::KernelCos(y0, y1);
  const bool odd = (n & 1u) != 0;
  double sv = detail::Select(odd, kc, ks);
  double cv = detail::Select(odd, ks, kc);
  // sin is negative in quadrants 2 and 3, cos in quadrants 1 and 2.
  const uint64_t ssign = ((n & 2u) << 62) ^ sign;
  const uint64_t csign = ((n + 1u) & 2u) << 62;
  sv = detail::DoubleFromBits(detail::BitsFromDouble(sv) ^ ssign);
  cv = detail::DoubleFromBits(detail::BitsFromDouble(cv) ^ csign);
  *s = sv;
  *c = cv;
}

}  // namespace modelc::mathfn
