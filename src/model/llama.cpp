#include "model/llama.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "layers/layers.h"

namespace modelc {

namespace {

void CheckConfig(const LlamaConfig& c) {
  const int hs = c.head_dim();
  if (c.vocab <= 0 || c.context <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 ||
      c.n_embd <= 0 || c.ffn_hidden <= 0)
    throw std::invalid_argument("llama: vocab, context, n_layer, n_head, n_head_kv, n_embd and "
                                "ffn_hidden must be positive");
  if (hs * c.n_head != c.n_embd)
    throw std::invalid_argument("llama: n_head must divide n_embd");
  if (hs % 2 != 0) throw std::invalid_argument("llama: head_dim (n_embd / n_head) must be even (RoPE pairs)");
  if (c.n_head % c.n_head_kv != 0) throw std::invalid_argument("llama: n_head_kv must divide n_head");
  if (!(c.rope_theta > 1.0)) throw std::invalid_argument("llama: rope_theta must be > 1");
  if (!(c.rms_eps > 0.0)) throw std::invalid_argument("llama: rms_eps must be > 0");
  if (c.context > (1 << 20)) throw std::invalid_argument("llama: context must be <= 2^20 (RoPE table)");
}

}  // namespace

std::vector<ParamSpec> LlamaParamSpecs(const LlamaConfig& c) {
  CheckConfig(c);
  using I = ParamSpec::Init;
  const int64_t C = c.n_embd, V = c.vocab, H = c.ffn_hidden;
  const int64_t hs = c.head_dim(), Q = (int64_t)c.n_head * hs, KV = (int64_t)c.n_head_kv * hs;
  const double std0 = 0.02;
  // As GPT-2: the projections into the residual stream scaled by 1/sqrt(2 * n_layer).
  const double std_proj = 0.02 / std::sqrt(2.0 * c.n_layer);
  std::vector<ParamSpec> v;
  auto add = [&](std::string name, std::vector<int64_t> shape, I init, double sd, bool decay) {
    AppendParamSpec(v, std::move(name), std::move(shape), init, sd, decay);
  };
  add("token_embd.weight", {V, C}, I::kNormal, std0, true);
  for (int l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {C}, I::kOnes, 0, false);
    add(b + "attn_q.weight", {Q, C}, I::kNormal, std0, true);
    add(b + "attn_k.weight", {KV, C}, I::kNormal, std0, true);
    add(b + "attn_v.weight", {KV, C}, I::kNormal, std0, true);
    add(b + "attn_output.weight", {C, Q}, I::kNormal, std_proj, true);
    add(b + "ffn_norm.weight", {C}, I::kOnes, 0, false);
    add(b + "ffn_gate.weight", {H, C}, I::kNormal, std0, true);
    add(b + "ffn_up.weight", {H, C}, I::kNormal, std0, true);
    add(b + "ffn_down.weight", {C, H}, I::kNormal, std_proj, true);
  }
  add("output_norm.weight", {C}, I::kOnes, 0, false);
  if (!c.tie_embeddings) add("output.weight", {V, C}, I::kNormal, std0, true);
  return v;
}

int64_t LlamaParamCount(const LlamaConfig& c) { return ParamCountOf(LlamaParamSpecs(c)); }

LlamaOffsets LlamaParamOffsets(const LlamaConfig& c) {
  auto v = LlamaParamSpecs(c);
  LlamaOffsets o;
  size_t i = 0;
  o.tok_embd = v[i++].offset;
  for (int l = 0; l < c.n_layer; ++l) {
    LlamaBlockOffsets b;
    b.attn_norm = v[i++].offset;
    b.wq = v[i++].offset;
    b.wk = v[i++].offset;
    b.wv = v[i++].offset;
    b.wo = v[i++].offset;
    b.ffn_norm = v[i++].offset;
    b.w_gate = v[i++].offset;
    b.w_up = v[i++].offset;
    b.w_down = v[i++].offset;
    o.blocks.push_back(b);
  }
  o.output_norm = v[i++].offset;
  o.output = c.tie_embeddings ? o.tok_embd : v[i++].offset;
  return o;
}

template <class T>
void LlamaActivations<T>::Resize(const LlamaConfig& c, int b, int tn, bool for_grads) {
  const size_t nblocks = for_grads ? 1 : c.n_layer;
  if (B == b && Tn == tn && blocks.size() == nblocks) return;
  B = b;
  Tn = tn;
  const size_t N = (size_t)b * tn, C = c.n_embd, H = c.ffn_hidden;
  const size_t KV = (size_t)c.n_head_kv * c.head_dim();
  const size_t NS = for_grads ? 0 : N;      // RMSNorm statistics
  const size_t NR = for_grads ? 0 : N * C;  // residual branches
  encoded.assign(N * C, 0);
  blocks.assign(nblocks, Block{});
  for (auto& k : blocks) {
    k.ln1.assign(N * C, 0); k.ln1_rstd.assign(NS, 0);
    k.q.assign(N * C, 0); k.k.assign(N * KV, 0); k.v.assign(N * KV, 0);
    k.att.assign(for_grads ? 0 : (size_t)b * c.n_head * tn * tn, 0);
    k.atty.assign(N * C, 0); k.attproj.assign(NR, 0); k.res2.assign(NR, 0);
    k.ln2.assign(N * C, 0); k.ln2_rstd.assign(NS, 0);
    k.gate.assign(N * H, 0); k.up.assign(N * H, 0); k.swi.assign(N * H, 0);
    k.ffnout.assign(NR, 0); k.res3.assign(NR, 0);
  }
  lnf.assign(N * C, 0); lnf_rstd.assign(NS, 0);
  logits.assign(N * c.vocab, 0); probs.assign(for_grads ? 0 : N * c.vocab, 0);
  losses.assign(for_grads ? 0 : N, 0);
}

template <class T>
Llama<T>::Llama(const LlamaConfig& c) : cfg_(c), off_(LlamaParamOffsets(c)) {
  const int half = c.head_dim() / 2;
  cos_.assign((size_t)c.context * half, 0);
  sin_.assign((size_t)c.context * half, 0);
  // Row t of the table depends on t only, so the first Tn rows serve any Tn <= context.
  rope_table(cos_.data(), sin_.data(), c.context, c.head_dim(), c.rope_theta);
}

template <class T>
double Llama<T>::Forward(const T* params, const int* tokens, const int* targets, int B, int Tn) {
  if (Tn <= 0 || Tn > cfg_.context || B <= 0)
    throw std::invalid_argument("llama: batch shape out of range (T must be <= context)");
  const int C = cfg_.n_embd, NH = cfg_.n_head, NKV = cfg_.n_head_kv, V = cfg_.vocab;
  const int H = cfg_.ffn_hidden, hs = cfg_.head_dim(), KV = NKV * hs;
  const double eps = cfg_.rms_eps;
  const int64_t N = (int64_t)B * Tn;
  acts_.Resize(cfg_, B, Tn);
  LlamaActivations<T>& a = acts_;
  encoder_forward(a.encoded.data(), tokens, params + off_.tok_embd, (const T*)nullptr, B, Tn, C);
  const T* x = a.encoded.data();  // residual stream [N, C]
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const LlamaBlockOffsets& o = off_.blocks[l];
    auto& k = a.blocks[l];
    rmsnorm_forward(k.ln1.data(), k.ln1_rstd.data(), x, params + o.attn_norm, N, C, eps);
    linear_forward(k.q.data(), k.ln1.data(), params + o.wq, (const T*)nullptr, N, C, C);
    linear_forward(k.k.data(), k.ln1.data(), params + o.wk, (const T*)nullptr, N, C, KV);
    linear_forward(k.v.data(), k.ln1.data(), params + o.wv, (const T*)nullptr, N, C, KV);
    rope_forward(k.q.data(), k.q.data(), cos_.data(), sin_.data(), B, Tn, NH, hs);
    rope_forward(k.k.data(), k.k.data(), cos_.data(), sin_.data(), B, Tn, NKV, hs);
    attention_gqa_forward(k.atty.data(), k.att.data(), k.q.data(), k.k.data(), k.v.data(), B, Tn,
                          NH, NKV, hs);
    linear_forward(k.attproj.data(), k.atty.data(), params + o.wo, (const T*)nullptr, N, C, C);
    residual_forward(k.res2.data(), x, k.attproj.data(), N * C);
    rmsnorm_forward(k.ln2.data(), k.ln2_rstd.data(), k.res2.data(), params + o.ffn_norm, N, C, eps);
    linear_forward(k.gate.data(), k.ln2.data(), params + o.w_gate, (const T*)nullptr, N, C, H);
    linear_forward(k.up.data(), k.ln2.data(), params + o.w_up, (const T*)nullptr, N, C, H);
    swiglu_forward(k.swi.data(), k.gate.data(), k.up.data(), N * H);
    linear_forward(k.ffnout.data(), k.swi.data(), params + o.w_down, (const T*)nullptr, N, H, C);
    residual_forward(k.res3.data(), k.res2.data(), k.ffnout.data(), N * C);
    x = k.res3.data();
  }
  rmsnorm_forward(a.lnf.data(), a.lnf_rstd.data(), x, params + off_.output_norm, N, C, eps);
  // LM head: logits = lnf · W^T, W = output.weight or (tied) token_embd.weight [V, C]
  linear_forward(a.logits.data(), a.lnf.data(), params + off_.output, (const T*)nullptr, N, C, V);
  if (!targets) return 0;
  crossentropy_forward(a.probs.data(), a.losses.data(), a.logits.data(), targets, N, V);
  // Mean in double, fixed order (reporting only; gradients do not use it).
  double s = 0;
  for (int64_t n = 0; n < N; ++n) s += (double)a.losses[n];
  return s / (double)N;
}

template <class T>
void Llama<T>::Backward(const T* params, T* grads, const int* tokens, const int* targets,
                        T loss_scale) {
  const int C = cfg_.n_embd, NH = cfg_.n_head, NKV = cfg_.n_head_kv, V = cfg_.vocab;
  const int H = cfg_.ffn_hidden, hs = cfg_.head_dim(), KV = NKV * hs;
  const int B = acts_.B, Tn = acts_.Tn;
  const int64_t N = (int64_t)B * Tn;
  LlamaActivations<T>& a = acts_;
  LlamaActivations<T>& g = grads_;
  g.Resize(cfg_, B, Tn, /*for_grads=*/true);
  constexpr GradMode kOver = GradMode::kOverwrite, kAcc = GradMode::kAccumulate;
  // The buffers that are accumulated into are zeroed; every other one has a
  // first writer that overwrites it.
  std::fill(g.logits.begin(), g.logits.end(), T(0));
  std::fill(g.encoded.begin(), g.encoded.end(), T(0));
  crossentropy_backward(g.logits.data(), a.probs.data(), targets, loss_scale, N, V);
  // Tied: the head's weight gradient lands in token_embd's, before the embedding's own.
  linear_backward(g.lnf.data(), grads + off_.output, (T*)nullptr, g.logits.data(), a.lnf.data(),
                  params + off_.output, N, C, V, kOver);
  // g.encoded carries the residual-stream gradient down through the layers:
  // d(output of layer l) on entry to layer l, d(its input) on exit.
  T* dres = g.encoded.data();
  const T* x_last = a.blocks.back().res3.data();
  rmsnorm_backward(dres, grads + off_.output_norm, g.lnf.data(), x_last, params + off_.output_norm,
                   a.lnf_rstd.data(), N, C);
  auto& dk = g.blocks[0];  // this layer's activation gradients (shared by all layers)
  for (int l = cfg_.n_layer - 1; l >= 0; --l) {
    const LlamaBlockOffsets& o = off_.blocks[l];
    auto& k = a.blocks[l];
    const T* x = l ? a.blocks[l - 1].res3.data() : a.encoded.data();
    // dres = d(res3) = d(ffnout)
    linear_backward(dk.swi.data(), grads + o.w_down, (T*)nullptr, dres, k.swi.data(),
                    params + o.w_down, N, H, C, kOver);
    std::fill(dk.gate.begin(), dk.gate.end(), T(0));  // swiglu_backward accumulates
    std::fill(dk.up.begin(), dk.up.end(), T(0));
    swiglu_backward(dk.gate.data(), dk.up.data(), dk.swi.data(), k.gate.data(), k.up.data(), N * H);
    linear_backward(dk.ln2.data(), grads + o.w_gate, (T*)nullptr, dk.gate.data(), k.ln2.data(),
                    params + o.w_gate, N, C, H, kOver);
    linear_backward(dk.ln2.data(), grads + o.w_up, (T*)nullptr, dk.up.data(), k.ln2.data(),
                    params + o.w_up, N, C, H, kAcc);
    rmsnorm_backward(dres, grads + o.ffn_norm, dk.ln2.data(), k.res2.data(), params + o.ffn_norm,
                     k.ln2_rstd.data(), N, C);
    // dres = d(res2) = d(attproj)
    linear_backward(dk.atty.data(), grads + o.wo, (T*)nullptr, dres, k.atty.data(), params + o.wo,
                    N, C, C, kOver);
    attention_gqa_backward(dk.q.data(), dk.k.data(), dk.v.data(), dk.atty.data(), k.q.data(),
                           k.k.data(), k.v.data(), k.att.data(), B, Tn, NH, NKV, hs, kOver);
    // d(pre-RoPE q, k), in place
    rope_backward(dk.q.data(), dk.q.data(), cos_.data(), sin_.data(), B, Tn, NH, hs, kOver);
    rope_backward(dk.k.data(), dk.k.data(), cos_.data(), sin_.data(), B, Tn, NKV, hs, kOver);
    linear_backward(dk.ln1.data(), grads + o.wq, (T*)nullptr, dk.q.data(), k.ln1.data(),
                    params + o.wq, N, C, C, kOver);
    linear_backward(dk.ln1.data(), grads + o.wk, (T*)nullptr, dk.k.data(), k.ln1.data(),
                    params + o.wk, N, C, KV, kAcc);
    linear_backward(dk.ln1.data(), grads + o.wv, (T*)nullptr, dk.v.data(), k.ln1.data(),
                    params + o.wv, N, C, KV, kAcc);
    rmsnorm_backward(dres, grads + o.attn_norm, dk.ln1.data(), x, params + o.attn_norm,
                     k.ln1_rstd.data(), N, C);
    // dres = d(x), the gradient of this layer's input
  }
  encoder_backward(grads + off_.tok_embd, (T*)nullptr, dres, tokens, B, Tn, C, V);
}

template struct LlamaActivations<float>;
template struct LlamaActivations<double>;
template class Llama<float>;
template class Llama<double>;

}  // namespace modelc
