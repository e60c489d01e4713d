// GPT-2 inference (runtime/engine.h): KV cache, packed weights, the training
// forward's math (model/gpt.h) bit for bit.
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

GptEngine::GptEngine(const GptConfig& c, const float* params, const Q8Weights* q8)
    : InferenceEngine(FromGptConfig(c), params), g_(c), off_(GptParamOffsets(c)) {
  const size_t C = c.n_embd, ctx = c.context;
  const int Ci = c.n_embd;
  for (size_t l = 0; l < off_.blocks.size(); ++l) {
    const BlockOffsets& o = off_.blocks[l];
    const std::string n = "blk." + std::to_string(l) + ".";
    BlockPacked b;
    b.qkv = PackNamed(q8, n + "attn_qkv.weight", params + o.qkvw, params + o.qkvb, 3 * Ci, Ci);
    b.attproj = PackNamed(q8, n + "attn_output.weight", params + o.attprojw, params + o.attprojb, Ci, Ci);
    b.fc = PackNamed(q8, n + "ffn_up.weight", params + o.fcw, params + o.fcb, 4 * Ci, Ci);
    b.fcproj = PackNamed(q8, n + "ffn_down.weight", params + o.fcprojw, params + o.fcprojb, Ci, 4 * Ci);
    packed_.push_back(std::move(b));
  }
  lm_head_ = PackNamed(q8, "token_embd.weight", params + off_.wte, nullptr, c.vocab, Ci);
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
}

void GptEngine::Forward(const int* tokens, int T, float* all_logits) {
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
      for (int h = 0; h < NH; ++h)
        PrefillAttentionHead(qkv_.data() + h * hs, (int)C3, kc + h * hs, C, vc + h * hs, C, T, p0, hs,
                             att_.data() + (size_t)h * T * Lk, atty_.data() + h * hs, C);
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

void GptEngine::StepAttentionHead(int l, int h) {
  const int hs = cfg_.n_embd / cfg_.n_head, NR = kern_.nr, Lk = pos_ + 1;
  StepAttentionRow(qkv_.data() + h * hs, kp_[l].data() + (size_t)h * npk_ * hs * NR,
                   vp_[l].data() + (size_t)h * npv_ * cfg_.context * NR, Lk, hs,
                   att_.data() + (size_t)h * Lk, atty_.data() + h * hs);
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

void GptEngine::StepForward(int token) {
  const int C = cfg_.n_embd, NH = cfg_.n_head, hs = C / NH, NR = kern_.nr;
  const int j = pos_;
  const float* P = p_;
  float* x = x_.data();
  float* ln = ln_.data();
  auto product = [&](const Packed& W, const float* in, float* out, auto&& after) {
    StepProduct(W, in, out, after);
  };
  auto run = [&](int n, auto&& f) { StepRun(n, f); };
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

}  // namespace modelc
