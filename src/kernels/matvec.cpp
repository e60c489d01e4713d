#include "kernels/matvec.h"

#include <algorithm>
#include <cmath>

#include "kernels/gemm_ukernels.h"

namespace modelc {

void MatVecScalar_8(int K, int N, int p0, int p1, const float* x, const float* panels, long ldp,
                    const float* bias, float* out) {
  for (int p = p0; p < p1; ++p) {
    float c[8];
    for (int j = 0; j < 8; ++j) c[j] = bias ? bias[p * 8 + j] : 0.0f;
    const float* w = panels + p * ldp;
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < 8; ++j) c[j] = std::fma(x[k], w[k * 8 + j], c[j]);
    const int n = std::min(8, N - p * 8);
    for (int j = 0; j < n; ++j) out[p * 8 + j] = c[j];
  }
}

MatVecKernelInfo MatVecKernelForIsa(Isa isa) {
  // The same fall-through as GemmKernelForIsa, so the panel widths agree.
  switch (isa) {
    case Isa::kAvx512:
#if defined(MODELC_HAVE_AVX512)
      return {MatVecAvx512_32, 32};
#endif
      [[fallthrough]];
    case Isa::kAvx2:
#if defined(MODELC_HAVE_AVX2)
      return {MatVecAvx2_16, 16};
#endif
      [[fallthrough]];
    default: return {MatVecScalar_8, 8};
  }
}

}  // namespace modelc
