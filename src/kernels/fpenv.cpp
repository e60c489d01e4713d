#include "kernels/fpenv.h"

#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cfenv>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>  // _mm_getcsr / _mm_setcsr: baseline SSE
#define MODELC_HAS_MXCSR 1
#endif

namespace modelc {

uint32_t ReadMxcsr() {
#if defined(MODELC_HAS_MXCSR)
  return _mm_getcsr();
#else
  return 0;
#endif
}

void WriteMxcsr(uint32_t mxcsr) {
#if defined(MODELC_HAS_MXCSR)
  _mm_setcsr(mxcsr);
#else
  (void)mxcsr;
#endif
}

void SetFpEnvOnThisThread() {
  std::fesetround(FE_TONEAREST);  // x87 and SSE rounding
  WriteMxcsr(ReadMxcsr() & ~kMxcsrPolicyMask);
}

bool FpEnvOkOnThisThread() { return (ReadMxcsr() & kMxcsrPolicyMask) == 0; }

std::string DescribeMxcsr(uint32_t mxcsr) {
  static const char* const kRounding[] = {"nearest", "down", "up", "toward zero"};
  char buf[96];
  std::snprintf(buf, sizeof buf, "MXCSR 0x%04x (rounding %s, FTZ %s, DAZ %s)", mxcsr,
                kRounding[(mxcsr & kMxcsrRoundingMask) >> 13], (mxcsr & kMxcsrFtz) ? "on" : "off",
                (mxcsr & kMxcsrDaz) ? "on" : "off");
  return buf;
}

namespace {

struct ThreadFpState {
  bool seen = false;
  uint32_t mxcsr = 0;
  long tid = 0;
};

// Runs on each thread of a team of NumThreads() threads: optionally sets the
// policy, then records MXCSR. Returns the first thread that breaks it.
Status SetOrCheck(bool set) {
  const int want = NumThreads();
  std::vector<ThreadFpState> st((size_t)want);
  int team = 1;
#pragma omp parallel num_threads(want)
  {
    if (set) SetFpEnvOnThisThread();
    const int t = omp_get_thread_num();
#pragma omp single nowait
    team = omp_get_num_threads();
    if (t < want) {
      st[(size_t)t].seen = true;
      st[(size_t)t].mxcsr = ReadMxcsr();
      st[(size_t)t].tid = (long)::syscall(SYS_gettid);
    }
  }
  for (int t = 0; t < team && t < want; ++t) {
    const ThreadFpState& s = st[(size_t)t];
    if (!s.seen || (s.mxcsr & kMxcsrPolicyMask) == 0) continue;
    return Status::Error("floating-point environment: OpenMP thread " + std::to_string(t) + " of " +
                         std::to_string(team) + " (tid " + std::to_string(s.tid) + "): " +
                         DescribeMxcsr(s.mxcsr) + "; need round to nearest, FTZ off, DAZ off" +
                         (set ? " (setting it did not stick)" : ""));
  }
  return Status::OK();
}

}  // namespace

Status SetFpEnvOnAllThreads() { return SetOrCheck(true); }
Status CheckFpEnvOnAllThreads() { return SetOrCheck(false); }

}  // namespace modelc
