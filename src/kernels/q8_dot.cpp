#include "kernels/q8_dot.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "kernels/isa.h"

namespace modelc {

uint16_t FloatToHalf(float f) {
  const uint32_t b = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const uint32_t a = b & 0x7fffffffu;
  if (a >= 0x7f800000u)  // inf, NaN (keep a quiet NaN with the top payload bits)
    return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520: rounds to infinity
  if (a < 0x38800000u) {
    // Below 2^-14: a half subnormal, in units of 2^-24. a * 2^24 < 2^10 is
    // exact; adding 2^23 rounds it to an integer, to nearest even.
    const float scaled = std::bit_cast<float>(a) * 16777216.0f;
    const float r = (scaled + 8388608.0f) - 8388608.0f;
    return (uint16_t)(sign | (uint32_t)r);  // r == 1024 is the smallest normal: same encoding
  }
  const uint32_t mant = a & 0x7fffffu;
  const uint32_t exp = (a >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves into the exponent
  return (uint16_t)(sign | h);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24, exact in float
    const float v = (float)mant * (1.0f / 16777216.0f);
    return std::bit_cast<float>(std::bit_cast<uint32_t>(v) | sign);
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

namespace {

// C roundf (halves away from zero) for |v| well inside int range, without
// libm; NaN gives 0 and the result is clamped to the int8 quant range.
int8_t RoundQuant(float v) {
  // Branch-free (the compiler vectorizes the block loop): the same values as
  // clamping, truncating and stepping away from zero on a half or more.
  const bool nan = !(v == v);
  v = v < -127.0f ? -127.0f : v;
  v = v > 127.0f ? 127.0f : v;
  v = nan ? 0.0f : v;
  int i = (int)v;                   // toward zero
  const float frac = v - (float)i;  // exact
  i += (int)(frac >= 0.5f) - (int)(frac <= -0.5f);
  return (int8_t)i;
}

}  // namespace

void QuantizeBlockQ8_0(const float* x, uint8_t* out) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8Block; ++j) {
    const float a = x[j] < 0 ? -x[j] : x[j];
    amax = amax > a ? amax : a;  // ggml's MAX(amax, fabsf(v))
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t dh = FloatToHalf(d);
  std::memcpy(out, &dh, 2);
  for (int j = 0; j < kQ8Block; ++j) out[2 + j] = (uint8_t)RoundQuant(x[j] * id);
}

void QuantizeRowQ8_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ8Block; ++b)
    QuantizeBlockQ8_0(x + b * kQ8Block, out + b * kQ8BlockBytes);
}

void DequantizeRowQ8_0(const uint8_t* in, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* blk = in + b * kQ8BlockBytes;
    uint16_t dh;
    std::memcpy(&dh, blk, 2);
    const float d = HalfToFloat(dh);
    for (int j = 0; j < kQ8Block; ++j) out[b * kQ8Block + j] = d * (float)(int8_t)blk[2 + j];
  }
}

void QuantizeActivationQ8(const float* x, int K, int8_t* q, float* d) {
  uint8_t blk[kQ8BlockBytes];
  for (int b = 0; b < K / kQ8Block; ++b) {
    QuantizeBlockQ8_0(x + b * kQ8Block, blk);
    uint16_t dh;
    std::memcpy(&dh, blk, 2);
    d[b] = HalfToFloat(dh);
    std::memcpy(q + b * kQ8Block, blk + 2, kQ8Block);
  }
}

Q8Matrix PackQ8Matrix(const uint8_t* blocks, int N, int K) {
  Q8Matrix m;
  m.N = N;
  m.K = K;
  m.nb = K / kQ8Block;
  m.np = (N + kQ8PanelRows - 1) / kQ8PanelRows;
  m.q.assign((size_t)m.np * m.nb * 512, 0);
  m.d.assign((size_t)m.np * m.nb * 16, 0.0f);
  m.sum.assign((size_t)m.np * m.nb * 16, 0);
  for (int n = 0; n < N; ++n) {
    const int p = n / kQ8PanelRows, r = n % kQ8PanelRows;
    for (int b = 0; b < m.nb; ++b) {
      const uint8_t* blk = blocks + ((size_t)n * m.nb + b) * kQ8BlockBytes;
      uint16_t dh;
      std::memcpy(&dh, blk, 2);
      const size_t sb = ((size_t)p * m.nb + b) * 16 + r;
      m.d[sb] = HalfToFloat(dh);
      int32_t s = 0;
      for (int j = 0; j < kQ8Block; ++j) {
        const int8_t v = (int8_t)blk[2 + j];
        s += v;
        const int g = j / 4, i = j % 4;
        m.q[(((size_t)p * m.nb + b) * 8 + g) * 64 + r * 4 + i] = v;
      }
      m.sum[sb] = s;
    }
  }
  return m;
}

void Q8PanelDotScalar(int nb, const int8_t* wq, const float* wd, const int32_t* wsum,
                      const int8_t* xq, const float* xd, float* out16) {
  for (int r = 0; r < kQ8PanelRows; ++r) {
    float acc = 0.0f;
    for (int b = 0; b < nb; ++b) {
      int32_t isum = 0;
      for (int j = 0; j < kQ8Block; ++j)
        isum += (int32_t)wq[((size_t)(b * 8 + j / 4) * 16 + r) * 4 + j % 4] * (int32_t)xq[b * 32 + j];
      const float s = wd[b * 16 + r] * xd[b];
      const float t = (float)isum * s;
      acc = acc + t;
    }
    out16[r] = acc;
  }
}

const char* Q8KernelName(Q8Kernel k) {
  switch (k) {
    case Q8Kernel::kScalar: return "scalar";
    case Q8Kernel::kAvx2: return "avx2";
    case Q8Kernel::kAvx512: return "avx512";
    case Q8Kernel::kAvx512Vnni: return "avx512-vnni";
  }
  return "?";
}

bool Q8KernelAvailable(Q8Kernel k) {
  const int best = (int)BestAvailableIsa();
  switch (k) {
    case Q8Kernel::kScalar: return true;
    case Q8Kernel::kAvx2: return best >= (int)Isa::kAvx2;
    case Q8Kernel::kAvx512: return best >= (int)Isa::kAvx512;
    case Q8Kernel::kAvx512Vnni:
#if defined(MODELC_HAVE_AVX512)
      __builtin_cpu_init();
      return best >= (int)Isa::kAvx512 && __builtin_cpu_supports("avx512vnni");
#else
      return false;
#endif
  }
  return false;
}

Q8PanelKernel Q8KernelFn(Q8Kernel k) {
  switch (k) {
    case Q8Kernel::kAvx512Vnni:
#if defined(MODELC_HAVE_AVX512)
      return Q8PanelDotAvx512Vnni;
#endif
      [[fallthrough]];
    case Q8Kernel::kAvx512:
#if defined(MODELC_HAVE_AVX512)
      return Q8PanelDotAvx512;
#endif
      [[fallthrough]];
    case Q8Kernel::kAvx2:
#if defined(MODELC_HAVE_AVX2)
      return Q8PanelDotAvx2;
#endif
      [[fallthrough]];
    default: return Q8PanelDotScalar;
  }
}

Q8Kernel ActiveQ8Kernel() {
  static const Q8Kernel k = [] {
    switch (ActiveIsa()) {
      case Isa::kAvx512:
        return Q8KernelAvailable(Q8Kernel::kAvx512Vnni) ? Q8Kernel::kAvx512Vnni : Q8Kernel::kAvx512;
      case Isa::kAvx2: return Q8Kernel::kAvx2;
      default: return Q8Kernel::kScalar;
    }
  }();
  return k;
}

void Q8MatVecPanels(const Q8Matrix& W, int p0, int p1, const int8_t* xq, const float* xd,
                    float* out, Q8PanelKernel fn) {
  float tile[kQ8PanelRows];
  for (int p = p0; p < p1; ++p) {
    fn(W.nb, W.panel_q(p), W.panel_d(p), W.panel_sum(p), xq, xd, tile);
    const int n = std::min(kQ8PanelRows, W.N - p * kQ8PanelRows);
    std::copy(tile, tile + n, out + (size_t)p * kQ8PanelRows);
  }
}

}  // namespace modelc
