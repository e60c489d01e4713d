// Body of the element-wise kernels; included by vec.cpp (baseline),
// vec_avx2.cpp and vec_avx512.cpp inside a namespace of their own. Plain
// loops over static inline functions: nothing with external linkage is
// instantiated here (see gemm_ukernels.h for why that matters).
// (kernels/mathfn.h is included first by the including file.)

static void GeluForwardImpl(float* out, const float* in, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = modelc::mathfn::gelu_tanh(in[i]);
}
static void GeluBackwardAccImpl(float* dinp, const float* inp, const float* dout, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dinp[i] += modelc::mathfn::gelu_tanh_grad(inp[i]) * dout[i];
}
static void ExpScaledImpl(float* x, int64_t n, float scale, float sub) {
  for (int64_t i = 0; i < n; ++i) x[i] = modelc::mathfn::exp(x[i] * scale - sub);
}
// SwiGLU (layers/swiglu.cpp): out = silu(g) * up, silu(g) = g * sigmoid(g).
static void SwiGluForwardImpl(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sg = 1.0f / (1.0f + modelc::mathfn::exp(-g));
    out[i] = (g * sg) * up[i];
  }
}
// dgate += dout * up * silu'(g), dup += dout * silu(g); silu' = s (1 + g (1 - s)).
static void SwiGluBackwardAccImpl(float* dgate, float* dup, const float* dout, const float* gate,
                                  const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sg = 1.0f / (1.0f + modelc::mathfn::exp(-g));
    const float silu = g * sg;
    const float dsilu = sg * (1.0f + g * (1.0f - sg));
    dgate[i] += (dout[i] * up[i]) * dsilu;
    dup[i] += dout[i] * silu;
  }
}
