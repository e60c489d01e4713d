// Layers: forward against naive double-precision references (written here
// independently of the layer code), backward against central finite
// differences in double precision, and the float path against double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "layers/layers.h"
#include "test_vectors.h"

namespace modelc {
namespace {

using testvec::Dot;
using testvec::Rand;
using testvec::ToF;

// Checks d(sum(out * R))/d(x) computed analytically (`grad`) against central
// differences of `f` (which recomputes out from the current x).
void CheckFD(std::vector<double>& x, const std::vector<double>& grad,
             const std::function<double()>& loss, double tol, const char* what) {
  const double h = 1e-6;
  const size_t stride = x.size() > 400 ? x.size() / 200 : 1;
  for (size_t i = 0; i < x.size(); i += stride) {
    const double old = x[i];
    x[i] = old + h;
    const double lp = loss();
    x[i] = old - h;
    const double lm = loss();
    x[i] = old;
    const double fd = (lp - lm) / (2 * h);
    ASSERT_NEAR(grad[i], fd, tol * (1 + std::fabs(fd))) << what << " index " << i;
  }
}

TEST(Layers, LinearForwardAndBackward) {
  const int N = 7, C = 13, OC = 9;
  auto x = Rand(N * C, 1), W = Rand(OC * C, 2), b = Rand(OC, 3), R = Rand(N * OC, 4);
  std::vector<double> out(N * OC), ref(N * OC);
  linear_forward(out.data(), x.data(), W.data(), b.data(), N, C, OC);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      double s = b[o];
      for (int c = 0; c < C; ++c) s += x[n * C + c] * W[o * C + c];
      ref[n * OC + o] = s;
    }
  for (int i = 0; i < N * OC; ++i) EXPECT_NEAR(out[i], ref[i], 1e-12);
  // float vs double
  auto xf = ToF(x), Wf = ToF(W), bf = ToF(b);
  std::vector<float> outf(N * OC);
  linear_forward(outf.data(), xf.data(), Wf.data(), bf.data(), N, C, OC);
  for (int i = 0; i < N * OC; ++i) EXPECT_NEAR(outf[i], ref[i], 1e-5);

  std::vector<double> dx(N * C), dW(OC * C), db(OC);
  linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, C, OC);
  auto loss = [&] {
    linear_forward(out.data(), x.data(), W.data(), b.data(), N, C, OC);
    return Dot(out, R);
  };
  CheckFD(x, dx, loss, 1e-7, "dx");
  CheckFD(W, dW, loss, 1e-7, "dW");
  CheckFD(b, db, loss, 1e-7, "db");
}

TEST(Layers, LayerNormForwardAndBackward) {
  const int N = 6, C = 37;
  auto x = Rand(N * C, 5, -2, 3), w = Rand(C, 6), b = Rand(C, 7), R = Rand(N * C, 8);
  std::vector<double> out(N * C), mean(N), rstd(N);
  layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    v /= C;
    for (int c = 0; c < C; ++c)
      EXPECT_NEAR(out[n * C + c], (x[n * C + c] - m) / std::sqrt(v + 1e-5) * w[c] + b[c], 1e-12);
  }
  auto xf = ToF(x), wf = ToF(w), bf = ToF(b);
  std::vector<float> of(N * C), mf(N), rf(N);
  layernorm_forward(of.data(), mf.data(), rf.data(), xf.data(), wf.data(), bf.data(), N, C);
  for (int i = 0; i < N * C; ++i) EXPECT_NEAR(of[i], out[i], 1e-5);

  std::vector<double> dx(N * C), dw(C), db(C);
  layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), mean.data(),
                     rstd.data(), N, C);
  auto loss = [&] {
    layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    return Dot(out, R);
  };
  CheckFD(x, dx, loss, 1e-6, "dx");
  CheckFD(w, dw, loss, 1e-6, "dw");
  CheckFD(b, db, loss, 1e-6, "db");
}

TEST(Layers, GeluForwardAndBackward) {
  const int N = 301;
  auto x = Rand(N, 9, -6, 6), R = Rand(N, 10);
  std::vector<double> out(N);
  gelu_forward(out.data(), x.data(), N);
  for (int i = 0; i < N; ++i) {
    const double v = x[i];
    EXPECT_NEAR(out[i], 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))),
                1e-14);
  }
  auto xf = ToF(x);
  std::vector<float> of(N);
  gelu_forward(of.data(), xf.data(), N);
  for (int i = 0; i < N; ++i) EXPECT_NEAR(of[i], out[i], 3e-6 * (1 + std::fabs(out[i])));
  std::vector<double> dx(N);
  gelu_backward(dx.data(), x.data(), R.data(), N);
  CheckFD(x, dx, [&] { gelu_forward(out.data(), x.data(), N); return Dot(out, R); }, 1e-7, "dx");
}

TEST(Layers, ResidualBackward) {
  const int N = 50;
  auto a = Rand(N, 11), b = Rand(N, 12), R = Rand(N, 13);
  std::vector<double> out(N), da(N), db(N);
  residual_backward(da.data(), db.data(), R.data(), N);
  auto loss = [&] { residual_forward(out.data(), a.data(), b.data(), N); return Dot(out, R); };
  CheckFD(a, da, loss, 1e-8, "da");
  CheckFD(b, db, loss, 1e-8, "db");
}

TEST(Layers, CrossEntropyForwardAndBackward) {
  const int N = 5, V = 17;
  auto z = Rand(N * V, 14, -4, 4);
  std::vector<int> tgt = {0, 16, 3, 3, 9};
  std::vector<double> probs(N * V), losses(N);
  crossentropy_forward(probs.data(), losses.data(), z.data(), tgt.data(), N, V);
  for (int n = 0; n < N; ++n) {
    double s = 0;
    for (int v = 0; v < V; ++v) s += std::exp(z[n * V + v]);
    for (int v = 0; v < V; ++v) EXPECT_NEAR(probs[n * V + v], std::exp(z[n * V + v]) / s, 1e-14);
    EXPECT_NEAR(losses[n], std::log(s) - z[n * V + tgt[n]], 1e-13);
  }
  auto zf = ToF(z);
  std::vector<float> pf(N * V), lf(N);
  crossentropy_forward(pf.data(), lf.data(), zf.data(), tgt.data(), N, V);
  for (int n = 0; n < N; ++n) EXPECT_NEAR(lf[n], losses[n], 1e-5);
  // loss = 0.37 * sum(losses)
  std::vector<double> dz(N * V);
  crossentropy_backward(dz.data(), probs.data(), tgt.data(), 0.37, N, V);
  auto loss = [&] {
    crossentropy_forward(probs.data(), losses.data(), z.data(), tgt.data(), N, V);
    double s = 0;
    for (double l : losses) s += l;
    return 0.37 * s;
  };
  CheckFD(z, dz, loss, 1e-7, "dlogits");
}

// Causal attention in double, written out directly: out [B*T, C].
std::vector<double> NaiveAttention(const std::vector<double>& qkv, int B, int Tn, int C, int NH) {
  const int hs = C / NH;
  std::vector<double> out((size_t)B * Tn * C);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int i = 0; i < Tn; ++i) {
        std::vector<double> s(i + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j) {
          double d = 0;
          for (int c = 0; c < hs; ++c)
            d += qkv[(b * Tn + i) * 3 * C + h * hs + c] * qkv[(b * Tn + j) * 3 * C + C + h * hs + c];
          s[j] = d / std::sqrt((double)hs);
          mx = std::max(mx, s[j]);
        }
        for (int j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int c = 0; c < hs; ++c) {
          double y = 0;
          for (int j = 0; j <= i; ++j) y += s[j] / sum * qkv[(b * Tn + j) * 3 * C + 2 * C + h * hs + c];
          out[(b * Tn + i) * C + h * hs + c] = y;
        }
      }
  return out;
}

TEST(Layers, AttentionForwardAndBackward) {
  const int B = 2, Tn = 5, C = 12, NH = 3;
  auto qkv = Rand(B * Tn * 3 * C, 15), R = Rand(B * Tn * C, 16);
  std::vector<double> out(B * Tn * C), att(B * NH * Tn * Tn);
  attention_forward(out.data(), att.data(), qkv.data(), B, Tn, C, NH);
  const auto ref = NaiveAttention(qkv, B, Tn, C, NH);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-12) << i;
  auto qf = ToF(qkv);
  std::vector<float> of(out.size()), af(att.size());
  attention_forward(of.data(), af.data(), qf.data(), B, Tn, C, NH);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(of[i], out[i], 1e-5);

  std::vector<double> dqkv(qkv.size());
  attention_backward(dqkv.data(), R.data(), qkv.data(), att.data(), B, Tn, C, NH);
  CheckFD(qkv, dqkv,
          [&] {
            attention_forward(out.data(), att.data(), qkv.data(), B, Tn, C, NH);
            return Dot(out, R);
          },
          1e-6, "dqkv");
}

// T larger than the causal row block (32), not a multiple of it: the
// blocked products must match the naive reference and finite differences.
TEST(Layers, AttentionAcrossCausalRowBlocks) {
  const int B = 1, Tn = 70, C = 8, NH = 2;
  auto qkv = Rand(B * Tn * 3 * C, 25), R = Rand(B * Tn * C, 26);
  std::vector<double> out(B * Tn * C), att(B * NH * Tn * Tn);
  attention_forward(out.data(), att.data(), qkv.data(), B, Tn, C, NH);
  const auto ref = NaiveAttention(qkv, B, Tn, C, NH);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 1e-12) << i;
  for (int h = 0; h < NH; ++h)
    for (int i = 0; i < Tn; ++i)
      for (int j = i + 1; j < Tn; ++j) EXPECT_EQ(att[(h * Tn + i) * Tn + j], 0.0);
  std::vector<double> dqkv(qkv.size());
  attention_backward(dqkv.data(), R.data(), qkv.data(), att.data(), B, Tn, C, NH);
  // float path against double
  auto qf = ToF(qkv), Rf = ToF(R);
  std::vector<float> of(out.size()), af(att.size()), dqf(qkv.size());
  attention_forward(of.data(), af.data(), qf.data(), B, Tn, C, NH);
  attention_backward(dqf.data(), Rf.data(), qf.data(), af.data(), B, Tn, C, NH);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(of[i], out[i], 1e-5);
  for (size_t i = 0; i < dqkv.size(); ++i) EXPECT_NEAR(dqf[i], dqkv[i], 1e-4 * (1 + std::fabs(dqkv[i])));
  CheckFD(qkv, dqkv,
          [&] {
            attention_forward(out.data(), att.data(), qkv.data(), B, Tn, C, NH);
            return Dot(out, R);
          },
          1e-6, "dqkv");
}

// GradMode::kOverwrite over garbage gives the same bits as accumulating into
// zeros, for every backward that offers it.
TEST(Layers, OverwriteModeEqualsAccumulateIntoZeros) {
  const float nan = std::nanf("");
  auto same = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(float)), 0) << what << " index " << i;
  };
  {  // linear (dinp only; dW/dbias always accumulate)
    const int N = 37, C = 19, OC = 45;
    auto inp = ToF(Rand(N * C, 31)), W = ToF(Rand(OC * C, 32)), dout = ToF(Rand(N * OC, 33));
    std::vector<float> d0(N * C, 0.0f), d1(N * C, nan), dW(OC * C, 0.0f), db(OC, 0.0f);
    linear_backward(d0.data(), dW.data(), db.data(), dout.data(), inp.data(), W.data(), N, C, OC);
    linear_backward(d1.data(), dW.data(), db.data(), dout.data(), inp.data(), W.data(), N, C, OC,
                    GradMode::kOverwrite);
    same(d0, d1, "linear dinp");
  }
  {  // gelu, across several parallel chunks
    const int64_t N = 3 * 4096 + 77;
    auto inp = ToF(Rand(N, 34, -4, 4)), dout = ToF(Rand(N, 35));
    std::vector<float> d0(N, 0.0f), d1(N, nan);
    gelu_backward(d0.data(), inp.data(), dout.data(), N);
    gelu_backward(d1.data(), inp.data(), dout.data(), N, GradMode::kOverwrite);
    same(d0, d1, "gelu dinp");
  }
  {  // attention
    const int B = 2, Tn = 45, C = 12, NH = 3;
    auto qkv = ToF(Rand(B * Tn * 3 * C, 36)), dout = ToF(Rand(B * Tn * C, 37));
    std::vector<float> out(B * Tn * C), att(B * NH * Tn * Tn);
    attention_forward(out.data(), att.data(), qkv.data(), B, Tn, C, NH);
    std::vector<float> d0(qkv.size(), 0.0f), d1(qkv.size(), nan);
    attention_backward(d0.data(), dout.data(), qkv.data(), att.data(), B, Tn, C, NH);
    attention_backward(d1.data(), dout.data(), qkv.data(), att.data(), B, Tn, C, NH,
                       GradMode::kOverwrite);
    same(d0, d1, "attention dqkv");
  }
}

TEST(Layers, EncoderBackward) {
  const int B = 2, Tn = 4, C = 6, V = 7;
  auto wte = Rand(V * C, 17), wpe = Rand(Tn * C, 18), R = Rand(B * Tn * C, 19);
  std::vector<int> tok = {1, 3, 3, 6, 0, 1, 2, 1};
  std::vector<double> out(B * Tn * C), dwte(V * C), dwpe(Tn * C);
  encoder_backward(dwte.data(), dwpe.data(), R.data(), tok.data(), B, Tn, C, V);
  auto loss = [&] {
    encoder_forward(out.data(), tok.data(), wte.data(), wpe.data(), B, Tn, C);
    return Dot(out, R);
  };
  CheckFD(wte, dwte, loss, 1e-8, "dwte");
  CheckFD(wpe, dwpe, loss, 1e-8, "dwpe");
}

}  // namespace
}  // namespace modelc
