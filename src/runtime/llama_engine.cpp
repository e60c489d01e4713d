// Llama inference (runtime/engine.h): KV cache of n_head_kv heads, RoPE at
// the absolute position, SwiGLU, RMSNorm; the training forward's math
// (model/llama.h, layers/layers.h) bit for bit, as GptEngine's.
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
#include "runtime/engine.h"
#include "runtime/engine_impl.h"

namespace modelc {

namespace {

// One row of rmsnorm_forward (layers/rmsnorm.cpp), the same operations.
void RmsNormRow(float* o, const float* x, const float* w, int C, double eps) {
  const float ms = RowDot(x, x, C) / (float)C;
  const float s = 1.0f / std::sqrt(ms + (float)eps);
  for (int c = 0; c < C; ++c) o[c] = (x[c] * s) * w[c];
}

// rope_forward (layers/rope.cpp) on one row of nh heads at one position.
void RopeRow(float* x, const float* cs, const float* sn, int nh, int hs) {
  const int half = hs / 2;
  for (int h = 0; h < nh; ++h) {
    float* y = x + (size_t)h * hs;  // [hs]
    for (int i = 0; i < half; ++i) {
      const float x0 = y[2 * i], x1 = y[2 * i + 1];
      y[2 * i] = x0 * cs[i] - x1 * sn[i];
      y[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
    }
  }
}


}  // namespace

LlamaEngine::LlamaEngine(const LlamaConfig& c, const float* params, const Q8Weights* q8)
    : InferenceEngine(FromLlamaConfig(c), params), l_(c), off_(LlamaParamOffsets(c)) {
  const int C = c.n_embd, hs = c.head_dim(), KV = c.n_head_kv * hs, H = c.ffn_hidden;
  const size_t ctx = c.context;
  for (int l = 0; l < c.n_layer; ++l) {
    const LlamaBlockOffsets& o = off_.blocks[l];
    const std::string n = "blk." + std::to_string(l) + ".";
    BlockPacked b;
    b.wq = PackNamed(q8, n + "attn_q.weight", params + o.wq, nullptr, C, C);
    b.wk = PackNamed(q8, n + "attn_k.weight", params + o.wk, nullptr, KV, C);
    b.wv = PackNamed(q8, n + "attn_v.weight", params + o.wv, nullptr, KV, C);
    b.wo = PackNamed(q8, n + "attn_output.weight", params + o.wo, nullptr, C, C);
    b.gate = PackNamed(q8, n + "ffn_gate.weight", params + o.w_gate, nullptr, H, C);
    b.up = PackNamed(q8, n + "ffn_up.weight", params + o.w_up, nullptr, H, C);
    b.down = PackNamed(q8, n + "ffn_down.weight", params + o.w_down, nullptr, C, H);
    packed_.push_back(std::move(b));
  }
  lm_head_ = PackNamed(q8, c.tie_embeddings ? "token_embd.weight" : "output.weight",
                       params + off_.output, nullptr, c.vocab, C);
  cos_.resize(ctx * (hs / 2));
  sin_.resize(ctx * (hs / 2));
  rope_table(cos_.data(), sin_.data(), c.context, hs, c.rope_theta);
  kcache_.assign(c.n_layer, std::vector<float>(ctx * KV));
  vcache_.assign(c.n_layer, std::vector<float>(ctx * KV));
  x_.resize(C);
  ln_.resize(C);
  q_.resize(C);
  k_.resize(KV);
  v_.resize(KV);
  atty_.resize(C);
  proj_.resize(C);
  gate_.resize(H);
  up_.resize(H);
  swi_.resize(H);
  rstd_.resize(1);
  att_.resize((size_t)c.n_head * ctx);
  const int NR = kern_.nr;
  npk_ = (c.context + NR - 1) / NR;
  npv_ = (hs + NR - 1) / NR;
  kp_.assign(c.n_layer, std::vector<float>((size_t)c.n_head_kv * npk_ * hs * NR, 0.0f));
  vp_.assign(c.n_layer, std::vector<float>((size_t)c.n_head_kv * npv_ * ctx * NR, 0.0f));
}

void LlamaEngine::CacheRow(int l, int t, int j) {
  const int hs = l_.head_dim(), NKV = l_.n_head_kv, KV = NKV * hs, NR = kern_.nr;
  const float* k = k_.data() + (size_t)t * KV;
  const float* v = v_.data() + (size_t)t * KV;
  std::memcpy(kcache_[l].data() + (size_t)j * KV, k, sizeof(float) * KV);
  std::memcpy(vcache_[l].data() + (size_t)j * KV, v, sizeof(float) * KV);
  for (int h = 0; h < NKV; ++h) {
    float* kd = kp_[l].data() + ((size_t)(h * npk_ + j / NR) * hs) * NR + j % NR;
    for (int i = 0; i < hs; ++i) kd[(size_t)i * NR] = k[h * hs + i];
    for (int c = 0; c < hs; ++c)
      vp_[l][(((size_t)(h * npv_ + c / NR)) * l_.context + j) * NR + c % NR] = v[h * hs + c];
  }
}

void LlamaEngine::Forward(const int* tokens, int T, float* all_logits) {
  const int C = l_.n_embd, NH = l_.n_head, NKV = l_.n_head_kv, hs = l_.head_dim();
  const int KV = NKV * hs, H = l_.ffn_hidden, G = NH / NKV, half = hs / 2;
  const double eps = l_.rms_eps;
  const int p0 = pos_;
  const int Lk = p0 + T;  // keys visible to the last row
  const size_t N = (size_t)T;
  Grow(x_, N * C);
  Grow(ln_, N * C);
  Grow(q_, N * C);
  Grow(k_, N * KV);
  Grow(v_, N * KV);
  Grow(atty_, N * C);
  Grow(proj_, N * C);
  Grow(gate_, N * H);
  Grow(up_, N * H);
  Grow(swi_, N * H);
  Grow(rstd_, N);
  Grow(att_, (size_t)NH * T * Lk);
  const float* P = p_;
  float* x = x_.data();
  for (int t = 0; t < T; ++t)
    std::memcpy(x + (size_t)t * C, P + off_.tok_embd + (int64_t)tokens[t] * C, sizeof(float) * C);

  for (int l = 0; l < l_.n_layer; ++l) {
    const LlamaBlockOffsets& o = off_.blocks[l];
    const BlockPacked& w = packed_[l];
    const float* kc = kcache_[l].data();
    const float* vc = vcache_[l].data();
    rmsnorm_forward(ln_.data(), rstd_.data(), x, P + o.attn_norm, (int64_t)T, C, eps);
    Linear(w.wq, P + o.wq, nullptr, ln_.data(), q_.data(), T);
    Linear(w.wk, P + o.wk, nullptr, ln_.data(), k_.data(), T);
    Linear(w.wv, P + o.wv, nullptr, ln_.data(), v_.data(), T);
    for (int t = 0; t < T; ++t) {
      const int j = p0 + t;
      const float* cs = cos_.data() + (size_t)j * half;
      const float* sn = sin_.data() + (size_t)j * half;
      RopeRow(q_.data() + (size_t)t * C, cs, sn, NH, hs);
      RopeRow(k_.data() + (size_t)t * KV, cs, sn, NKV, hs);
      CacheRow(l, t, j);
    }
    const int nt = (!omp_in_parallel() && (double)T * Lk * C >= (1 << 16)) ? NumThreads() : 1;
    if (T == 1) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
      for (int h = 0; h < NH; ++h) StepAttentionHead(l, h);
    } else {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
      for (int h = 0; h < NH; ++h) {
        const int kvh = h / G;  // query head h reads kv head kvh
        PrefillAttentionHead(q_.data() + h * hs, C, kc + kvh * hs, KV, vc + kvh * hs, KV, T, p0, hs,
                             att_.data() + (size_t)h * T * Lk, atty_.data() + h * hs, C);
      }
    }
    Linear(w.wo, P + o.wo, nullptr, atty_.data(), proj_.data(), T);
    residual_forward(x, x, proj_.data(), (int64_t)T * C);
    rmsnorm_forward(ln_.data(), rstd_.data(), x, P + o.ffn_norm, (int64_t)T, C, eps);
    Linear(w.gate, P + o.w_gate, nullptr, ln_.data(), gate_.data(), T);
    Linear(w.up, P + o.w_up, nullptr, ln_.data(), up_.data(), T);
    swiglu_forward(swi_.data(), gate_.data(), up_.data(), (int64_t)T * H);
    Linear(w.down, P + o.w_down, nullptr, swi_.data(), proj_.data(), T);
    residual_forward(x, x, proj_.data(), (int64_t)T * C);
  }
  if (all_logits) {
    rmsnorm_forward(ln_.data(), rstd_.data(), x, P + off_.output_norm, (int64_t)T, C, eps);
    Linear(lm_head_, P + off_.output, nullptr, ln_.data(), all_logits, T);
    const size_t V = cfg_.vocab;
    std::copy(all_logits + (size_t)(T - 1) * V, all_logits + (size_t)T * V, logits_.begin());
    pos_ += T;
    return;
  }
  RmsNormRow(ln_.data(), x + (size_t)(T - 1) * C, P + off_.output_norm, C, eps);
  MatVec(lm_head_, ln_.data(), logits_.data());
  pos_ += T;
}

void LlamaEngine::StepAttentionHead(int l, int h) {
  const int hs = l_.head_dim(), NR = kern_.nr, kvh = h / (l_.n_head / l_.n_head_kv);
  const int Lk = pos_ + 1;
  StepAttentionRow(q_.data() + h * hs, kp_[l].data() + (size_t)kvh * npk_ * hs * NR,
                   vp_[l].data() + (size_t)kvh * npv_ * l_.context * NR, Lk, hs,
                   att_.data() + (size_t)h * Lk, atty_.data() + h * hs);
}

void LlamaEngine::StepForward(int token) {
  const int C = l_.n_embd, NH = l_.n_head, NKV = l_.n_head_kv, hs = l_.head_dim();
  const int half = hs / 2;
  const double eps = l_.rms_eps;
  const int j = pos_;
  const float* P = p_;
  float* x = x_.data();
  float* ln = ln_.data();
  auto nothing = [](int, int) {};
  std::memcpy(x, P + off_.tok_embd + (int64_t)token * C, sizeof(float) * C);
  const float* cs = cos_.data() + (size_t)j * half;
  const float* sn = sin_.data() + (size_t)j * half;
  for (int l = 0; l < l_.n_layer; ++l) {
    const LlamaBlockOffsets& o = off_.blocks[l];
    const BlockPacked& w = packed_[l];
    RmsNormRow(ln, x, P + o.attn_norm, C, eps);
    StepProduct(w.wq, ln, q_.data(), nothing);
    StepProduct(w.wk, ln, k_.data(), nothing);
    StepProduct(w.wv, ln, v_.data(), nothing);
    RopeRow(q_.data(), cs, sn, NH, hs);
    RopeRow(k_.data(), cs, sn, NKV, hs);
    CacheRow(l, 0, j);
    StepRun(NH, [&](int h) { StepAttentionHead(l, h); });
    StepProduct(w.wo, atty_.data(), proj_.data(), nothing);
    for (int c = 0; c < C; ++c) x[c] = x[c] + proj_[c];  // residual_forward
    RmsNormRow(ln, x, P + o.ffn_norm, C, eps);
    StepProduct(w.gate, ln, gate_.data(), nothing);
    StepProduct(w.up, ln, up_.data(), [&](int n0, int n1) {
      VecSwiGluForward(swi_.data() + n0, gate_.data() + n0, up_.data() + n0, n1 - n0);
    });
    StepProduct(w.down, swi_.data(), proj_.data(), nothing);
    for (int c = 0; c < C; ++c) x[c] = x[c] + proj_[c];
  }
  RmsNormRow(ln, x, P + off_.output_norm, C, eps);
  StepProduct(lm_head_, ln, logits_.data(), nothing);
}

}  // namespace modelc
