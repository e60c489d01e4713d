// GEMM benchmark: modelc's deterministic GEMM against OpenBLAS cblas_sgemm on
// the shapes one training step uses (forward, dX, dW of every linear layer)
// for the "small" and "big" configurations, at 1 and 2 threads; plus this
// machine's FMA peak, measured with an FMA loop. Absolute numbers on shared
// machines drift: read the ratios, which are measured in the same run.
//
// Build: cmake -DMODELC_BUILD_BENCH=ON (needs libopenblas-dev), then
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/gemm_bench
// (those two variables, set on this project's machines, force OpenBLAS onto
// a slower kernel).
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/isa.h"

using namespace modelc;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((target("avx512f,fma"))) double FmaLoop512(long iters) {
  __m512 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_ps(1.0f + i * 1e-7f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  float s = 0;
  for (int i = 0; i < 16; ++i) s += _mm512_reduce_add_ps(a[i]);
  return s;
}
__attribute__((target("avx2,fma"))) double FmaLoop256(long iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + i * 1e-7f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  float out[8], s = 0;
  for (int i = 0; i < 12; ++i) {
    _mm256_storeu_ps(out, a[i]);
    for (float x : out) s += x;
  }
  return s;
}

// FLOP/s of an FMA loop on `threads` threads.
double FmaPeak(int threads) {
  const bool avx512 = BestAvailableIsa() == Isa::kAvx512;
  const long iters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = Now();
    double sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += avx512 ? FmaLoop512(iters) : FmaLoop256(iters);
    const double dt = Now() - t0;
    const double flops = (double)threads * iters * (avx512 ? 16 * 16 * 2 : 12 * 8 * 2);
    best = std::max(best, flops / dt);
    if (sink == 12345) std::printf(" ");
  }
  return best;
}

struct Case {
  const char* config;
  const char* what;
  int M, N, K;
  bool ta, tb;
};

template <class F>
double Median(F f, int reps) {
  f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now();
    f();
    t.push_back(Now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  std::vector<Case> cases;
  struct Cfg { const char* name; int C, rows; };
  for (Cfg g : {Cfg{"small", 128, 32 * 64}, Cfg{"big", 384, 16 * 256}}) {
    const int C = g.C, R = g.rows;
    struct Lin { const char* name; int in, out; };
    for (Lin l : {Lin{"qkv", C, 3 * C}, Lin{"attn_out", C, C}, Lin{"ffn_up", C, 4 * C}, Lin{"ffn_down", 4 * C, C}}) {
      cases.push_back({g.name, l.name, R, l.out, l.in, false, true});   // forward: X W^T
      cases.push_back({g.name, l.name, R, l.in, l.out, false, false});  // dX = dY W
      cases.push_back({g.name, l.name, l.out, l.in, R, true, false});   // dW = dY^T X
    }
  }
  const char* kind[] = {"fwd", "dX", "dW"};
  std::printf("modelc GEMM (%s kernels) vs OpenBLAS cblas_sgemm; GFLOP/s, median of 5\n",
              IsaName(ActiveIsa()));
  for (int threads : {1, 2}) {
    SetNumThreads(threads);
    openblas_set_num_threads(threads);
    const double peak = FmaPeak(threads) / 1e9;
    std::printf("\nthreads %d, FMA peak %.0f GFLOP/s\n", threads, peak);
    std::printf("%-6s %-9s %-4s %-16s %9s %9s %7s %7s\n", "config", "layer", "op", "MxNxK", "modelc",
                "openblas", "ratio", "%peak");
    double sum_ratio = 0;
    int n = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      std::vector<float> A((size_t)c.M * c.K), B((size_t)c.K * c.N), C((size_t)c.M * c.N);
      std::mt19937 r(1);
      std::uniform_real_distribution<float> u(-1, 1);
      for (auto& x : A) x = u(r);
      for (auto& x : B) x = u(r);
      const GemmShape s = MakeGemm(c.M, c.N, c.K, c.ta, c.tb);
      const double tm = Median([&] { Gemm(s, A.data(), B.data(), C.data(), GemmInit::kZero); }, 5);
      const double tb = Median([&] {
        cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans,
                    c.M, c.N, c.K, 1.0f, A.data(), s.lda, B.data(), s.ldb, 0.0f, C.data(), s.ldc);
      }, 5);
      const double fl = 2.0 * c.M * c.N * c.K / 1e9;
      char shape[32];
      std::snprintf(shape, sizeof shape, "%dx%dx%d", c.M, c.N, c.K);
      std::printf("%-6s %-9s %-4s %-16s %9.1f %9.1f %7.2f %6.0f%%\n", c.config, c.what, kind[i % 3],
                  shape, fl / tm, fl / tb, tb / tm, 100 * fl / tm / peak);
      sum_ratio += tb / tm;
      ++n;
    }
    std::printf("mean ratio (modelc / OpenBLAS speed) at %d thread(s): %.2f\n", threads, sum_ratio / n);
  }
}
