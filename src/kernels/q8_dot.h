// ggml's Q8_0 format (blocks of 32 values: an fp16 scale d and 32 int8
// quants q, value = d * q) and int8 matrix-vector kernels over it.
//
// Block format (34 bytes, as ggml's block_q8_0 and docs/gguf.md):
//   bytes 0..1   d, IEEE binary16, little-endian
//   bytes 2..33  q[0..31], int8
// Quantization is ggml's reference (quantize_row_q8_0_ref), so modelc writes
// the same bytes as llama.cpp's quantizer for the same floats:
//   amax = max_j |x[j]|;  d = amax / 127;  id = d != 0 ? 1 / d : 0
//   stored scale = fp16(d) (round to nearest even)
//   q[j] = round(x[j] * id), halves away from zero (C roundf)
// (note: q uses the unrounded d; the file stores fp16(d)).
//
// The engine quantizes each activation row to Q8_0 the same way (as
// llama.cpp does for its q8_0 x q8_0 dot) and the kernels compute the dot
// products with integer arithmetic per block; see q8_ukernels.h for the exact
// formula that every ISA follows bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/q8_ukernels.h"

namespace modelc {

// IEEE binary16 <-> float. FloatToHalf rounds to nearest even (overflow to
// infinity, subnormals kept, NaN stays NaN); HalfToFloat is exact.
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// One 32-value block as ggml's quantize_row_q8_0_ref, into 34 bytes.
// Non-finite inputs give an unspecified (but deterministic) block; callers
// that care (modelc quantize) reject them first.
void QuantizeBlockQ8_0(const float* x, uint8_t* out34);
// REQUIRES: n % 32 == 0. n / 32 blocks (n / 32 * 34 bytes) into out.
void QuantizeRowQ8_0(const float* x, int64_t n, uint8_t* out);
// REQUIRES: n % 32 == 0. out[i] = fp16-decoded d * q, in block order.
void DequantizeRowQ8_0(const uint8_t* in, int64_t n, float* out);

// An activation row for the kernels: q[K] in [-127, 127], d[K / 32] (each
// block's fp16 scale, decoded). Same numbers as QuantizeRowQ8_0.
// REQUIRES: K % 32 == 0.
void QuantizeActivationQ8(const float* x, int K, int8_t* q, float* d);

// A Q8_0 weight matrix W [N, K] (out = W · x) in the kernels' panel layout
// (see q8_ukernels.h): np = ceil(N / 16) panels of nb = K / 32 blocks.
struct Q8Matrix {
  int N = 0, K = 0, nb = 0, np = 0;
  std::vector<int8_t> q;     // [np][nb][8][16][4]
  std::vector<float> d;      // [np][nb][16]
  std::vector<int32_t> sum;  // [np][nb][16]
  const int8_t* panel_q(int p) const { return q.data() + (size_t)p * nb * 512; }
  const float* panel_d(int p) const { return d.data() + (size_t)p * nb * 16; }
  const int32_t* panel_sum(int p) const { return sum.data() + (size_t)p * nb * 16; }
};
// blocks: ggml Q8_0 data of W, row-major (row n = K / 32 consecutive blocks).
// REQUIRES: K % 32 == 0, N >= 1.
Q8Matrix PackQ8Matrix(const uint8_t* blocks, int N, int K);

// The kernel implementations. Avx512Vnni uses vpdpbusd; Avx2 and Avx512 use
// vpmaddubsw/vpmaddwd. All give identical bits (tests/quantize_test.cpp).
enum class Q8Kernel { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };
const char* Q8KernelName(Q8Kernel k);
// Compiled into this binary and supported by this CPU.
bool Q8KernelAvailable(Q8Kernel k);
// REQUIRES: Q8KernelAvailable(k).
Q8PanelKernel Q8KernelFn(Q8Kernel k);
// The kernel for ActiveIsa(): AVX-512 uses VNNI when the CPU has it.
Q8Kernel ActiveQ8Kernel();

// out[n] = sum over panels of the kernel for rows [0, N) (no bias), one row
// of activations. Single-threaded; callers split panels across threads.
void Q8MatVecPanels(const Q8Matrix& W, int p0, int p1, const int8_t* xq, const float* xd,
                    float* out, Q8PanelKernel fn);

}  // namespace modelc
