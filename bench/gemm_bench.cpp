// GEMM benchmark: modelc's deterministic GEMM against OpenBLAS cblas_sgemm on
// the shapes one training step uses (forward, dX, dW of every linear layer)
// for the "small" and "big" configurations, at 1 and 2 threads; plus this
// machine's FMA peak, measured with an FMA loop. Absolute numbers on shared
// machines drift: read the ratios, which are measured in the same run.
//
// At 1 thread each shape is timed as interleaved pairs (modelc, OpenBLAS,
// modelc, ...), so that drift hits both sides alike; at 2 threads as two
// blocks (see below); the table shows the median ratio of
// the pairs and its spread ((max - min) / median).
//
// Usually run by bench/run. By hand: cmake -DMODELC_BUILD_BENCH=ON (needs
// libopenblas-dev), then
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build-bench/gemm_bench [--reps N] [--json FILE]
//   ./build-bench/gemm_bench --peak      (FMA peak only, one line per thread count)
// (those two variables, set on this project's machines, force OpenBLAS onto
// a slower kernel).
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Spread(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return (*hi - *lo) / Median(v);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  const char* json_path = nullptr;
  bool peak_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--peak")) {
      peak_only = true;
    } else {
      std::fprintf(stderr,
                   "usage: gemm_bench [--reps N] [--json FILE] [--peak]\n"
                   "  --reps N     timed (modelc, OpenBLAS) pairs per shape (default 7)\n"
                   "  --json FILE  also write the results as JSON\n"
                   "  --peak       only measure the FMA peak at 1 and 2 threads\n");
      return 2;
    }
  }
  if (peak_only) {
    for (int threads : {1, 2}) std::printf("peak %d %.1f\n", threads, FmaPeak(threads) / 1e9);
    return 0;
  }
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
  std::printf("modelc GEMM (%s kernels) vs OpenBLAS cblas_sgemm, GFLOP/s; %d repetitions per shape (interleaved pairs at 1 thread)\n",
              IsaName(ActiveIsa()), reps);
  nlohmann::ordered_json out;
  out["isa"] = IsaName(ActiveIsa());
  out["reps"] = reps;
  std::vector<double> gflops1(cases.size());
  for (int threads : {1, 2}) {
    SetNumThreads(threads);
    openblas_set_num_threads(threads);
    const double peak = FmaPeak(threads) / 1e9;
    std::printf("\nthreads %d, FMA peak %.0f GFLOP/s\n", threads, peak);
    std::printf("%-6s %-9s %-4s %-16s %9s %9s %7s %7s %7s%s\n", "config", "layer", "op", "MxNxK",
                "modelc", "openblas", "ratio", "spread", "%peak", threads > 1 ? "  vs 1 thread" : "");
    nlohmann::ordered_json jt;
    jt["threads"] = threads;
    jt["fma_peak_gflops"] = peak;
    std::vector<double> ratios, scalings;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      std::vector<float> A((size_t)c.M * c.K), B((size_t)c.K * c.N), C((size_t)c.M * c.N);
      std::mt19937 r(1);
      std::uniform_real_distribution<float> u(-1, 1);
      for (auto& x : A) x = u(r);
      for (auto& x : B) x = u(r);
      const GemmShape s = MakeGemm(c.M, c.N, c.K, c.ta, c.tb);
      auto run_modelc = [&] { Gemm(s, A.data(), B.data(), C.data(), GemmInit::kZero); };
      auto run_blas = [&] {
        cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans,
                    c.M, c.N, c.K, 1.0f, A.data(), s.lda, B.data(), s.ldb, 0.0f, C.data(), s.ldc);
      };
      run_modelc();  // warm up both (packing buffers, thread pools, caches)
      run_blas();
      // 1 thread: interleaved pairs, so drift hits both sides alike. 2 threads:
      // each library's idle workers keep spinning for a while after a call
      // (OpenBLAS's pthreads for up to ~0.1 s) and steal a core from the
      // other side, so each side runs its repetitions as one block, after one
      // untimed warm-up call.
      std::vector<double> tm, tb, ratio;
      auto timed = [&](auto& f, std::vector<double>& into) {
        const double t0 = Now();
        f();
        into.push_back(Now() - t0);
      };
      if (threads == 1) {
        for (int rep = 0; rep < reps; ++rep) {
          timed(run_modelc, tm);
          timed(run_blas, tb);
        }
      } else {
        run_modelc();
        for (int rep = 0; rep < reps; ++rep) timed(run_modelc, tm);
        run_blas();
        for (int rep = 0; rep < reps; ++rep) timed(run_blas, tb);
      }
      for (int rep = 0; rep < reps; ++rep) ratio.push_back(tb[rep] / tm[rep]);
      const double fl = 2.0 * c.M * c.N * c.K / 1e9;
      const double gm = fl / Median(tm), gb = fl / Median(tb), rt = Median(ratio);
      char shape[32];
      std::snprintf(shape, sizeof shape, "%dx%dx%d", c.M, c.N, c.K);
      std::printf("%-6s %-9s %-4s %-16s %9.1f %9.1f %7.2f %6.0f%% %6.0f%%", c.config, c.what,
                  kind[i % 3], shape, gm, gb, rt, 100 * Spread(ratio), 100 * gm / peak);
      if (threads == 1) gflops1[i] = gm;
      else std::printf("  %5.2fx", gm / gflops1[i]), scalings.push_back(gm / gflops1[i]);
      std::printf("\n");
      ratios.push_back(rt);
      jt["cases"].push_back({{"config", c.config}, {"layer", c.what}, {"op", kind[i % 3]},
                             {"M", c.M}, {"N", c.N}, {"K", c.K}, {"modelc_gflops", gm},
                             {"openblas_gflops", gb}, {"ratio", rt}, {"spread", Spread(ratio)},
                             {"peak_fraction", gm / peak}});
    }
    double mean = 0;
    for (double x : ratios) mean += x;
    mean /= ratios.size();
    std::printf("mean ratio (modelc / OpenBLAS speed) at %d thread(s): %.2f (lowest %.2f)\n", threads,
                mean, *std::min_element(ratios.begin(), ratios.end()));
    jt["mean_ratio"] = mean;
    jt["min_ratio"] = *std::min_element(ratios.begin(), ratios.end());
    if (!scalings.empty()) {
      double ms = 0;
      for (double x : scalings) ms += x;
      ms /= scalings.size();
      std::printf("modelc 2 threads / 1 thread: mean %.2fx (lowest %.2fx)\n", ms,
                  *std::min_element(scalings.begin(), scalings.end()));
      jt["mean_scaling"] = ms;
      jt["min_scaling"] = *std::min_element(scalings.begin(), scalings.end());
    }
    out["runs"].push_back(jt);
  }
  if (json_path) {
    std::ofstream f(json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "gemm_bench: cannot write %s\n", json_path);
      return 1;
    }
  }
  return 0;
}
