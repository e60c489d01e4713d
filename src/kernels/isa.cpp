#include "kernels/isa.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace modelc {

bool IsaCompiledIn(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return true;
#if defined(MODELC_HAVE_AVX2)
    case Isa::kAvx2: return true;
#endif
#if defined(MODELC_HAVE_AVX512)
    case Isa::kAvx512: return true;
#endif
    default: return false;
  }
}

Isa BestAvailableIsa() {
  __builtin_cpu_init();
#if defined(MODELC_HAVE_AVX512)
  // Every flag the AVX-512 files are compiled with (see CMakeLists.txt).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::kAvx512;
#endif
#if defined(MODELC_HAVE_AVX2)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

static Isa ChooseIsa() {
  Isa best = BestAvailableIsa();
  const char* env = std::getenv("MODELC_ISA");
  if (!env) return best;
  Isa want = best;
  if (!std::strcmp(env, "scalar")) want = Isa::kScalar;
  else if (!std::strcmp(env, "avx2")) want = Isa::kAvx2;
  else if (!std::strcmp(env, "avx512")) want = Isa::kAvx512;
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

Isa ActiveIsa() {
  static const Isa isa = ChooseIsa();
  return isa;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

const char* KernelsDescription() {
  static const std::string s = [] {
    std::string d = "kernels:";
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
      if (IsaCompiledIn(isa)) d += std::string(" ") + IsaName(isa);
    return d + "; active " + IsaName(ActiveIsa());
  }();
  return s.c_str();
}

static int g_threads = 1;
void SetNumThreads(int n) {
  g_threads = n < 1 ? 1 : n;
  omp_set_num_threads(g_threads);
}
int NumThreads() { return g_threads; }

}  // namespace modelc
