// Which instruction set the SIMD kernels use. Chosen once at start-up from
// CPUID (the best one the CPU and this build support); MODELC_ISA=scalar|avx2|avx512
// in the environment can lower it (used by tests to check that every ISA
// produces the same bytes). Results never depend on this choice.
#pragma once

namespace modelc {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

Isa ActiveIsa();
const char* IsaName(Isa isa);
// Best ISA compiled into this binary and supported by the CPU.
Isa BestAvailableIsa();

// Thread count for kernels (OpenMP team size). n >= 1.
void SetNumThreads(int n);
int NumThreads();

}  // namespace modelc
