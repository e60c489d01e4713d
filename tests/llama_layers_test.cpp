// Llama layers (RMSNorm, RoPE, SwiGLU, grouped-query attention): forward
// against naive double-precision references written here independently of
// the layer code (libm for exp/sin/cos, std::pow for the frequencies),
// backward against central finite differences in double precision, the
// float path against double, odd shapes, bit-identical results for 1, 2 and
// 3 threads, and RoPE's hand-computed cases, llama.cpp layout and relative-
// position property. The max errors are printed ("[ llama    ] ...").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "layers/layers.h"
#include "test_vectors.h"

namespace modelc {
namespace {

using testvec::Dot;
using testvec::Rand;
using testvec::ToF;

void Print(const std::string& what, double err) {
  std::printf("[ llama    ] %-44s max error %.3g\n", what.c_str(), err);
}

// Max |a - b| / (1 + |b|) over all elements (b the reference).
template <class A>
double MaxRelErr(const std::vector<A>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i)
    m = std::max(m, std::fabs((double)a[i] - b[i]) / (1 + std::fabs(b[i])));
  return m;
}

// Checks d(loss)/d(x) computed analytically (`grad`) against central
// differences of `loss` (which recomputes everything from the current x).
// Returns the largest |grad - fd| / (1 + |fd|) seen. (tests/layers_test.cpp's
// CheckFD, with the error returned.)
double LlamaCheckFD(std::vector<double>& x, const std::vector<double>& grad,
                    const std::function<double()>& loss, double tol, const std::string& what) {
  const double h = 1e-6;
  const size_t stride = x.size() > 400 ? x.size() / 200 : 1;
  double worst = 0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const double old = x[i];
    x[i] = old + h;
    const double lp = loss();
    x[i] = old - h;
    const double lm = loss();
    x[i] = old;
    const double fd = (lp - lm) / (2 * h);
    const double e = std::fabs(grad[i] - fd) / (1 + std::fabs(fd));
    worst = std::max(worst, e);
    EXPECT_LE(e, tol) << what << " index " << i << ": analytic " << grad[i] << " fd " << fd;
    if (e > tol) break;
  }
  Print(what + " vs finite differences", worst);
  return worst;
}

template <class A>
void ExpectSameBits(const std::vector<A>& a, const std::vector<A>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(A)), 0) << what << " index " << i;
}

// Restores the thread count after a test that changes it.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : old_(NumThreads()) {}
  ~ThreadCountGuard() { SetNumThreads(old_); }

 private:
  int old_;
};

// ---------------------------------------------------------------------------
// RMSNorm
// ---------------------------------------------------------------------------
std::vector<double> NaiveRmsNorm(const std::vector<double>& x, const std::vector<double>& w, int N,
                                 int C, double eps) {
  std::vector<double> out((size_t)N * C);
  for (int n = 0; n < N; ++n) {
    double ss = 0;
    for (int c = 0; c < C; ++c) ss += x[n * C + c] * x[n * C + c];
    const double r = 1.0 / std::sqrt(ss / C + eps);
    for (int c = 0; c < C; ++c) out[n * C + c] = x[n * C + c] * r * w[c];
  }
  return out;
}

TEST(LlamaLayers, RmsNormForwardAndBackward) {
  for (const double eps : {1e-5, 1e-6}) {
    for (const int C : {18, 37, 130}) {
      SCOPED_TRACE("C " + std::to_string(C) + " eps " + std::to_string(eps));
      const std::string tag = "rmsnorm C=" + std::to_string(C) + (eps == 1e-5 ? " eps=1e-5" : " eps=1e-6");
      const int N = 7;
      auto x = Rand(N * C, 101 + C, -2, 3), w = Rand(C, 102 + C), R = Rand(N * C, 103 + C);
      std::vector<double> out(N * C), rstd(N);
      rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps);
      const auto ref = NaiveRmsNorm(x, w, N, C, eps);
      const double e = MaxRelErr(out, ref);
      Print(tag + " forward (double)", e);
      EXPECT_LE(e, 1e-14);
      for (int n = 0; n < N; ++n) {
        double ss = 0;
        for (int c = 0; c < C; ++c) ss += x[n * C + c] * x[n * C + c];
        EXPECT_NEAR(rstd[n], 1.0 / std::sqrt(ss / C + eps), 1e-14);
      }
      // float vs the double reference
      auto xf = ToF(x), wf = ToF(w);
      std::vector<float> of(N * C), rf(N);
      rmsnorm_forward(of.data(), rf.data(), xf.data(), wf.data(), N, C, eps);
      const double ef = MaxRelErr(of, ref);
      Print(tag + " forward (float)", ef);
      EXPECT_LE(ef, 2e-6);

      std::vector<double> dx(N * C), dw(C);
      rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
      auto loss = [&] {
        rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps);
        return Dot(out, R);
      };
      LlamaCheckFD(x, dx, loss, 1e-6, tag + " dx");
      LlamaCheckFD(w, dw, loss, 1e-6, tag + " dw");
      // float backward vs double
      rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps);
      rmsnorm_forward(of.data(), rf.data(), xf.data(), wf.data(), N, C, eps);
      auto Rf = ToF(R);
      std::vector<float> dxf(N * C), dwf(C);
      rmsnorm_backward(dxf.data(), dwf.data(), Rf.data(), xf.data(), wf.data(), rf.data(), N, C);
      EXPECT_LE(MaxRelErr(dxf, dx), 1e-5);
      EXPECT_LE(MaxRelErr(dwf, dw), 1e-5);
    }
  }
}

TEST(LlamaLayers, RmsNormBackwardAccumulates) {
  const int N = 3, C = 18;
  auto x = Rand(N * C, 110), w = Rand(C, 111), R = Rand(N * C, 112);
  std::vector<double> out(N * C), rstd(N), dx0(N * C), dw0(C), dx1(N * C, 0.25), dw1(C, -0.5);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5);
  rmsnorm_backward(dx0.data(), dw0.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  rmsnorm_backward(dx1.data(), dw1.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  for (int i = 0; i < N * C; ++i) EXPECT_NEAR(dx1[i], dx0[i] + 0.25, 1e-15);
  for (int c = 0; c < C; ++c) EXPECT_NEAR(dw1[c], dw0[c] - 0.5, 1e-15);
}

// ---------------------------------------------------------------------------
// RoPE
// ---------------------------------------------------------------------------
// Reference: angle(t, i) = t * theta^(-2i/hs) with std::pow, std::cos/sin in
// long double; adjacent pairs (x[2i], x[2i+1]) as in ggml_rope mode 0.
std::vector<double> NaiveRope(const std::vector<double>& x, int B, int Tn, int NH, int hs,
                              double theta) {
  std::vector<double> out(x.size());
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < Tn; ++t)
      for (int h = 0; h < NH; ++h)
        for (int i = 0; i < hs / 2; ++i) {
          const long double a = (long double)t * std::pow((long double)theta, -2.0L * i / hs);
          const double c = (double)std::cos(a), s = (double)std::sin(a);
          const size_t o = ((size_t)(b * Tn + t) * NH + h) * hs + 2 * i;
          out[o] = x[o] * c - x[o + 1] * s;
          out[o + 1] = x[o] * s + x[o + 1] * c;
        }
  return out;
}

TEST(LlamaLayers, RopeTableAgainstLibm) {
  for (const double theta : {10000.0, 500000.0}) {
    for (const int hd : {2, 6, 64}) {
      const int Tn = 65536;
      std::vector<double> c((size_t)Tn * hd / 2), s(c.size());
      rope_table(c.data(), s.data(), Tn, hd, theta);
      double err = 0;
      for (int i = 0; i < hd / 2; ++i) {
        const long double f = std::pow((long double)theta, -2.0L * i / hd);
        for (int t = 0; t < Tn; ++t) {
          const long double a = (long double)t * f;
          // The angle itself carries the double rounding of theta^(-2i/hd)
          // (relative 1e-16, so up to ~1e-11 absolute at t = 65535).
          err = std::max(err, (double)std::fabs(c[(size_t)t * hd / 2 + i] - std::cos(a)));
          err = std::max(err, (double)std::fabs(s[(size_t)t * hd / 2 + i] - std::sin(a)));
        }
      }
      Print("rope_table theta=" + std::to_string((int)theta) + " hd=" + std::to_string(hd) +
                " T=65536 vs libm",
            err);
      EXPECT_LE(err, 2e-11);
      // float table: the double one rounded once
      std::vector<float> cf(c.size()), sf(c.size());
      rope_table(cf.data(), sf.data(), 300, hd, theta);
      for (size_t k = 0; k < (size_t)300 * hd / 2; ++k) {
        ASSERT_EQ(cf[k], (float)c[k]) << k;
        ASSERT_EQ(sf[k], (float)s[k]) << k;
      }
    }
  }
}

TEST(LlamaLayers, RopeHandComputedCases) {
  // Position 0 is the identity; position 1 of a 2-dim head rotates by
  // theta^0 = 1 radian exactly: (1, 0) -> (cos 1, sin 1), (0, 1) -> (-sin 1, cos 1).
  const double kCos1 = 0.54030230586813971740, kSin1 = 0.84147098480789650665;
  std::vector<double> c(2), s(2);
  rope_table(c.data(), s.data(), 2, 2, 10000.0);
  EXPECT_EQ(c[0], 1.0);
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(c[1], kCos1);
  EXPECT_EQ(s[1], kSin1);
  // B = 1, T = 2, NH = 2 heads of hs = 2: head 0 holds (1, 0), head 1 (0, 1).
  std::vector<double> x = {1, 0, 0, 1, 1, 0, 0, 1}, y(8);
  rope_forward(y.data(), x.data(), c.data(), s.data(), 1, 2, 2, 2);
  EXPECT_EQ(y[0], 1.0);
  EXPECT_EQ(y[1], 0.0);
  EXPECT_EQ(y[2], 0.0);
  EXPECT_EQ(y[3], 1.0);
  EXPECT_EQ(y[4], kCos1);
  EXPECT_EQ(y[5], kSin1);
  EXPECT_EQ(y[6], -kSin1);
  EXPECT_EQ(y[7], kCos1);
  // Position 0 is the identity for any head size (bit for bit, random x).
  {
    const int hs = 6, NH = 3, Tn = 4;
    std::vector<float> cf(Tn * hs / 2), sf(cf.size());
    rope_table(cf.data(), sf.data(), Tn, hs, 10000.0);
    auto xf = ToF(Rand(Tn * NH * hs, 120));
    std::vector<float> yf(xf.size());
    rope_forward(yf.data(), xf.data(), cf.data(), sf.data(), 1, Tn, NH, hs);
    for (int k = 0; k < NH * hs; ++k) ASSERT_EQ(std::memcmp(&yf[k], &xf[k], 4), 0) << k;
  }
  // llama.cpp's layout: ADJACENT pairs. hs = 4, theta = 10000: pair 1 is
  // (x[2], x[3]) and turns by t * 10000^(-2/4) = t/100. A vector on x[2]
  // alone stays in dims 2, 3 (the halves layout would move it to dim 0).
  {
    std::vector<double> c4(2 * 2), s4(2 * 2);
    rope_table(c4.data(), s4.data(), 2, 4, 10000.0);
    EXPECT_NEAR(c4[2 + 1], std::cos(0.01), 1e-17);
    EXPECT_NEAR(s4[2 + 1], std::sin(0.01), 1e-17);
    std::vector<double> x4 = {0, 0, 0, 0, 0, 0, 1, 0}, y4(8);  // T = 2, NH = 1, hs = 4
    rope_forward(y4.data(), x4.data(), c4.data(), s4.data(), 1, 2, 1, 4);
    EXPECT_EQ(y4[4], 0.0);
    EXPECT_EQ(y4[5], 0.0);
    EXPECT_NEAR(y4[6], std::cos(0.01), 1e-17);
    EXPECT_NEAR(y4[7], std::sin(0.01), 1e-17);
    // and pair 0 (x[0], x[1]) turns by 1 radian at t = 1
    x4 = {0, 0, 0, 0, 0, 1, 0, 0};
    rope_forward(y4.data(), x4.data(), c4.data(), s4.data(), 1, 2, 1, 4);
    EXPECT_EQ(y4[4], -kSin1);
    EXPECT_EQ(y4[5], kCos1);
    EXPECT_EQ(y4[6], 0.0);
    EXPECT_EQ(y4[7], 0.0);
  }
}

TEST(LlamaLayers, RopeRelativePosition) {
  // q_m . k_n after RoPE depends only on m - n.
  const int hs = 6, Tn = 64;
  std::vector<double> c(Tn * hs / 2), s(c.size());
  rope_table(c.data(), s.data(), Tn, hs, 10000.0);
  const auto q = Rand(hs, 130), k = Rand(hs, 131);
  // Place q (and k) at every position of a sequence; rotate; dot any pair.
  std::vector<double> Q(Tn * hs), K(Tn * hs), RQ(Tn * hs), RK(Tn * hs);
  for (int t = 0; t < Tn; ++t)
    for (int d = 0; d < hs; ++d) {
      Q[t * hs + d] = q[d];
      K[t * hs + d] = k[d];
    }
  rope_forward(RQ.data(), Q.data(), c.data(), s.data(), 1, Tn, 1, hs);
  rope_forward(RK.data(), K.data(), c.data(), s.data(), 1, Tn, 1, hs);
  auto dot = [&](int m, int n) {
    double r = 0;
    for (int d = 0; d < hs; ++d) r += RQ[m * hs + d] * RK[n * hs + d];
    return r;
  };
  double worst = 0;
  for (int delta : {0, 1, 3, 17}) {
    const double ref = dot(delta, 0);
    for (int n = 1; n + delta < Tn; ++n) worst = std::max(worst, std::fabs(dot(n + delta, n) - ref));
  }
  // and it does depend on m - n
  EXPECT_GT(std::fabs(dot(3, 0) - dot(0, 0)), 1e-3);
  Print("rope q_m.k_n - q_(m-n).k_0", worst);
  EXPECT_LE(worst, 1e-13);
}

TEST(LlamaLayers, RopeForwardAndBackward) {
  const int B = 2, Tn = 7, NH = 3, hs = 6;
  const double theta = 10000.0;
  const int N = B * Tn * NH * hs;
  std::vector<double> c(Tn * hs / 2), s(c.size());
  rope_table(c.data(), s.data(), Tn, hs, theta);
  auto x = Rand(N, 140), R = Rand(N, 141);
  std::vector<double> y(N);
  rope_forward(y.data(), x.data(), c.data(), s.data(), B, Tn, NH, hs);
  const auto ref = NaiveRope(x, B, Tn, NH, hs, theta);
  const double e = MaxRelErr(y, ref);
  Print("rope forward (double)", e);
  EXPECT_LE(e, 1e-15);
  // in place gives the same bits
  std::vector<double> yi = x;
  rope_forward(yi.data(), yi.data(), c.data(), s.data(), B, Tn, NH, hs);
  ExpectSameBits(yi, y, "rope in place");
  // float vs double
  std::vector<float> cf(c.size()), sf(c.size());
  rope_table(cf.data(), sf.data(), Tn, hs, theta);
  auto xf = ToF(x);
  std::vector<float> yf(N);
  rope_forward(yf.data(), xf.data(), cf.data(), sf.data(), B, Tn, NH, hs);
  const double ef = MaxRelErr(yf, ref);
  Print("rope forward (float)", ef);
  EXPECT_LE(ef, 3e-7);

  std::vector<double> dx(N);
  rope_backward(dx.data(), R.data(), c.data(), s.data(), B, Tn, NH, hs);
  LlamaCheckFD(x, dx,
               [&] {
                 rope_forward(y.data(), x.data(), c.data(), s.data(), B, Tn, NH, hs);
                 return Dot(y, R);
               },
               1e-8, "rope dx");
  // backward undoes forward (rotation by -angle)
  rope_forward(y.data(), x.data(), c.data(), s.data(), B, Tn, NH, hs);
  std::vector<double> back(N);
  rope_backward(back.data(), y.data(), c.data(), s.data(), B, Tn, NH, hs, GradMode::kOverwrite);
  for (int i = 0; i < N; ++i) EXPECT_NEAR(back[i], x[i], 1e-15);
  // overwrite over garbage == accumulate into zeros; in place with kOverwrite
  auto Rf = ToF(R);
  std::vector<float> d0(N, 0.0f), d1(N, std::nanf("")), d2 = Rf;
  rope_backward(d0.data(), Rf.data(), cf.data(), sf.data(), B, Tn, NH, hs);
  rope_backward(d1.data(), Rf.data(), cf.data(), sf.data(), B, Tn, NH, hs, GradMode::kOverwrite);
  rope_backward(d2.data(), d2.data(), cf.data(), sf.data(), B, Tn, NH, hs, GradMode::kOverwrite);
  ExpectSameBits(d0, d1, "rope backward overwrite");
  ExpectSameBits(d0, d2, "rope backward in place");
}

// ---------------------------------------------------------------------------
// SwiGLU
// ---------------------------------------------------------------------------
TEST(LlamaLayers, SwigluForwardAndBackward) {
  const int N = 7 * 18;
  auto g = Rand(N, 150, -12, 12), u = Rand(N, 151, -3, 3), R = Rand(N, 152);
  std::vector<double> out(N), ref(N);
  swiglu_forward(out.data(), g.data(), u.data(), N);
  for (int i = 0; i < N; ++i) ref[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  const double e = MaxRelErr(out, ref);
  Print("swiglu forward (double)", e);
  EXPECT_LE(e, 1e-15);
  auto gf = ToF(g), uf = ToF(u);
  std::vector<float> of(N);
  swiglu_forward(of.data(), gf.data(), uf.data(), N);
  const double ef = MaxRelErr(of, ref);
  Print("swiglu forward (float)", ef);
  EXPECT_LE(ef, 2e-6);

  std::vector<double> dg(N), du(N);
  swiglu_backward(dg.data(), du.data(), R.data(), g.data(), u.data(), N);
  auto loss = [&] {
    swiglu_forward(out.data(), g.data(), u.data(), N);
    return Dot(out, R);
  };
  LlamaCheckFD(g, dg, loss, 1e-7, "swiglu dgate");
  LlamaCheckFD(u, du, loss, 1e-7, "swiglu dup");
  auto Rf = ToF(R);
  std::vector<float> dgf(N), duf(N);
  swiglu_backward(dgf.data(), duf.data(), Rf.data(), gf.data(), uf.data(), N);
  EXPECT_LE(MaxRelErr(dgf, dg), 2e-6);
  EXPECT_LE(MaxRelErr(duf, du), 2e-6);

  // Saturation: finite, silu(-big) = -0 .. 0, silu(big) = big, gradients 0 and 1.
  std::vector<float> xs = {-1000.f, -100.f, -89.f, 89.f, 100.f, 1000.f}, ones(6, 1.0f), o(6),
                     dgs(6, 0.0f), dus(6, 0.0f);
  swiglu_forward(o.data(), xs.data(), ones.data(), 6);
  swiglu_backward(dgs.data(), dus.data(), ones.data(), xs.data(), ones.data(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(std::isfinite(o[i]) && std::isfinite(dgs[i]) && std::isfinite(dus[i])) << xs[i];
    if (xs[i] < 0) {
      EXPECT_EQ(o[i], 0.0f) << xs[i];
      EXPECT_EQ(dgs[i], 0.0f) << xs[i];
    } else {
      EXPECT_EQ(o[i], xs[i]);
      EXPECT_EQ(dgs[i], 1.0f);
    }
  }
}

// ---------------------------------------------------------------------------
// Grouped-query attention
// ---------------------------------------------------------------------------
// Causal GQA in double, written out directly: out [B*T, NH*hs].
std::vector<double> NaiveGqa(const std::vector<double>& q, const std::vector<double>& k,
                             const std::vector<double>& v, int B, int Tn, int NH, int NKV, int hs) {
  const int Cq = NH * hs, Ckv = NKV * hs;
  std::vector<double> out((size_t)B * Tn * Cq);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const int g = h * NKV / NH;  // kv head of query head h
      for (int i = 0; i < Tn; ++i) {
        std::vector<double> s(i + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j) {
          double d = 0;
          for (int c = 0; c < hs; ++c)
            d += q[(size_t)(b * Tn + i) * Cq + h * hs + c] * k[(size_t)(b * Tn + j) * Ckv + g * hs + c];
          s[j] = d / std::sqrt((double)hs);
          mx = std::max(mx, s[j]);
        }
        for (int j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int c = 0; c < hs; ++c) {
          double y = 0;
          for (int j = 0; j <= i; ++j) y += s[j] / sum * v[(size_t)(b * Tn + j) * Ckv + g * hs + c];
          out[(size_t)(b * Tn + i) * Cq + h * hs + c] = y;
        }
      }
    }
  return out;
}

struct GqaShape {
  int B, Tn, NH, NKV, hs;
};

void CheckGqa(const GqaShape& sh, uint32_t seed) {
  const int B = sh.B, Tn = sh.Tn, NH = sh.NH, NKV = sh.NKV, hs = sh.hs;
  const std::string tag = "gqa B=" + std::to_string(B) + " T=" + std::to_string(Tn) +
                          " NH=" + std::to_string(NH) + " NKV=" + std::to_string(NKV) +
                          " hs=" + std::to_string(hs);
  SCOPED_TRACE(tag);
  const size_t nq = (size_t)B * Tn * NH * hs, nkv = (size_t)B * Tn * NKV * hs;
  auto q = Rand(nq, seed), k = Rand(nkv, seed + 1), v = Rand(nkv, seed + 2),
       R = Rand(nq, seed + 3);
  std::vector<double> out(nq), att((size_t)B * NH * Tn * Tn);
  attention_gqa_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, Tn, NH, NKV, hs);
  const auto ref = NaiveGqa(q, k, v, B, Tn, NH, NKV, hs);
  const double e = MaxRelErr(out, ref);
  Print(tag + " fwd", e);
  EXPECT_LE(e, 1e-13);
  for (int bh = 0; bh < B * NH; ++bh)
    for (int i = 0; i < Tn; ++i) {
      double rs = 0;
      for (int j = 0; j < Tn; ++j) {
        const double p = att[((size_t)bh * Tn + i) * Tn + j];
        if (j > i) {
          ASSERT_EQ(p, 0.0);
        }
        rs += p;
      }
      ASSERT_NEAR(rs, 1.0, 1e-14);
    }
  // float vs double
  auto qf = ToF(q), kf = ToF(k), vf = ToF(v), Rf = ToF(R);
  std::vector<float> of(nq), af(att.size());
  attention_gqa_forward(of.data(), af.data(), qf.data(), kf.data(), vf.data(), B, Tn, NH, NKV, hs);
  const double ef = MaxRelErr(of, ref);
  Print(tag + " fwd (float)", ef);
  EXPECT_LE(ef, 1e-5);

  std::vector<double> dq(nq), dk(nkv), dv(nkv);
  attention_gqa_backward(dq.data(), dk.data(), dv.data(), R.data(), q.data(), k.data(), v.data(),
                         att.data(), B, Tn, NH, NKV, hs);
  std::vector<float> dqf(nq), dkf(nkv), dvf(nkv);
  attention_gqa_backward(dqf.data(), dkf.data(), dvf.data(), Rf.data(), qf.data(), kf.data(),
                         vf.data(), af.data(), B, Tn, NH, NKV, hs);
  const double eb = std::max({MaxRelErr(dqf, dq), MaxRelErr(dkf, dk), MaxRelErr(dvf, dv)});
  Print(tag + " bwd float vs double", eb);
  EXPECT_LE(eb, 1e-4);
  auto loss = [&] {
    attention_gqa_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, Tn, NH, NKV, hs);
    return Dot(out, R);
  };
  LlamaCheckFD(q, dq, loss, 1e-6, tag + " dq");
  LlamaCheckFD(k, dk, loss, 1e-6, tag + " dk");
  LlamaCheckFD(v, dv, loss, 1e-6, tag + " dv");
}

TEST(LlamaLayers, AttentionGqaForwardAndBackward) {
  uint32_t seed = 200;
  // C = 18 with head_dim 6 (NH = 3): NKV = 1 (multi-query) and NKV = NH
  for (int nkv : {1, 3}) CheckGqa({2, 7, 3, nkv, 6}, seed += 10);
  // NH = 6, head_dim 6: NKV = 1, 2, 3, 6
  for (int nkv : {1, 2, 3, 6}) CheckGqa({2, 7, 6, nkv, 6}, seed += 10);
}

// T over the causal row block (32), not a multiple of it.
TEST(LlamaLayers, AttentionGqaAcrossCausalRowBlocks) {
  CheckGqa({1, 70, 4, 2, 4}, 300);
}

// NKV == NH is multi-head attention: the same bits as attention_* on packed qkv.
TEST(LlamaLayers, AttentionGqaWithNkvEqualNhMatchesAttentionBitForBit) {
  const int B = 2, Tn = 45, NH = 3, hs = 8, C = NH * hs;
  auto q = ToF(Rand(B * Tn * C, 310)), k = ToF(Rand(B * Tn * C, 311)),
       v = ToF(Rand(B * Tn * C, 312)), dout = ToF(Rand(B * Tn * C, 313));
  std::vector<float> qkv((size_t)B * Tn * 3 * C);
  for (int n = 0; n < B * Tn; ++n)
    for (int c = 0; c < C; ++c) {
      qkv[(size_t)n * 3 * C + c] = q[n * C + c];
      qkv[(size_t)n * 3 * C + C + c] = k[n * C + c];
      qkv[(size_t)n * 3 * C + 2 * C + c] = v[n * C + c];
    }
  std::vector<float> o1(B * Tn * C), a1(B * NH * Tn * Tn), o2(o1.size()), a2(a1.size());
  attention_forward(o1.data(), a1.data(), qkv.data(), B, Tn, C, NH);
  attention_gqa_forward(o2.data(), a2.data(), q.data(), k.data(), v.data(), B, Tn, NH, NH, hs);
  ExpectSameBits(o1, o2, "out");
  ExpectSameBits(a1, a2, "att");
  std::vector<float> dqkv(qkv.size(), 0.0f), dq(q.size(), 0.0f), dk(q.size(), 0.0f),
      dv(q.size(), 0.0f);
  attention_backward(dqkv.data(), dout.data(), qkv.data(), a1.data(), B, Tn, C, NH);
  attention_gqa_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                         a2.data(), B, Tn, NH, NH, hs);
  std::vector<float> pq(q.size()), pk(q.size()), pv(q.size());
  for (int n = 0; n < B * Tn; ++n)
    for (int c = 0; c < C; ++c) {
      pq[n * C + c] = dqkv[(size_t)n * 3 * C + c];
      pk[n * C + c] = dqkv[(size_t)n * 3 * C + C + c];
      pv[n * C + c] = dqkv[(size_t)n * 3 * C + 2 * C + c];
    }
  ExpectSameBits(pq, dq, "dq");
  ExpectSameBits(pk, dk, "dk");
  ExpectSameBits(pv, dv, "dv");
}

TEST(LlamaLayers, AttentionGqaOverwriteEqualsAccumulateIntoZeros) {
  const int B = 2, Tn = 40, NH = 6, NKV = 2, hs = 6;
  const size_t nq = (size_t)B * Tn * NH * hs, nkv = (size_t)B * Tn * NKV * hs;
  auto q = ToF(Rand(nq, 320)), k = ToF(Rand(nkv, 321)), v = ToF(Rand(nkv, 322)),
       dout = ToF(Rand(nq, 323));
  std::vector<float> out(nq), att((size_t)B * NH * Tn * Tn);
  attention_gqa_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, Tn, NH, NKV, hs);
  const float nan = std::nanf("");
  std::vector<float> dq0(nq, 0.0f), dk0(nkv, 0.0f), dv0(nkv, 0.0f), dq1(nq, nan), dk1(nkv, nan),
      dv1(nkv, nan);
  attention_gqa_backward(dq0.data(), dk0.data(), dv0.data(), dout.data(), q.data(), k.data(),
                         v.data(), att.data(), B, Tn, NH, NKV, hs);
  attention_gqa_backward(dq1.data(), dk1.data(), dv1.data(), dout.data(), q.data(), k.data(),
                         v.data(), att.data(), B, Tn, NH, NKV, hs, GradMode::kOverwrite);
  ExpectSameBits(dq0, dq1, "dq");
  ExpectSameBits(dk0, dk1, "dk");
  ExpectSameBits(dv0, dv1, "dv");
}

// ---------------------------------------------------------------------------
// Thread-count independence: 1, 2 and 3 threads give the same bits (float).
// ---------------------------------------------------------------------------
TEST(LlamaLayers, SameBitsForOneTwoThreeThreads) {
  ThreadCountGuard guard;
  const int B = 2, Tn = 45, NH = 6, NKV = 2, hs = 8, C = 130;
  const int N = B * Tn;
  const size_t nq = (size_t)N * NH * hs, nkv = (size_t)N * NKV * hs;
  auto x = ToF(Rand((size_t)N * C, 400, -2, 2)), w = ToF(Rand(C, 401)),
       dy = ToF(Rand((size_t)N * C, 402));
  auto q = ToF(Rand(nq, 403)), k = ToF(Rand(nkv, 404)), v = ToF(Rand(nkv, 405)),
       dout = ToF(Rand(nq, 406));
  auto g = ToF(Rand(nq, 407, -8, 8)), u = ToF(Rand(nq, 408));
  std::vector<float> cs(Tn * hs / 2), sn(cs.size());
  rope_table(cs.data(), sn.data(), Tn, hs, 10000.0);

  auto run = [&] {
    std::vector<std::vector<float>> r;
    std::vector<float> out((size_t)N * C), rstd(N), dx((size_t)N * C, 0.0f), dw(C, 0.0f);
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5);
    rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    r.insert(r.end(), {out, rstd, dx, dw});
    std::vector<float> rq(nq), drq(nq, 0.0f);
    rope_forward(rq.data(), q.data(), cs.data(), sn.data(), B, Tn, NH, hs);
    rope_backward(drq.data(), dout.data(), cs.data(), sn.data(), B, Tn, NH, hs);
    r.insert(r.end(), {rq, drq});
    std::vector<float> sw(nq), dg(nq, 0.0f), du(nq, 0.0f);
    swiglu_forward(sw.data(), g.data(), u.data(), (int64_t)nq);
    swiglu_backward(dg.data(), du.data(), dout.data(), g.data(), u.data(), (int64_t)nq);
    r.insert(r.end(), {sw, dg, du});
    std::vector<float> ao(nq), att((size_t)B * NH * Tn * Tn), dq(nq, 0.0f), dk(nkv, 0.0f),
        dv(nkv, 0.0f);
    attention_gqa_forward(ao.data(), att.data(), q.data(), k.data(), v.data(), B, Tn, NH, NKV, hs);
    attention_gqa_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                           v.data(), att.data(), B, Tn, NH, NKV, hs);
    r.insert(r.end(), {ao, att, dq, dk, dv});
    return r;
  };
  SetNumThreads(1);
  const auto ref = run();
  const char* names[] = {"rmsnorm out", "rmsnorm rstd", "rmsnorm dx", "rmsnorm dw", "rope out",
                         "rope dx", "swiglu out", "swiglu dgate", "swiglu dup", "gqa out",
                         "gqa att", "gqa dq", "gqa dk", "gqa dv"};
  for (int threads : {2, 3}) {
    SetNumThreads(threads);
    const auto got = run();
    ASSERT_EQ(got.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i)
      ExpectSameBits(got[i], ref[i], std::string(names[i]) + " threads " + std::to_string(threads));
  }
}

}  // namespace
}  // namespace modelc
