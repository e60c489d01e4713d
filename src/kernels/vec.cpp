#include "kernels/vec.h"
#include "kernels/mathfn.h"  // before the namespaces below: its static inline functions are compiled per file

#include "kernels/isa.h"

namespace modelc {

namespace vec_scalar {
#include "kernels/vec_impl.h"
}  // namespace vec_scalar

// Defined in vec_avx2.cpp / vec_avx512.cpp, which are only built when the
// kernel set has that ISA (MODELC_HAVE_AVX2 / MODELC_HAVE_AVX512).
void VecGeluForward_avx2(float*, const float*, int64_t);
void VecGeluBackwardAcc_avx2(float*, const float*, const float*, int64_t);
void VecExpScaled_avx2(float*, int64_t, float, float);
void VecSwiGluForward_avx2(float*, const float*, const float*, int64_t);
void VecSwiGluBackwardAcc_avx2(float*, float*, const float*, const float*, const float*, int64_t);
void VecGeluForward_avx512(float*, const float*, int64_t);
void VecGeluBackwardAcc_avx512(float*, const float*, const float*, int64_t);
void VecExpScaled_avx512(float*, int64_t, float, float);
void VecSwiGluForward_avx512(float*, const float*, const float*, int64_t);
void VecSwiGluBackwardAcc_avx512(float*, float*, const float*, const float*, const float*, int64_t);

namespace {
struct VecTable {
  void (*gelu_fwd)(float*, const float*, int64_t);
  void (*gelu_bwd)(float*, const float*, const float*, int64_t);
  void (*exp_scaled)(float*, int64_t, float, float);
  void (*swiglu_fwd)(float*, const float*, const float*, int64_t);
  void (*swiglu_bwd)(float*, float*, const float*, const float*, const float*, int64_t);
};
const VecTable& Table() {
  static const VecTable t = [] {
    switch (ActiveIsa()) {
      // ActiveIsa() is never an ISA that is not compiled in; fall through anyway.
      case Isa::kAvx512:
#if defined(MODELC_HAVE_AVX512)
        return VecTable{VecGeluForward_avx512, VecGeluBackwardAcc_avx512, VecExpScaled_avx512,
                        VecSwiGluForward_avx512, VecSwiGluBackwardAcc_avx512};
#endif
        [[fallthrough]];
      case Isa::kAvx2:
#if defined(MODELC_HAVE_AVX2)
        return VecTable{VecGeluForward_avx2, VecGeluBackwardAcc_avx2, VecExpScaled_avx2, VecSwiGluForward_avx2,
                        VecSwiGluBackwardAcc_avx2};
#endif
        [[fallthrough]];
      default: return VecTable{vec_scalar::GeluForwardImpl, vec_scalar::GeluBackwardAccImpl, vec_scalar::ExpScaledImpl,
                              vec_scalar::SwiGluForwardImpl, vec_scalar::SwiGluBackwardAccImpl};
    }
  }();
  return t;
}
}  // namespace

void VecGeluForward(float* out, const float* in, int64_t n) { Table().gelu_fwd(out, in, n); }
void VecGeluBackwardAcc(float* d, const float* x, const float* g, int64_t n) { Table().gelu_bwd(d, x, g, n); }
void VecExpScaled(float* x, int64_t n, float scale, float sub) { Table().exp_scaled(x, n, scale, sub); }
void VecSwiGluForward(float* out, const float* g, const float* u, int64_t n) { Table().swiglu_fwd(out, g, u, n); }
void VecSwiGluBackwardAcc(float* dg, float* du, const float* d, const float* g, const float* u, int64_t n) {
  Table().swiglu_bwd(dg, du, d, g, u, n);
}

}  // namespace modelc
