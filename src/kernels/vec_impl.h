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
