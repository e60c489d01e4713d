// Which instruction set the SIMD kernels use. Chosen once at start-up from
// CPUID (the best one the CPU and this build support); MODELC_ISA=scalar|avx2|avx512
// in the environment can lower it (used by tests to check that every ISA
// produces the same bytes). Results never depend on this choice.
//
// Which kernels exist in a binary is a build option (CMake MODELC_KERNELS):
//   dispatch (default)  scalar + AVX2 + AVX-512, chosen at run time
//   avx2                scalar + AVX2 (no AVX-512 code at all)
//   scalar              no SIMD kernel files at all
// It sets MODELC_HAVE_AVX2 / MODELC_HAVE_AVX512 for the kernel tables.
// MODELC_ISA can only lower the choice: asking for an ISA that the CPU or
// this build lacks (or an unknown name) gives the best one available.
#pragma once

namespace modelc {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

Isa ActiveIsa();
const char* IsaName(Isa isa);
// Whether this binary contains the kernels for `isa` (scalar: always).
bool IsaCompiledIn(Isa isa);
// Best ISA compiled into this binary and supported by the CPU. Never one
// that IsaCompiledIn() rejects.
Isa BestAvailableIsa();
// "kernels: scalar avx2 avx512; active avx512" (the compiled-in kernel sets
// and ActiveIsa()), for `modelc --version`.
const char* KernelsDescription();

// Thread count for kernels (OpenMP team size). n >= 1.
void SetNumThreads(int n);
int NumThreads();

}  // namespace modelc
