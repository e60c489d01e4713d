// Q8_0: fp16 conversion, block format against a double-precision reference,
// the int8 dot kernels (bit-identical across ISAs, equal to a scalar
// reference written from the formula), the int8 engine against the F32 one,
// `modelc quantize` (metadata, determinism, errors) and `modelc eval`.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "binary/quantize.h"
#include "cli_util.h"
#include "kernels/isa.h"
#include "kernels/q8_dot.h"
#include "model/gpt.h"
#include "runtime/engine.h"
#include "test_params.h"
#include "util/sha256.h"

namespace modelc {
namespace {

using testutil::Contains;
using testutil::Proc;
using testutil::RunModelc;
using testutil::TempDir;

// binary16 value in double, from the definition (no float code involved).
double HalfValue(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = std::ldexp((double)m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = std::ldexp(1024.0 + m, e - 25);
  return s ? -v : v;
}

TEST(Half, DecodesEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const double want = HalfValue((uint16_t)h);
    const float got = HalfToFloat((uint16_t)h);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
      continue;
    }
    ASSERT_EQ((double)got, want) << "half 0x" << std::hex << h;
    EXPECT_EQ(std::signbit(got), (h >> 15) != 0) << h;
    // Round trip of every non-NaN half.
    ASSERT_EQ(FloatToHalf(got), (uint16_t)h) << "half 0x" << std::hex << h;
  }
}

// Nearest binary16 by exhaustive search in double, ties to the even code.
uint16_t NearestHalf(float f) {
  const double x = f;
  uint16_t best = 0;
  double bd = INFINITY;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  for (uint32_t m = 0; m < 0x7c00; ++m) {  // finite magnitudes
    const double d = std::fabs(std::fabs(x) - HalfValue((uint16_t)m));
    if (d < bd || (d == bd && (m & 1) == 0)) bd = d, best = (uint16_t)m;
  }
  // Beyond max half (65504) + half an ulp (16): infinity.
  if (std::fabs(x) >= 65520.0) return sign | 0x7c00;
  return sign | best;
}

TEST(Half, EncodesToNearestEven) {
  std::mt19937 g(3);
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, 2.98023224e-8f,
                           5.96046448e-8f, 6.1035156e-5f, 6.1032e-5f, 1.00048828125f,
                           1.00146484375f, 3.0e-45f, 1e9f, -2.5e-6f};
  for (int i = 0; i < 3000; ++i) {
    // Random floats over the half range: random exponent, random mantissa bits.
    const int e = (int)(g() % 44) - 28;
    const float m = 1.0f + (float)(g() % (1u << 23)) / (float)(1u << 23);
    xs.push_back((g() & 1 ? -1.0f : 1.0f) * std::ldexp(m, e));
  }
  // Exact ties between two halves.
  xs.push_back(1.0f + 1.0f / 2048);            // between 1 and 1+2^-10: to 1 (even)
  xs.push_back(1.0f + 3.0f / 2048);            // to 1+2^-9 (even)
  xs.push_back(std::ldexp(1.0f, -25));         // half of the smallest subnormal: to 0
  xs.push_back(std::ldexp(3.0f, -25));         // 1.5 subnormal units: to 2 units
  for (float x : xs) ASSERT_EQ(FloatToHalf(x), NearestHalf(x)) << x;
  EXPECT_EQ(FloatToHalf(INFINITY), 0x7c00);
  EXPECT_EQ(FloatToHalf(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
}

// ---------------------------------------------------------------- blocks

struct Block {
  float d;  // decoded scale
  int8_t q[32];
};

Block Decode(const uint8_t* b) {
  Block r;
  uint16_t h;
  std::memcpy(&h, b, 2);
  r.d = HalfToFloat(h);
  std::memcpy(r.q, b + 2, 32);
  return r;
}

std::vector<float> RandomBlockValues(std::mt19937& g, int n, double scale) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<float> x(n);
  for (auto& v : x) v = (float)(nd(g) * scale);
  return x;
}

TEST(Q8Block, MatchesDoubleReferenceOfTheFormat) {
  std::mt19937 g(11);
  int near_tie_diffs = 0, blocks = 0;
  for (double scale : {1e-6, 1e-3, 0.02, 1.0, 30.0, 1000.0}) {
    for (int rep = 0; rep < 200; ++rep, ++blocks) {
      const auto x = RandomBlockValues(g, 32, scale);
      uint8_t out[34];
      QuantizeBlockQ8_0(x.data(), out);
      const Block b = Decode(out);
      // Reference in double: d = amax / 127, stored as the nearest binary16.
      double amax = 0;
      for (float v : x) amax = std::max(amax, std::fabs((double)v));
      const double d = amax / 127.0;
      ASSERT_EQ(b.d, (float)HalfValue(NearestHalf((float)d))) << "scale " << scale;
      for (int j = 0; j < 32; ++j) {
        const double t = (double)x[j] / d;  // the exact quotient
        const double want = std::round(t);   // halves away from zero, as C roundf
        if ((double)b.q[j] != want) {
          // Only where float x * (1/d) sits within float rounding of a half.
          ASSERT_LT(std::fabs(std::fabs(t - std::trunc(t)) - 0.5), 1e-5) << x[j];
          ASSERT_EQ(std::fabs((double)b.q[j] - want), 1.0);
          ++near_tie_diffs;
        }
        // Dequantized error: half a step plus the fp16 rounding of the scale.
        const double deq = (double)b.d * b.q[j];
        const double bound = 0.5 * d * (1 + 1e-5) + 127.0 * std::fabs((double)b.d - d) + 1e-30;
        ASSERT_LE(std::fabs(deq - x[j]), bound) << "scale " << scale << " j " << j;
      }
      // The largest magnitude maps to +-127.
      int qmax = 0;
      for (int j = 0; j < 32; ++j) qmax = std::max(qmax, std::abs((int)b.q[j]));
      EXPECT_EQ(qmax, 127);
    }
  }
  EXPECT_LT(near_tie_diffs, blocks / 10);
}

TEST(Q8Block, EdgeCases) {
  uint8_t out[34];
  // All zero: scale 0, quants 0, decodes to zeros.
  std::vector<float> z(32, 0.0f);
  QuantizeBlockQ8_0(z.data(), out);
  Block b = Decode(out);
  EXPECT_EQ(b.d, 0.0f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.q[j], 0);
  // One negative spike: -127 there, 0 elsewhere; scale = |x| / 127 in fp16.
  z[5] = -3.0f;
  QuantizeBlockQ8_0(z.data(), out);
  b = Decode(out);
  EXPECT_EQ(b.q[5], -127);
  EXPECT_EQ(b.d, HalfToFloat(FloatToHalf(3.0f / 127.0f)));
  for (int j = 0; j < 32; ++j)
    if (j != 5) {
      EXPECT_EQ(b.q[j], 0);
    }
  // Exact halves round away from zero: x = 63.5 * d with d = 1 (amax 127).
  std::vector<float> h(32, 0.0f);
  h[0] = 127.0f;
  h[1] = 63.5f;
  h[2] = -63.5f;
  h[3] = 0.5f;
  h[4] = -0.5f;
  QuantizeBlockQ8_0(h.data(), out);
  b = Decode(out);
  EXPECT_EQ(b.d, 1.0f);
  EXPECT_EQ(b.q[1], 64);
  EXPECT_EQ(b.q[2], -64);
  EXPECT_EQ(b.q[3], 1);
  EXPECT_EQ(b.q[4], -1);
  // Values so small that the fp16 scale is 0: everything decodes to 0.
  std::vector<float> tiny(32, 1e-9f);
  QuantizeBlockQ8_0(tiny.data(), out);
  b = Decode(out);
  EXPECT_EQ(b.d, 0.0f);
  // A row writes exactly n / 32 blocks and nothing past them.
  std::mt19937 g(5);
  const auto x = RandomBlockValues(g, 96, 1.0);
  std::vector<uint8_t> row(3 * 34 + 8, 0xAB);
  QuantizeRowQ8_0(x.data(), 96, row.data());
  for (int i = 3 * 34; i < (int)row.size(); ++i) EXPECT_EQ(row[i], 0xAB);
  std::vector<float> back(96);
  DequantizeRowQ8_0(row.data(), 96, back.data());
  for (int i = 0; i < 96; ++i) {
    const Block bb = Decode(row.data() + (i / 32) * 34);
    EXPECT_EQ(back[i], bb.d * (float)bb.q[i % 32]);
  }
}

// ---------------------------------------------------------------- kernels

std::vector<Q8Kernel> AvailableKernels() {
  std::vector<Q8Kernel> v;
  for (Q8Kernel k : {Q8Kernel::kScalar, Q8Kernel::kAvx2, Q8Kernel::kAvx512, Q8Kernel::kAvx512Vnni})
    if (Q8KernelAvailable(k)) v.push_back(k);
  return v;
}

// Raw row-major Q8_0 blocks for W [N, K] with random scales and quants over
// the full int8 range (-128 included, which ggml's quantizer never writes).
std::vector<uint8_t> RandomQ8Matrix(std::mt19937& g, int N, int K) {
  std::vector<uint8_t> raw((size_t)N * (K / 32) * 34);
  for (size_t b = 0; b < raw.size() / 34; ++b) {
    const uint16_t h = FloatToHalf(std::ldexp(1.0f + (float)(g() % 1000) / 1000, -(int)(g() % 12)) *
                                   (g() & 1 ? 1.0f : -1.0f));
    std::memcpy(&raw[b * 34], &h, 2);
    for (int j = 0; j < 32; ++j) raw[b * 34 + 2 + j] = (uint8_t)(g() & 0xff);
  }
  return raw;
}

TEST(Q8Kernels, BitIdenticalAcrossIsasAndEqualToTheFormula) {
  const auto kernels = AvailableKernels();
  ASSERT_GE(kernels.size(), 1u);
  std::printf("q8 kernels here:");
  for (Q8Kernel k : kernels) std::printf(" %s", Q8KernelName(k));
  std::printf(" (active %s)\n", Q8KernelName(ActiveQ8Kernel()));
  std::mt19937 g(21);
  for (int N : {1, 15, 16, 17, 40, 100}) {
    for (int K : {32, 128, 512}) {
      const auto raw = RandomQ8Matrix(g, N, K);
      const Q8Matrix W = PackQ8Matrix(raw.data(), N, K);
      // Activations: a real quantized row (values in [-127, 127]), and the
      // extreme row of all +-127.
      for (int variant = 0; variant < 2; ++variant) {
        std::vector<float> xf = RandomBlockValues(g, K, 2.0);
        if (variant == 1)
          for (int i = 0; i < K; ++i) xf[i] = (i % 3 ? 127.0f : -127.0f);
        std::vector<int8_t> xq(K);
        std::vector<float> xd(K / 32);
        QuantizeActivationQ8(xf.data(), K, xq.data(), xd.data());
        // The formula, from the raw blocks (not the panel layout).
        std::vector<float> want(N);
        std::vector<double> exact(N), absum(N);
        for (int n = 0; n < N; ++n) {
          float acc = 0;
          double ex = 0, ab = 0;
          for (int b = 0; b < K / 32; ++b) {
            const Block wb = Decode(&raw[((size_t)n * (K / 32) + b) * 34]);
            int32_t isum = 0;
            for (int j = 0; j < 32; ++j) isum += (int32_t)wb.q[j] * (int32_t)xq[b * 32 + j];
            const float s = wb.d * xd[b];
            acc = acc + (float)isum * s;
            for (int j = 0; j < 32; ++j) {
              const double term = (double)wb.d * wb.q[j] * (double)xd[b] * xq[b * 32 + j];
              ex += term;
              ab += std::fabs(term);
            }
          }
          want[n] = acc;
          exact[n] = ex;
          absum[n] = ab;
        }
        for (Q8Kernel k : kernels) {
          std::vector<float> got(N, -1.0f);
          Q8MatVecPanels(W, 0, W.np, xq.data(), xd.data(), got.data(), Q8KernelFn(k));
          for (int n = 0; n < N; ++n) {
            ASSERT_EQ(std::bit_cast<uint32_t>(got[n]), std::bit_cast<uint32_t>(want[n]))
                << Q8KernelName(k) << " N " << N << " K " << K << " row " << n;
            // And the float result is the exact dot of the dequantized values
            // to float accuracy.
            ASSERT_NEAR(got[n], exact[n], 1e-6 * absum[n] * (K / 32) + 1e-30);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- engine

GptConfig TinyConfig(int n_embd, int vocab) {
  GptConfig c;
  c.vocab = vocab;
  c.context = 40;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = n_embd;
  return c;
}

// The matrices of `p` as raw Q8_0, and `p` with them replaced by their
// decoded values (what LoadModelFile gives for a quantized file).
struct QuantizedParams {
  std::vector<float> params;
  std::vector<std::vector<uint8_t>> raw;  // per GptParamSpecs index (empty: F32)
  Q8Weights weights;
};

QuantizedParams QuantizeParams(const GptConfig& c, const std::vector<float>& p) {
  QuantizedParams q;
  q.params = p;
  const auto specs = GptParamSpecs(c);
  q.raw.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const ParamSpec& s = specs[i];
    if (s.shape.size() != 2 || s.name == "position_embd.weight") continue;
    q.raw[i].resize((size_t)s.size / 32 * 34);
    QuantizeRowQ8_0(p.data() + s.offset, s.size, q.raw[i].data());
    DequantizeRowQ8_0(q.raw[i].data(), s.size, q.params.data() + s.offset);
  }
  for (size_t i = 0; i < specs.size(); ++i)
    if (!q.raw[i].empty()) q.weights[specs[i].name] = q.raw[i].data();
  return q;
}

std::vector<int> Tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = (int)(g() % (uint32_t)vocab);
  return t;
}

TEST(Q8Engine, LogitsCloseToF32AndIdenticalAcrossKernelsThreadsAndModes) {
  for (int n_embd : {32, 64}) {
    const GptConfig c = TinyConfig(n_embd, 256);
    SCOPED_TRACE("n_embd " + std::to_string(n_embd));
    const auto p = RandomGptParams<float>(c, 7, 0.1, true);
    const QuantizedParams q = QuantizeParams(c, p);
    const auto tok = Tokens(c.context, c.vocab, 9);
    SetNumThreads(1);
    // F32 engine on the decoded weights: the reference the int8 path
    // approximates (only the activation rounding differs).
    GptEngine f32(c, q.params.data());
    std::vector<float> ref;
    ASSERT_TRUE(f32.PrefillAll(tok, &ref));
    std::vector<float> base;  // first kernel, 1 thread, step by step
    for (Q8Kernel k : AvailableKernels()) {
      for (int threads : {1, 2, 3}) {
        SetNumThreads(threads);
        GptEngine e(c, q.params.data(), &q.weights);
        ASSERT_TRUE(e.quantized());
        e.SetQ8Kernel(k);
        std::vector<float> steps;
        for (int t = 0; t < c.context; ++t) {
          const auto& l = e.Step(tok[t]);
          ASSERT_EQ((int)l.size(), c.vocab);
          steps.insert(steps.end(), l.begin(), l.end());
        }
        if (base.empty()) {
          base = steps;
          // Close to F32: the activation rounding (8 bits per block) only.
          double worst = 0, scale = 0;
          for (size_t i = 0; i < ref.size(); ++i) {
            worst = std::max(worst, (double)std::fabs(steps[i] - ref[i]));
            scale = std::max(scale, (double)std::fabs(ref[i]));
          }
          EXPECT_GT(worst, 0.0) << "the int8 path should not be the F32 path";
          EXPECT_LT(worst, 0.02 * scale) << "max |q8 - f32| " << worst << " of " << scale;
        }
        ASSERT_EQ(std::memcmp(steps.data(), base.data(), base.size() * 4), 0)
            << Q8KernelName(k) << " threads " << threads;
        // Whole-sequence prefill (the eval path) gives the same rows.
        e.Reset();
        std::vector<float> all;
        ASSERT_TRUE(e.PrefillAll(tok, &all));
        ASSERT_EQ(std::memcmp(all.data(), base.data(), base.size() * 4), 0)
            << Q8KernelName(k) << " threads " << threads;
        // Prefill in two parts then continue: same last logits.
        e.Reset();
        std::vector<int> a(tok.begin(), tok.begin() + 17), b(tok.begin() + 17, tok.end());
        e.Prefill(a);
        const auto& last = e.Prefill(b);
        ASSERT_EQ(std::memcmp(last.data(), base.data() + base.size() - c.vocab, c.vocab * 4), 0);
      }
    }
    SetNumThreads(1);
  }
}

TEST(Q8Engine, F32PrefillAllMatchesTheTrainingForward) {
  // The eval path for F32 models: every row bit for bit.
  SetNumThreads(1);
  const GptConfig c = TinyConfig(48, 200);
  const auto p = RandomGptParams<float>(c, 3, 0.1, true);
  const auto tok = Tokens(c.context, c.vocab, 4);
  Gpt<float> model(c);
  model.Forward(p.data(), tok.data(), nullptr, 1, c.context);
  GptEngine e(c, p.data());
  EXPECT_FALSE(e.quantized());
  std::vector<float> all;
  ASSERT_TRUE(e.PrefillAll(tok, &all));
  ASSERT_EQ(all.size(), model.acts().logits.size());
  EXPECT_EQ(std::memcmp(all.data(), model.acts().logits.data(), all.size() * 4), 0);
  // Refusals, as Prefill.
  std::vector<float> none;
  EXPECT_FALSE(e.PrefillAll({1}, &none));  // context full
  e.Reset();
  EXPECT_FALSE(e.PrefillAll({}, &none));
  EXPECT_FALSE(e.PrefillAll({c.vocab}, &none));
}

// ---------------------------------------------------------------- files

// A small F32 model binary written by WriteModelFile's conventions, through
// GgufWriter directly (n_embd 64: every matrix quantizable; position_embd,
// norms and biases stay F32).
std::string WriteTinyF32(const std::string& path, const GptConfig& c, const std::vector<float>& p) {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.SetString("general.name", "tiny");
  w.SetU32("general.file_type", 0);
  w.SetU32("gpt2.context_length", c.context);
  w.SetU32("gpt2.embedding_length", c.n_embd);
  w.SetU32("gpt2.block_count", c.n_layer);
  w.SetU32("gpt2.feed_forward_length", 4 * c.n_embd);
  w.SetU32("gpt2.attention.head_count", c.n_head);
  w.SetF32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  std::vector<std::string> toks;
  for (int i = 0; i < c.vocab; ++i) toks.push_back("t" + std::to_string(i));
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetStringArray("tokenizer.ggml.tokens", toks);
  w.SetString("modelc.source_hash", std::string(64, 'a'));
  for (const ParamSpec& s : GptParamSpecs(c)) w.AddTensorF32(s.name, GgmlNe(s.shape), p.data() + s.offset);
  Status st = w.Write(path);
  EXPECT_TRUE(st.ok()) << st.message();
  return path;
}

TEST(Quantize, FileLayoutMetadataAndDeterminism) {
  TempDir dir;
  const GptConfig c = TinyConfig(64, 256);
  const auto p = RandomGptParams<float>(c, 5, 0.1, true);
  const std::string in = WriteTinyF32(dir / "in.gguf", c, p);
  QuantizeReport r1, r2;
  Status st = QuantizeModelFile(in, dir / "a.gguf", "q8_0", &r1);
  ASSERT_TRUE(st.ok()) << st.message();
  st = QuantizeModelFile(in, dir / "b.gguf", "q8_0", &r2);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(testutil::Slurp(dir / "a.gguf"), testutil::Slurp(dir / "b.gguf"));
  EXPECT_EQ(r1.out_sha256, testutil::FileSha(dir / "a.gguf"));
  EXPECT_EQ(r1.parent_sha256, testutil::FileSha(in));

  std::unique_ptr<GgufFile> fin, fq;
  ASSERT_TRUE(GgufFile::Open(in, &fin).ok());
  ASSERT_TRUE(GgufFile::Open(dir / "a.gguf", &fq).ok());
  uint32_t ft = 0, qv = 0;
  ASSERT_TRUE(fq->GetU32("general.file_type", &ft).ok());
  ASSERT_TRUE(fq->GetU32("general.quantization_version", &qv).ok());
  EXPECT_EQ(ft, 7u);
  EXPECT_EQ(qv, 2u);
  std::string from, kind;
  ASSERT_TRUE(fq->GetString("modelc.quantized_from", &from).ok());
  ASSERT_TRUE(fq->GetString("modelc.quantization", &kind).ok());
  EXPECT_EQ(from, testutil::FileSha(in));
  EXPECT_EQ(kind, "q8_0");
  // Every other key kept, in order; the new ones where documented.
  std::vector<std::string> keys_in, keys_q;
  for (const auto& [k, v] : fin->kv()) {
    keys_in.push_back(k);
    if (k != "general.file_type") {
      EXPECT_TRUE(*fq->Find(k) == v) << k;
    }
  }
  for (const auto& [k, v] : fq->kv()) keys_q.push_back(k);
  std::vector<std::string> want = keys_in;
  want.insert(want.begin() + 3, "general.quantization_version");  // after general.file_type
  want.push_back("modelc.quantization");
  want.push_back("modelc.quantized_from");
  EXPECT_EQ(keys_q, want);
  // Tensors: same order and shapes; 2-D weights but position_embd Q8_0,
  // holding exactly QuantizeRowQ8_0 of the F32 values.
  ASSERT_EQ(fq->tensors().size(), fin->tensors().size());
  int q8 = 0;
  for (size_t i = 0; i < fin->tensors().size(); ++i) {
    const GgufTensorInfo& a = fin->tensors()[i];
    const GgufTensorInfo& b = fq->tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.ne, b.ne);
    const bool want_q8 = a.ne.size() == 2 && a.name != "position_embd.weight";
    ASSERT_EQ(b.type, want_q8 ? ggml_type::kQ8_0 : ggml_type::kF32) << a.name;
    if (!want_q8) {
      EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name;
      continue;
    }
    ++q8;
    std::vector<float> f;
    ASSERT_TRUE(fin->ReadTensorF32(a.name, &f).ok());
    std::vector<uint8_t> want_bytes(f.size() / 32 * 34);
    QuantizeRowQ8_0(f.data(), (int64_t)f.size(), want_bytes.data());
    ASSERT_EQ(b.nbytes, want_bytes.size());
    EXPECT_EQ(std::memcmp(b.data, want_bytes.data(), b.nbytes), 0) << a.name;
  }
  EXPECT_EQ(q8, 1 + 4 * c.n_layer);
  EXPECT_EQ(r1.quantized, q8);
  EXPECT_LT(r1.out_bytes * 3, r1.in_bytes);  // ~8.5 bits instead of 32 for most weights

  // The loader accepts it and NewEngine runs the int8 path, close to F32.
  LoadedModel mq, mf;
  ASSERT_TRUE(LoadModelFile(dir / "a.gguf", &mq).ok());
  ASSERT_TRUE(LoadModelFile(in, &mf).ok());
  EXPECT_TRUE(mq.quantized());
  EXPECT_FALSE(mf.quantized());
  SetNumThreads(1);
  auto eq = NewEngine(mq), ef = NewEngine(mf);
  EXPECT_TRUE(eq->quantized());
  EXPECT_FALSE(ef->quantized());
  const auto tok = Tokens(c.context, c.vocab, 2);
  std::vector<float> lq, lf;
  ASSERT_TRUE(eq->PrefillAll(tok, &lq));
  ASSERT_TRUE(ef->PrefillAll(tok, &lf));
  double worst = 0, scale = 0;
  for (size_t i = 0; i < lf.size(); ++i) {
    worst = std::max(worst, (double)std::fabs(lq[i] - lf[i]));
    scale = std::max(scale, (double)std::fabs(lf[i]));
  }
  EXPECT_LT(worst, 0.03 * scale);
}

TEST(Quantize, ErrorsAndTensorsThatStayF32) {
  TempDir dir;
  // n_embd 48: ne[0] = 48 is no multiple of 32, so the K = n_embd matrices
  // stay F32; ffn_down (K = 192) is quantized. The engine mixes both.
  const GptConfig c = TinyConfig(48, 256);
  const auto p = RandomGptParams<float>(c, 6, 0.1, true);
  const std::string in = WriteTinyF32(dir / "in.gguf", c, p);
  QuantizeReport r;
  ASSERT_TRUE(QuantizeModelFile(in, dir / "q.gguf", "q8_0", &r).ok());
  EXPECT_EQ(r.quantized, c.n_layer);
  std::unique_ptr<GgufFile> fq;
  ASSERT_TRUE(GgufFile::Open(dir / "q.gguf", &fq).ok());
  EXPECT_EQ(fq->FindTensor("blk.0.ffn_down.weight")->type, ggml_type::kQ8_0);
  EXPECT_EQ(fq->FindTensor("blk.0.ffn_up.weight")->type, ggml_type::kF32);
  EXPECT_EQ(fq->FindTensor("token_embd.weight")->type, ggml_type::kF32);
  LoadedModel m;
  ASSERT_TRUE(LoadModelFile(dir / "q.gguf", &m).ok());
  SetNumThreads(1);
  auto e = NewEngine(m);
  EXPECT_TRUE(e->quantized());
  EXPECT_EQ((int)e->Step(3).size(), c.vocab);

  // Already quantized.
  Status st = QuantizeModelFile(dir / "q.gguf", dir / "qq.gguf", "q8_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "already quantized")) << st.message();
  EXPECT_TRUE(Contains(st.message(), dir / "q.gguf")) << st.message();
  // Wrong type.
  st = QuantizeModelFile(in, dir / "x.gguf", "q4_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "q4_0")) << st.message();
  // Output is the input (also through another spelling of the path).
  const std::string before = testutil::FileSha(in);
  st = QuantizeModelFile(in, dir.path() + "/./in.gguf", "q8_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "input file")) << st.message();
  EXPECT_EQ(testutil::FileSha(in), before);
  // Unreadable / not GGUF.
  st = QuantizeModelFile(dir / "missing.gguf", dir / "y.gguf", "q8_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "missing.gguf")) << st.message();
  testutil::WriteText(dir / "junk.gguf", "not a gguf file at all, just text");
  st = QuantizeModelFile(dir / "junk.gguf", dir / "y.gguf", "q8_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "junk.gguf")) << st.message();
  EXPECT_FALSE(std::filesystem::exists(dir / "y.gguf"));
  // Non-finite weights.
  auto bad = p;
  bad[GptParamOffsets(c).blocks[0].fcprojw + 3] = NAN;
  WriteTinyF32(dir / "nan.gguf", c, bad);
  st = QuantizeModelFile(dir / "nan.gguf", dir / "z.gguf", "q8_0", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "not finite")) << st.message();
}

// ---------------------------------------------------------------- CLI

TEST(QuantizeCli, BuildQuantizeRunEval) {
  TempDir dir;
  testutil::SourceSpec s;
  s.name = "tiny-q8";
  s.n_embd = 64;
  s.n_head = 2;
  s.context = 32;
  s.steps = 30;
  s.eval_batches = 3;
  testutil::WriteSource(dir / "src", s);
  const std::string f32 = dir / "tiny.gguf", q8 = dir / "tiny-q8.gguf";
  Proc p = RunModelc({"build", dir / "src", "-o", f32, "--threads", "2", "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;

  p = RunModelc({"quantize", "--help"});
  EXPECT_EQ(p.code, 0) << p;
  EXPECT_TRUE(Contains(p.out, "--type")) << p;

  p = RunModelc({"quantize", f32, q8, "--type", "q8_0", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["quantized_from"], testutil::FileSha(f32));
  EXPECT_EQ(j["sha256"], testutil::FileSha(q8));
  EXPECT_EQ(j["tensors_quantized"], 1 + 4 * s.n_layer);
  EXPECT_LT(j["size_ratio"].get<double>(), 0.4);
  // Again: same bytes.
  p = RunModelc({"quantize", f32, dir / "again.gguf", "--type", "q8_0"});
  ASSERT_EQ(p.code, 0) << p;
  EXPECT_EQ(testutil::FileSha(dir / "again.gguf"), testutil::FileSha(q8));
  EXPECT_TRUE(Contains(p.out, "Q8_0")) << p;

  // CLI errors: one line naming the problem, exit 1, no output file.
  p = RunModelc({"quantize", f32, dir / "x.gguf", "--type", "q5_1"});
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: unsupported quantization type 'q5_1'")) << p;
  p = RunModelc({"quantize", q8, dir / "x.gguf", "--type", "q8_0"});
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_TRUE(Contains(p.err, "already quantized")) << p;
  p = RunModelc({"quantize", f32, f32, "--type", "q8_0"});
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_TRUE(Contains(p.err, "is the input file")) << p;
  p = RunModelc({"quantize", dir / "nope.gguf", dir / "x.gguf", "--type", "q8_0"});
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_TRUE(Contains(p.err, "nope.gguf: cannot open")) << p;
  EXPECT_EQ(testutil::CountLines(p.err), 1) << p;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gguf"));
  p = RunModelc({"quantize", f32, dir / "x.gguf"});
  EXPECT_NE(p.code, 0) << p;  // --type is required

  // inspect shows the types.
  p = RunModelc({"inspect", q8, "--json"});
  ASSERT_EQ(p.code, 0) << p;
  EXPECT_TRUE(Contains(p.out, "\"Q8_0\"")) << p;

  // run: greedy text is the same on every ISA and thread count.
  std::string text;
  for (const char* isa : {"scalar", "avx2", "avx512"})
    for (const char* threads : {"1", "2"}) {
      p = RunModelc({"run", q8, "--prompt", "The ", "-n", "20", "--temperature", "0", "--threads", threads},
                    {{"MODELC_ISA", isa}});
      ASSERT_EQ(p.code, 0) << p;
      if (text.empty()) text = p.out;
      EXPECT_EQ(p.out, text) << isa << " threads " << threads;
    }
  EXPECT_EQ(text.size(), 4u + 20u + 1u);  // prompt, 20 byte tokens, newline

  // eval: the F32 binary reproduces its recorded val loss exactly; the
  // q8_0 one is within 1 %.
  p = RunModelc({"eval", f32, "--source", dir / "src", "--json"});
  ASSERT_EQ(p.code, 0) << p;
  const auto ef = nlohmann::json::parse(p.out);
  EXPECT_EQ(ef["val_loss"].get<double>(), ef["recorded_val_loss"].get<double>()) << p.out;
  EXPECT_EQ(ef["tokens"], 3 * s.micro_batch_size * s.context);
  EXPECT_EQ(ef["quantization"], "f32");
  p = RunModelc({"eval", q8, "--source", dir / "src", "--json", "--threads", "2"});
  ASSERT_EQ(p.code, 0) << p;
  const auto eq = nlohmann::json::parse(p.out);
  EXPECT_EQ(eq["quantization"], "q8_0");
  EXPECT_NE(eq["val_loss"].get<double>(), ef["val_loss"].get<double>());
  EXPECT_LT(std::fabs(eq["relative_change"].get<double>()), 0.01) << p.out;
  // The same on another ISA (the int8 path is ISA-independent).
  p = RunModelc({"eval", q8, "--source", dir / "src", "--json"}, {{"MODELC_ISA", "scalar"}});
  ASSERT_EQ(p.code, 0) << p;
  EXPECT_EQ(nlohmann::json::parse(p.out)["val_loss"].get<double>(), eq["val_loss"].get<double>());
  // eval errors.
  p = RunModelc({"eval", q8, "--source", dir / "nosuchdir"});
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error:")) << p;
  p = RunModelc({"eval", "--help"});
  EXPECT_EQ(p.code, 0) << p;
}

}  // namespace
}  // namespace modelc
