// Element-wise kernels compiled for avx512 (see vec.h).
#include <cstdint>
#include "kernels/mathfn.h"  // before the namespaces below: its static inline functions are compiled per file

namespace modelc {
namespace vec_avx512 {
#include "kernels/vec_impl.h"
}  // namespace vec_avx512

void VecGeluForward_avx512(float* out, const float* in, int64_t n) { vec_avx512::GeluForwardImpl(out, in, n); }
void VecGeluBackwardAcc_avx512(float* d, const float* x, const float* g, int64_t n) {
  vec_avx512::GeluBackwardAccImpl(d, x, g, n);
}
void VecExpScaled_avx512(float* x, int64_t n, float scale, float sub) { vec_avx512::ExpScaledImpl(x, n, scale, sub); }
void VecSwiGluForward_avx512(float* out, const float* g, const float* u, int64_t n) {
  vec_avx512::SwiGluForwardImpl(out, g, u, n);
}
void VecSwiGluBackwardAcc_avx512(float* dg, float* du, const float* d, const float* g, const float* u, int64_t n) {
  vec_avx512::SwiGluBackwardAccImpl(dg, du, d, g, u, n);
}

}  // namespace modelc
