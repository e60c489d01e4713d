// Floating-point environment policy (kernels/fpenv.h): the check catches a
// thread with FTZ / DAZ / another rounding mode, the set function repairs
// every OpenMP worker, and subnormal arithmetic then gives the IEEE results.
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/fpenv.h"
#include "kernels/isa.h"

namespace modelc {
namespace {

#if defined(__x86_64__) || defined(__i386__)

class FpEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    old_threads_ = NumThreads();
    SetNumThreads(2);
    ASSERT_TRUE(SetFpEnvOnAllThreads().ok());
  }
  void TearDown() override {
    // Whatever a test broke, leave every thread (of both team sizes) clean.
    EXPECT_TRUE(SetFpEnvOnAllThreads().ok());
    SetNumThreads(old_threads_);
    EXPECT_TRUE(SetFpEnvOnAllThreads().ok());
  }

  // Sets `bits` (and clears `clear`) in MXCSR on OpenMP thread `thread` of a
  // team of NumThreads() threads.
  static void BreakThread(int thread, uint32_t bits, uint32_t clear = 0) {
#pragma omp parallel num_threads(NumThreads())
    if (omp_get_thread_num() == thread) WriteMxcsr((ReadMxcsr() & ~clear) | bits);
  }

  int old_threads_ = 1;
};

TEST_F(FpEnv, DefaultEnvironmentPassesTheCheck) {
  Status st = CheckFpEnvOnAllThreads();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(FpEnvOkOnThisThread());
  EXPECT_EQ(ReadMxcsr() & kMxcsrPolicyMask, 0u);
}

TEST_F(FpEnv, CheckCatchesFtzOnAWorkerThread) {
  BreakThread(1, kMxcsrFtz);
  EXPECT_TRUE(FpEnvOkOnThisThread());  // the calling thread is still fine
  Status st = CheckFpEnvOnAllThreads();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("OpenMP thread 1 of 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("FTZ on"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("MXCSR 0x"), std::string::npos) << st.message();
  // The check changes nothing: still broken.
  EXPECT_FALSE(CheckFpEnvOnAllThreads().ok());
  // Restore by hand and the check passes again.
  BreakThread(1, 0, kMxcsrFtz);
  EXPECT_TRUE(CheckFpEnvOnAllThreads().ok());
}

TEST_F(FpEnv, CheckCatchesDazAndRoundingMode) {
  BreakThread(0, kMxcsrDaz);
  Status st = CheckFpEnvOnAllThreads();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("OpenMP thread 0 of 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("DAZ on"), std::string::npos) << st.message();
  EXPECT_FALSE(FpEnvOkOnThisThread());
  BreakThread(0, 0, kMxcsrDaz);

  BreakThread(1, 0x4000);  // round up
  st = CheckFpEnvOnAllThreads();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("rounding up"), std::string::npos) << st.message();
}

TEST_F(FpEnv, SetFixesEveryThread) {
  BreakThread(0, kMxcsrFtz | kMxcsrDaz);
  BreakThread(1, kMxcsrFtz | kMxcsrDaz | 0x6000);  // toward zero
  ASSERT_FALSE(CheckFpEnvOnAllThreads().ok());
  Status st = SetFpEnvOnAllThreads();
  EXPECT_TRUE(st.ok()) << st.message();
  st = CheckFpEnvOnAllThreads();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(FpEnvOkOnThisThread());
}

TEST_F(FpEnv, SetLeavesExceptionMasksAlone) {
  const uint32_t before = ReadMxcsr() & ~kMxcsrPolicyMask & ~0x3fu;  // masks etc., not flags
  WriteMxcsr(ReadMxcsr() | kMxcsrFtz);
  SetFpEnvOnThisThread();
  EXPECT_EQ(ReadMxcsr() & ~0x3fu, before);
}

// Subnormal results and inputs on one thread, through volatile so that the
// arithmetic happens at run time. Returns a description of what went wrong.
std::string SubnormalArithmeticProblems() {
  volatile float fmin = std::numeric_limits<float>::min();           // 2^-126
  volatile float fden = std::numeric_limits<float>::denorm_min();    // 2^-149
  volatile float half = 0.5f, one = 1.0f;
  volatile double dmin = std::numeric_limits<double>::min();
  volatile double dden = std::numeric_limits<double>::denorm_min();
  volatile double dhalf = 0.5;
  std::string bad;
  const float a = fmin * half;  // 2^-127: subnormal, exact (FTZ gives 0)
  if (std::bit_cast<uint32_t>(a) != 0x00400000u) bad += " FLT_MIN*0.5";
  const float b = fden * one;   // a subnormal input (DAZ gives 0)
  if (std::bit_cast<uint32_t>(b) != 0x00000001u) bad += " denorm_min*1";
  const float c = fden + fden;
  if (std::bit_cast<uint32_t>(c) != 0x00000002u) bad += " denorm_min+denorm_min";
  const float d = (fmin * half) * 3.0f;  // 3 * 2^-127 = 0x00c00000
  if (std::bit_cast<uint32_t>(d) != 0x00c00000u) bad += " 3*2^-127";
  const double e = dmin * dhalf;
  if (std::bit_cast<uint64_t>(e) != 0x0008000000000000ull) bad += " DBL_MIN*0.5";
  const double f = dden + dden;
  if (std::bit_cast<uint64_t>(f) != 2ull) bad += " dbl_denorm_min*2";
  return bad;
}

std::vector<std::string> SubnormalProblemsPerThread() {
  std::vector<std::string> out((size_t)NumThreads());
#pragma omp parallel num_threads(NumThreads())
  out[(size_t)omp_get_thread_num()] = SubnormalArithmeticProblems();
  return out;
}

TEST_F(FpEnv, SubnormalArithmeticIsIeeeAfterSet) {
  for (const std::string& p : SubnormalProblemsPerThread()) EXPECT_EQ(p, "");
  // With FTZ + DAZ on every thread the same arithmetic is flushed (shows the
  // probe can see the difference) ...
  BreakThread(0, kMxcsrFtz | kMxcsrDaz);
  BreakThread(1, kMxcsrFtz | kMxcsrDaz);
  for (const std::string& p : SubnormalProblemsPerThread()) EXPECT_NE(p, "");
  // ... and after setting the policy it is IEEE again everywhere.
  ASSERT_TRUE(SetFpEnvOnAllThreads().ok());
  const auto after = SubnormalProblemsPerThread();
  for (size_t t = 0; t < after.size(); ++t) EXPECT_EQ(after[t], "") << "OpenMP thread " << t;
}

TEST_F(FpEnv, DescribeMxcsrNamesTheBits) {
  EXPECT_EQ(DescribeMxcsr(0x1f80), "MXCSR 0x1f80 (rounding nearest, FTZ off, DAZ off)");
  EXPECT_EQ(DescribeMxcsr(0x9fc0), "MXCSR 0x9fc0 (rounding nearest, FTZ on, DAZ on)");
  EXPECT_EQ(DescribeMxcsr(0x7f80), "MXCSR 0x7f80 (rounding toward zero, FTZ off, DAZ off)");
}

#endif  // x86

}  // namespace
}  // namespace modelc
