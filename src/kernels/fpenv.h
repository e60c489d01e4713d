// Floating-point environment policy for the training path.
//
// Every kernel assumes IEEE-754 defaults: round to nearest even, and
// subnormals neither flushed to zero on output (FTZ) nor treated as zero on
// input (DAZ). Another library in the process (or a plug-in, or a BLAS)
// could change these per-thread MXCSR bits; results would then silently
// differ. These functions set and check the policy on the calling thread and
// on every thread of the OpenMP team the kernels use (NumThreads() threads).
//
// Only the bits that change results are touched: MXCSR rounding control
// (bits 13-14), FTZ (bit 15) and DAZ (bit 6); plus the x87 rounding mode
// through fesetround(FE_TONEAREST). Exception masks and the sticky exception
// flags are left as they are (an unmasked exception traps, it does not change
// a result).
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace modelc {

// MXCSR bits of the policy.
inline constexpr uint32_t kMxcsrRoundingMask = 0x6000;  // 00 = round to nearest even
inline constexpr uint32_t kMxcsrFtz = 0x8000;           // flush to zero
inline constexpr uint32_t kMxcsrDaz = 0x0040;           // denormals are zero
inline constexpr uint32_t kMxcsrPolicyMask = kMxcsrRoundingMask | kMxcsrFtz | kMxcsrDaz;

// The calling thread's MXCSR (0 on a CPU without one).
uint32_t ReadMxcsr();
// Writes the calling thread's MXCSR (tests use it to break the policy).
void WriteMxcsr(uint32_t mxcsr);

// Sets the policy on the calling thread: round to nearest even (MXCSR and
// fesetround(FE_TONEAREST)), FTZ off, DAZ off.
void SetFpEnvOnThisThread();
// Whether the calling thread follows the policy (reads MXCSR: a few cycles).
bool FpEnvOkOnThisThread();
// "MXCSR 0x9f80 (rounding nearest, FTZ on, DAZ off)".
std::string DescribeMxcsr(uint32_t mxcsr);

// Sets the policy on every thread of an OpenMP parallel region of
// NumThreads() threads (the calling thread is thread 0 of it), then checks
// it on each thread. Call from outside any parallel region, after
// SetNumThreads(). Error: "floating-point environment: OpenMP thread 1 of 2
// (tid 1234): MXCSR 0x9f80 (rounding nearest, FTZ on, DAZ off); need round
// to nearest, FTZ off, DAZ off".
Status SetFpEnvOnAllThreads();
// Check only, same threads and message; changes nothing. Costs one parallel
// region (microseconds): cheap enough for every step.
Status CheckFpEnvOnAllThreads();

}  // namespace modelc
