// Element-wise float kernels with run-time ISA dispatch. The same source
// (vec_impl.h) is compiled once per ISA; each element follows the same
// operations in the same order (explicit fma, no contraction), so every ISA
// gives bit-identical results — only the speed differs.
#pragma once
#include <cstdint>

namespace modelc {

// out[i] = mathfn::gelu_tanh(in[i])
void VecGeluForward(float* out, const float* in, int64_t n);
// dinp[i] += mathfn::gelu_tanh_grad(inp[i]) * dout[i]
void VecGeluBackwardAcc(float* dinp, const float* inp, const float* dout, int64_t n);
// x[i] = mathfn::exp(x[i] * scale - sub)
void VecExpScaled(float* x, int64_t n, float scale, float sub);
// out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + mathfn::exp(-g))
void VecSwiGluForward(float* out, const float* gate, const float* up, int64_t n);
// dgate[i] += dout[i] * up[i] * silu'(gate[i]);  dup[i] += dout[i] * silu(gate[i])
void VecSwiGluBackwardAcc(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                          int64_t n);

}  // namespace modelc
