#include "runtime/engine.h"

#include "binary/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "kernels/gemm.h"
#include "kernels/isa.h"
#include "kernels/reduce.h"
#include "kernels/vec.h"
#include "layers/layers.h"
#include "layers/scalar_math.h"

namespace modelc {

namespace {

template <class V>
void Grow(V& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

InferenceEngine::Packed InferenceEngine::Pack(const float* W, const float* bias, int N,
                                              int K) const {
  const int NR = kern_.nr;
  Packed p;
  p.N = N;
  p.K = K;
  p.np = (N + NR - 1) / NR;
  p.panels.assign((size_t)p.np * K * NR, 0.0f);
  for (int q = 0; q < p.np; ++q)
    for (int j = 0; j < NR && q * NR + j < N; ++j) {
      const float* row = W + (size_t)(q * NR + j) * K;
      float* dst = p.panels.data() + (size_t)q * K * NR + j;
      for (int k = 0; k < K; ++k) dst[(size_t)k * NR] = row[k];
    }
  p.has_bias = bias != nullptr;
  p.bias.assign((size_t)p.np * NR, 0.0f);
  if (bias) std::copy(bias, bias + N, p.bias.begin());
  return p;
}

InferenceEngine::Packed InferenceEngine::PackMaybeQ8(const uint8_t* q8, const float* W,
                                                     const float* bias, int N, int K) {
  if (!q8) return Pack(W, bias, N, K);
  Packed p;
  p.N = N;
  p.K = K;
  p.q8 = true;
  p.q = PackQ8Matrix(q8, N, K);
  p.has_bias = bias != nullptr;
  if (bias) p.bias.assign(bias, bias + N);
  quantized_ = true;
  return p;
}

void InferenceEngine::SetQ8Kernel(Q8Kernel k) {
  q8_kind_ = k;
  q8_fn_ = Q8KernelFn(k);
}

void InferenceEngine::LinearQ8(const Packed& W, const float* x, float* out, int T) {
  const int K = W.K, N = W.N, np = W.q.np, nb = K / kQ8Block;
  Grow(xq_, (size_t)T * K);
  Grow(xd_, (size_t)T * nb);
  for (int t = 0; t < T; ++t)
    QuantizeActivationQ8(x + (size_t)t * K, K, xq_.data() + (size_t)t * K, xd_.data() + (size_t)t * nb);
  // Threads split (row, panel) pairs; each output element is one kernel call.
  const int64_t work = (int64_t)T * np;
  const int nt = (!omp_in_parallel() && 2.0 * T * N * K >= (1 << 19)) ? NumThreads() : 1;
  const Q8PanelKernel fn = q8_fn_;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (int64_t i = 0; i < work; ++i) {
    const int t = (int)(i / np), p = (int)(i % np);
    Q8MatVecPanels(W.q, p, p + 1, xq_.data() + (size_t)t * K, xd_.data() + (size_t)t * nb,
                   out + (size_t)t * N, fn);
  }
  if (W.has_bias)
    for (int t = 0; t < T; ++t)
      for (int n = 0; n < N; ++n) out[(size_t)t * N + n] = out[(size_t)t * N + n] + W.bias[n];
}

void InferenceEngine::MatVec(const Packed& W, const float* x, float* out) {
  if (W.q8) return LinearQ8(W, x, out, 1);
  const int nt = (!omp_in_parallel() && 2.0 * W.N * W.K >= (1 << 18)) ? NumThreads() : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
  MatVecPart(W, x, out, omp_get_thread_num(), omp_get_num_threads(), nullptr, nullptr);
}

void InferenceEngine::MatVecPart(const Packed& W, const float* x, float* out, int tid, int nt,
                                 int8_t* xq, float* xd) const {
  if (W.q8) {
    const int np = W.q.np;
    const int p0 = (int)((int64_t)np * tid / nt), p1 = (int)((int64_t)np * (tid + 1) / nt);
    if (p0 == p1) return;
    // Every thread quantizes the whole row itself (K values, no barrier).
    QuantizeActivationQ8(x, W.K, xq, xd);
    Q8MatVecPanels(W.q, p0, p1, xq, xd, out, q8_fn_);
    if (W.has_bias)
      for (int n = p0 * kQ8PanelRows; n < std::min(W.N, p1 * kQ8PanelRows); ++n)
        out[n] = out[n] + W.bias[n];
    return;
  }
  const int p0 = (int)((int64_t)W.np * tid / nt), p1 = (int)((int64_t)W.np * (tid + 1) / nt);
  if (p0 == p1) return;
  mv_.fn(W.K, W.N, p0, p1, x, W.panels.data(), (long)W.K * mv_.nr,
         W.has_bias ? W.bias.data() : nullptr, out);
}

void InferenceEngine::Linear(const Packed& W, const float* W_raw, const float* bias,
                             const float* x, float* out, int T) {
  if (W.q8)
    LinearQ8(W, x, out, T);
  else if (T == 1)
    MatVec(W, x, out);
  else
    linear_forward(out, x, W_raw, bias, (int64_t)T, W.K, W.N);
}

InferenceEngine::InferenceEngine(const GptConfig& c, const float* params, const Q8Weights* q8)
    : cfg_(c), off_(GptParamOffsets(c)), p_(params), kern_(GemmKernelForIsa(ActiveIsa())),
      mv_(MatVecKernelForIsa(ActiveIsa())) {
  SetQ8Kernel(ActiveQ8Kernel());
  const size_t C = c.n_embd, ctx = c.context;
  const int Ci = c.n_embd;
  for (size_t l = 0; l < off_.blocks.size(); ++l) {
    const BlockOffsets& o = off_.blocks[l];
    const Q8Weights::Block qb =
        q8 && l < q8->blocks.size() ? q8->blocks[l] : Q8Weights::Block{};
    BlockPacked b;
    b.qkv = PackMaybeQ8(qb.qkv, params + o.qkvw, params + o.qkvb, 3 * Ci, Ci);
    b.attproj = PackMaybeQ8(qb.attproj, params + o.attprojw, params + o.attprojb, Ci, Ci);
    b.fc = PackMaybeQ8(qb.fc, params + o.fcw, params + o.fcb, 4 * Ci, Ci);
    b.fcproj = PackMaybeQ8(qb.fcproj, params + o.fcprojw, params + o.fcprojb, Ci, 4 * Ci);
    packed_.push_back(std::move(b));
  }
  lm_head_ = PackMaybeQ8(q8 ? q8->wte : nullptr, params + off_.wte, nullptr, c.vocab, Ci);
  apanel_.assign((size_t)kern_.mr * 4 * C, 0.0f);
  kcache_.assign(c.n_layer, std::vector<float>(ctx * C));
  vcache_.assign(c.n_layer, std::vector<float>(ctx * C));
  x_.resize(C);
  ln_.resize(C);
  qkv_.resize(3 * C);
  atty_.resize(C);
  proj_.resize(C);
  fch_.resize(4 * C);
  fchg_.resize(4 * C);
  mean_.resize(1);
  rstd_.resize(1);
  att_.resize((size_t)c.n_head * ctx);
  const int NR = kern_.nr, hs = Ci / c.n_head;
  npk_ = (c.context + NR - 1) / NR;
  npv_ = (hs + NR - 1) / NR;
  kp_.assign(c.n_layer, std::vector<float>((size_t)c.n_head * npk_ * hs * NR, 0.0f));
  vp_.assign(c.n_layer, std::vector<float>((size_t)c.n_head * npv_ * ctx * NR, 0.0f));
  head_panel_size_ = (size_t)kern_.mr * std::max<size_t>(hs, ctx);
  head_panels_.assign((size_t)c.n_head * head_panel_size_, 0.0f);
  logits_.resize(c.vocab);
}

void InferenceEngine::Reset() { pos_ = 0; }

const std::vector<float>& InferenceEngine::Step(int token) {
  if (full() || token < 0 || token >= cfg_.vocab) return empty_;
  StepForward(token);
  ++pos_;
  return logits_;
}

const std::vector<float>& InferenceEngine::Prefill(const std::vector<int>& tokens) {
  const int64_t T = (int64_t)tokens.size();
  if (T < 1 || T > (int64_t)cfg_.context - pos_) return empty_;
  for (int t : tokens)
    if (t < 0 || t >= cfg_.vocab) return empty_;
  Forward(tokens.data(), (int)T);
  return logits_;
}

bool InferenceEngine::PrefillAll(const std::vector<int>& tokens, std::vector<float>* logits) {
  const int64_t T = (int64_t)tokens.size();
  if (T < 1 || T > (int64_t)cfg_.context - pos_) return false;
  for (int t : tokens)
    if (t < 0 || t >= cfg_.vocab) return false;
  logits->resize((size_t)T * cfg_.vocab);
  Forward(tokens.data(), (int)T, logits->data());
  return true;
}

void InferenceEngine::Forward(const int* tokens, int T, float* all_logits) {
  const int C = cfg_.n_embd, NH = cfg_.n_head;
  const int hs = C / NH;
  const int p0 = pos_;
  const int Lk = p0 + T;  // keys visible to the last row
  const size_t N = (size_t)T;
  Grow(x_, N * C);
  Grow(ln_, N * C);
  Grow(qkv_, N * 3 * C);
  Grow(atty_, N * C);
  Grow(proj_, N * C);
  Grow(fch_, N * 4 * C);
  Grow(fchg_, N * 4 * C);
  Grow(mean_, N);
  Grow(rstd_, N);
  Grow(att_, (size_t)NH * T * Lk);
  const float* P = p_;
  float* x = x_.data();

  // Embedding, as encoder_forward at positions p0 + t.
  for (int t = 0; t < T; ++t) {
    const float* e = P + off_.wte + (int64_t)tokens[t] * C;
    const float* pe = P + off_.wpe + (int64_t)(p0 + t) * C;
    float* o = x + (size_t)t * C;
    for (int c = 0; c < C; ++c) o[c] = e[c] + pe[c];
  }

  const float scale = 1.0f / std::sqrt((float)hs);
  const int64_t C3 = 3 * (int64_t)C;
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const BlockOffsets& o = off_.blocks[l];
    float* kc = kcache_[l].data();
    float* vc = vcache_[l].data();
    layernorm_forward(ln_.data(), mean_.data(), rstd_.data(), x, P + o.ln1w, P + o.ln1b,
                      (int64_t)T, C);
    const BlockPacked& w = packed_[l];
    Linear(w.qkv, P + o.qkvw, P + o.qkvb, ln_.data(), qkv_.data(), T);
    const int NR = kern_.nr;
    for (int t = 0; t < T; ++t) {
      const int j = p0 + t;
      const float* q = qkv_.data() + t * C3;
      std::memcpy(kc + (size_t)j * C, q + C, sizeof(float) * C);
      std::memcpy(vc + (size_t)j * C, q + 2 * C, sizeof(float) * C);
      for (int h = 0; h < NH; ++h) {
        float* kd = kp_[l].data() + ((size_t)(h * npk_ + j / NR) * hs) * NR + j % NR;
        for (int k = 0; k < hs; ++k) kd[(size_t)k * NR] = q[C + h * hs + k];
        for (int c = 0; c < hs; ++c)
          vp_[l][(((size_t)(h * npv_ + c / NR)) * cfg_.context + j) * NR + c % NR] =
              q[2 * C + h * hs + c];
      }
    }
    // Causal attention of the T new rows over the Lk cached positions, per
    // head, with attention_forward's row softmax.
    const int nt = (!omp_in_parallel() && (double)T * Lk * C >= (1 << 16)) ? NumThreads() : 1;
    if (T == 1) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
      for (int h = 0; h < NH; ++h) StepAttentionHead(l, h);
    } else {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
      for (int h = 0; h < NH; ++h) {
      float* S = att_.data() + (size_t)h * T * Lk;
      // S[T, Lk] = Q[T, hs] · K[Lk, hs]^T
      Gemm(GemmShape{T, Lk, hs, false, true, (int)C3, C, Lk}, qkv_.data() + h * hs, kc + h * hs,
           S, GemmInit::kZero, nullptr, false);
      for (int i = 0; i < T; ++i) {
        float* row = S + (size_t)i * Lk;
        const int n = p0 + i + 1;  // visible keys
        float mx = row[0] * scale;
        for (int j = 0; j < n; ++j) mx = std::max(mx, row[j] * scale);
        for (int j = 0; j < n; ++j) row[j] = Exp(row[j] * scale - mx);
        const float inv = 1.0f / RowSum(row, n);
        for (int j = 0; j < n; ++j) row[j] = row[j] * inv;
        for (int j = n; j < Lk; ++j) row[j] = 0;
      }
      // Y[T, hs] = P[T, Lk] · V[Lk, hs]
      Gemm(GemmShape{T, hs, Lk, false, false, Lk, C, C}, S, vc + h * hs, atty_.data() + h * hs,
           GemmInit::kZero, nullptr, false);
      }
    }
    Linear(w.attproj, P + o.attprojw, P + o.attprojb, atty_.data(), proj_.data(), T);
    residual_forward(x, x, proj_.data(), (int64_t)T * C);
    layernorm_forward(ln_.data(), mean_.data(), rstd_.data(), x, P + o.ln2w, P + o.ln2b,
                      (int64_t)T, C);
    Linear(w.fc, P + o.fcw, P + o.fcb, ln_.data(), fch_.data(), T);
    gelu_forward(fchg_.data(), fch_.data(), (int64_t)T * 4 * C);
    Linear(w.fcproj, P + o.fcprojw, P + o.fcprojb, fchg_.data(), proj_.data(), T);
    residual_forward(x, x, proj_.data(), (int64_t)T * C);
  }
  if (all_logits) {
    // Final LayerNorm and tied LM head for every row, as the training forward.
    layernorm_forward(ln_.data(), mean_.data(), rstd_.data(), x, P + off_.lnfw, P + off_.lnfb,
                      (int64_t)T, C);
    Linear(lm_head_, P + off_.wte, nullptr, ln_.data(), all_logits, T);
    const size_t V = cfg_.vocab;
    std::copy(all_logits + (size_t)(T - 1) * V, all_logits + (size_t)T * V, logits_.begin());
    pos_ += T;
    return;
  }
  // Final LayerNorm and tied LM head, for the last row only.
  layernorm_forward(ln_.data(), mean_.data(), rstd_.data(), x + (size_t)(T - 1) * C,
                    P + off_.lnfw, P + off_.lnfb, (int64_t)1, C);
  MatVec(lm_head_, ln_.data(), logits_.data());
  pos_ += T;
}

void InferenceEngine::StepAttentionHead(int l, int h) {
  const int C = cfg_.n_embd, hs = C / cfg_.n_head;
  const int NR = kern_.nr;
  const int Lk = pos_ + 1;
  const float scale = 1.0f / std::sqrt((float)hs);
  float* S = att_.data() + (size_t)h * Lk;
  // S[Lk] = q · K^T over the key panels (the GEMM contract: fma over hs in order).
  const float* q = qkv_.data() + h * hs;
  const float* kp = kp_[l].data() + (size_t)h * npk_ * hs * NR;
  mv_.fn(hs, Lk, 0, (Lk + NR - 1) / NR, q, kp, (long)hs * NR, nullptr, S);
  // attention_forward's row softmax.
  float mx = S[0] * scale;
  for (int j = 0; j < Lk; ++j) mx = std::max(mx, S[j] * scale);
  for (int j = 0; j < Lk; ++j) S[j] = Exp(S[j] * scale - mx);
  const float inv = 1.0f / RowSum(S, Lk);
  for (int j = 0; j < Lk; ++j) S[j] = S[j] * inv;
  // y[hs] = P[Lk] · V[Lk, hs] (fma over Lk in order)
  const float* vp = vp_[l].data() + (size_t)h * npv_ * cfg_.context * NR;
  mv_.fn(Lk, hs, 0, npv_, S, vp, (long)cfg_.context * NR, nullptr, atty_.data() + h * hs);
}

namespace {

// One row of layernorm_forward (layers/layernorm.cpp), the same operations.
void LayerNormRow(float* o, const float* x, const float* w, const float* b, int C) {
  const float m = RowSum(x, C) / (float)C;
  const float var = RowSqDev(x, m, C) / (float)C;
  const float s = 1.0f / std::sqrt(var + (float)kLayerNormEps);
  for (int c = 0; c < C; ++c) o[c] = ((x[c] - m) * s) * w[c] + b[c];
}

}  // namespace

void InferenceEngine::StepForward(int token) {
  const int nt = omp_in_parallel() ? 1 : NumThreads();
  // Chunks over the OpenMP team (one region per product; none at 1 thread).
  auto run = [nt](int n, auto& f) {
    if (nt > 1 && n > 1) {
#pragma omp parallel for schedule(static) num_threads(nt)
      for (int i = 0; i < n; ++i) f(i);
    } else {
      for (int i = 0; i < n; ++i) f(i);
    }
  };
  const int C = cfg_.n_embd, NH = cfg_.n_head, hs = C / NH, NR = kern_.nr;
  const int j = pos_;
  const float* P = p_;
  float* x = x_.data();
  float* ln = ln_.data();
  // out[N] = in[K] . W^T (+ bias) in chunks of whole panels (about 64 rows);
  // `after(n0, n1)` runs on each chunk's rows once they are done.
  auto product = [&](const Packed& W, const float* in, float* out, auto&& after) {
    const float* xin = in;
    if (W.q8) {  // the row quantized once, by this thread
      Grow(xq_, (size_t)W.K);
      Grow(xd_, (size_t)W.K / kQ8Block);
      QuantizeActivationQ8(in, W.K, xq_.data(), xd_.data());
    }
    const int np = W.q8 ? W.q.np : W.np, width = W.q8 ? kQ8PanelRows : NR;
    const int per = std::max(1, 64 / width), chunks = (np + per - 1) / per;
    auto chunk = [&](int c) {
      const int p0 = c * per, p1 = std::min(np, p0 + per);
      const int n0 = p0 * width, n1 = std::min(W.N, p1 * width);
      if (W.q8) {
        Q8MatVecPanels(W.q, p0, p1, xq_.data(), xd_.data(), out, q8_fn_);
        if (W.has_bias)
          for (int n = n0; n < n1; ++n) out[n] = out[n] + W.bias[n];
      } else {
        mv_.fn(W.K, W.N, p0, p1, xin, W.panels.data(), (long)W.K * NR,
               W.has_bias ? W.bias.data() : nullptr, out);
      }
      after(n0, n1);
    };
    run(chunks, chunk);
  };
  auto nothing = [](int, int) {};
  // Embedding, as encoder_forward.
  const float* e = P + off_.wte + (int64_t)token * C;
  const float* pe = P + off_.wpe + (int64_t)j * C;
  for (int c = 0; c < C; ++c) x[c] = e[c] + pe[c];
  const float* q = qkv_.data();
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const BlockOffsets& o = off_.blocks[l];
    const BlockPacked& w = packed_[l];
    LayerNormRow(ln, x, P + o.ln1w, P + o.ln1b, C);
    product(w.qkv, ln, qkv_.data(), nothing);
    // Per head: cache the new key/value row, then attend.
    auto head = [&](int h) {
      std::memcpy(kcache_[l].data() + (size_t)j * C + h * hs, q + C + h * hs, sizeof(float) * hs);
      std::memcpy(vcache_[l].data() + (size_t)j * C + h * hs, q + 2 * C + h * hs,
                  sizeof(float) * hs);
      float* kd = kp_[l].data() + ((size_t)(h * npk_ + j / NR) * hs) * NR + j % NR;
      for (int k = 0; k < hs; ++k) kd[(size_t)k * NR] = q[C + h * hs + k];
      for (int c = 0; c < hs; ++c)
        vp_[l][(((size_t)(h * npv_ + c / NR)) * cfg_.context + j) * NR + c % NR] =
            q[2 * C + h * hs + c];
      StepAttentionHead(l, h);
    };
    run(NH, head);
    product(w.attproj, atty_.data(), proj_.data(), nothing);
    for (int c = 0; c < C; ++c) x[c] = x[c] + proj_[c];  // residual_forward
    LayerNormRow(ln, x, P + o.ln2w, P + o.ln2b, C);
    product(w.fc, ln, fch_.data(), [&](int n0, int n1) {
      if (n1 > n0) VecGeluForward(fchg_.data() + n0, fch_.data() + n0, n1 - n0);
    });
    product(w.fcproj, fchg_.data(), proj_.data(), nothing);
    for (int c = 0; c < C; ++c) x[c] = x[c] + proj_[c];
  }
  // Final LayerNorm and the tied LM head.
  LayerNormRow(ln, x, P + off_.lnfw, P + off_.lnfb, C);
  product(lm_head_, ln, logits_.data(), nothing);
}

std::unique_ptr<InferenceEngine> NewEngine(const LoadedModel& m) {
  const auto specs = GptParamSpecs(m.config);
  Q8Weights q8;
  bool any = false;
  // Raw Q8_0 blocks of tensor `name` when it is Q8_0 and its rows are whole blocks.
  auto raw = [&](const std::string& name) -> const uint8_t* {
    for (size_t i = 0; i < specs.size() && i < m.tensor_types.size(); ++i)
      if (specs[i].name == name && m.tensor_types[i] == ggml_type::kQ8_0 &&
          specs[i].shape.size() == 2 && specs[i].shape[1] % kQ8Block == 0) {
        any = true;
        return m.RawTensor(name);
      }
    return nullptr;
  };
  q8.wte = raw("token_embd.weight");
  for (int l = 0; l < m.config.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    q8.blocks.push_back({raw(b + "attn_qkv.weight"), raw(b + "attn_output.weight"),
                         raw(b + "ffn_up.weight"), raw(b + "ffn_down.weight")});
  }
  return std::make_unique<InferenceEngine>(m.config, m.params.data(), any ? &q8 : nullptr);
}

}  // namespace modelc
