#include "model/gpt.h"

#include <algorithm>
#include <cmath>

#include "kernels/reduce.h"
#include "layers/layers.h"

namespace modelc {

void AppendParamSpec(std::vector<ParamSpec>& specs, std::string name, std::vector<int64_t> shape,
                     ParamSpec::Init init, double init_std, bool decay) {
  ParamSpec p;
  p.name = std::move(name);
  p.shape = std::move(shape);
  p.size = 1;
  for (int64_t d : p.shape) p.size *= d;
  p.offset = specs.empty() ? 0 : specs.back().offset + specs.back().size;
  p.init = init;
  p.init_std = init_std;
  p.decay = decay;
  specs.push_back(std::move(p));
}

std::vector<ParamSpec> GptParamSpecs(const GptConfig& c) {
  using I = ParamSpec::Init;
  const int64_t C = c.n_embd;
  const double std0 = 0.02;
  // GPT-2: residual projections scaled by 1/sqrt(2 * n_layer).
  const double std_proj = 0.02 / std::sqrt(2.0 * c.n_layer);
  std::vector<ParamSpec> v;
  auto add = [&](std::string name, std::vector<int64_t> shape, I init, double sd, bool decay) {
    AppendParamSpec(v, std::move(name), std::move(shape), init, sd, decay);
  };
  add("token_embd.weight", {c.vocab, C}, I::kNormal, std0, true);
  add("position_embd.weight", {c.context, C}, I::kNormal, 0.01, true);
  for (int l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {C}, I::kOnes, 0, false);
    add(b + "attn_norm.bias", {C}, I::kZeros, 0, false);
    add(b + "attn_qkv.weight", {3 * C, C}, I::kNormal, std0, true);
    add(b + "attn_qkv.bias", {3 * C}, I::kZeros, 0, false);
    add(b + "attn_output.weight", {C, C}, I::kNormal, std_proj, true);
    add(b + "attn_output.bias", {C}, I::kZeros, 0, false);
    add(b + "ffn_norm.weight", {C}, I::kOnes, 0, false);
    add(b + "ffn_norm.bias", {C}, I::kZeros, 0, false);
    add(b + "ffn_up.weight", {4 * C, C}, I::kNormal, std0, true);
    add(b + "ffn_up.bias", {4 * C}, I::kZeros, 0, false);
    add(b + "ffn_down.weight", {C, 4 * C}, I::kNormal, std_proj, true);
    add(b + "ffn_down.bias", {C}, I::kZeros, 0, false);
  }
  add("output_norm.weight", {C}, I::kOnes, 0, false);
  add("output_norm.bias", {C}, I::kZeros, 0, false);
  return v;
}

int64_t ParamCountOf(const std::vector<ParamSpec>& specs) {
  return specs.empty() ? 0 : specs.back().offset + specs.back().size;
}

int64_t GptParamCount(const GptConfig& c) { return ParamCountOf(GptParamSpecs(c)); }

GptOffsets GptParamOffsets(const GptConfig& c) {
  auto v = GptParamSpecs(c);
  GptOffsets o;
  size_t i = 0;
  o.wte = v[i++].offset;
  o.wpe = v[i++].offset;
  for (int l = 0; l < c.n_layer; ++l) {
    BlockOffsets b;
    b.ln1w = v[i++].offset; b.ln1b = v[i++].offset;
    b.qkvw = v[i++].offset; b.qkvb = v[i++].offset;
    b.attprojw = v[i++].offset; b.attprojb = v[i++].offset;
    b.ln2w = v[i++].offset; b.ln2b = v[i++].offset;
    b.fcw = v[i++].offset; b.fcb = v[i++].offset;
    b.fcprojw = v[i++].offset; b.fcprojb = v[i++].offset;
    o.blocks.push_back(b);
  }
  o.lnfw = v[i++].offset;
  o.lnfb = v[i++].offset;
  return o;
}

template <class T>
void GptActivations<T>::Resize(const GptConfig& c, int b, int tn, bool for_grads) {
  const size_t nblocks = for_grads ? 1 : c.n_layer;
  if (B == b && Tn == tn && blocks.size() == nblocks) return;
  B = b;
  Tn = tn;
  const size_t N = (size_t)b * tn, C = c.n_embd;
  const size_t NS = for_grads ? 0 : N;  // LayerNorm statistics
  encoded.assign(N * C, 0);
  blocks.assign(nblocks, Block{});
  for (auto& k : blocks) {
    k.ln1.assign(N * C, 0); k.ln1_mean.assign(NS, 0); k.ln1_rstd.assign(NS, 0);
    k.qkv.assign(N * 3 * C, 0);
    k.att.assign(for_grads ? 0 : (size_t)b * c.n_head * tn * tn, 0);
    const size_t NR = for_grads ? 0 : N * C;  // residual branches (read from the stream in backward)
    k.atty.assign(N * C, 0); k.attproj.assign(NR, 0); k.res2.assign(NR, 0);
    k.ln2.assign(N * C, 0); k.ln2_mean.assign(NS, 0); k.ln2_rstd.assign(NS, 0);
    k.fch.assign(N * 4 * C, 0); k.fch_gelu.assign(N * 4 * C, 0);
    k.fcproj.assign(NR, 0); k.res3.assign(NR, 0);
  }
  lnf.assign(N * C, 0); lnf_mean.assign(NS, 0); lnf_rstd.assign(NS, 0);
  logits.assign(N * c.vocab, 0); probs.assign(for_grads ? 0 : N * c.vocab, 0);
  losses.assign(for_grads ? 0 : N, 0);
}

template <class T>
void GptActivations<T>::ZeroBlock(Block& k) {
  auto z = [](std::vector<T>& v) { std::fill(v.begin(), v.end(), T(0)); };
  z(k.ln1); z(k.ln1_mean); z(k.ln1_rstd); z(k.qkv); z(k.att); z(k.atty); z(k.attproj);
  z(k.res2); z(k.ln2); z(k.ln2_mean); z(k.ln2_rstd); z(k.fch); z(k.fch_gelu); z(k.fcproj);
  z(k.res3);
}

template <class T>
void GptActivations<T>::Zero() {
  auto z = [](std::vector<T>& v) { std::fill(v.begin(), v.end(), T(0)); };
  z(encoded);
  for (auto& k : blocks) ZeroBlock(k);
  z(lnf); z(lnf_mean); z(lnf_rstd); z(logits); z(probs); z(losses);
}

template <class T>
Gpt<T>::Gpt(const GptConfig& c) : cfg_(c), off_(GptParamOffsets(c)) {}

template <class T>
double Gpt<T>::Forward(const T* params, const int* tokens, const int* targets, int B, int Tn) {
  const int C = cfg_.n_embd, NH = cfg_.n_head, V = cfg_.vocab;
  const int64_t N = (int64_t)B * Tn;
  acts_.Resize(cfg_, B, Tn);
  GptActivations<T>& a = acts_;
  encoder_forward(a.encoded.data(), tokens, params + off_.wte, params + off_.wpe, B, Tn, C);
  const T* x = a.encoded.data();  // residual stream [N, C]
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const BlockOffsets& o = off_.blocks[l];
    auto& k = a.blocks[l];
    layernorm_forward(k.ln1.data(), k.ln1_mean.data(), k.ln1_rstd.data(), x, params + o.ln1w,
                      params + o.ln1b, N, C);
    linear_forward(k.qkv.data(), k.ln1.data(), params + o.qkvw, params + o.qkvb, N, C, 3 * C);
    attention_forward(k.atty.data(), k.att.data(), k.qkv.data(), B, Tn, C, NH);
    linear_forward(k.attproj.data(), k.atty.data(), params + o.attprojw, params + o.attprojb, N, C, C);
    residual_forward(k.res2.data(), x, k.attproj.data(), N * C);
    layernorm_forward(k.ln2.data(), k.ln2_mean.data(), k.ln2_rstd.data(), k.res2.data(),
                      params + o.ln2w, params + o.ln2b, N, C);
    linear_forward(k.fch.data(), k.ln2.data(), params + o.fcw, params + o.fcb, N, C, 4 * C);
    gelu_forward(k.fch_gelu.data(), k.fch.data(), N * 4 * C);
    linear_forward(k.fcproj.data(), k.fch_gelu.data(), params + o.fcprojw, params + o.fcprojb, N, 4 * C, C);
    residual_forward(k.res3.data(), k.res2.data(), k.fcproj.data(), N * C);
    x = k.res3.data();
  }
  layernorm_forward(a.lnf.data(), a.lnf_mean.data(), a.lnf_rstd.data(), x, params + off_.lnfw,
                    params + off_.lnfb, N, C);
  // Tied LM head: logits = lnf · wte^T
  linear_forward(a.logits.data(), a.lnf.data(), params + off_.wte, (const T*)nullptr, N, C, V);
  if (!targets) return 0;
  crossentropy_forward(a.probs.data(), a.losses.data(), a.logits.data(), targets, N, V);
  // Mean in double, fixed order (reporting only; gradients do not use it).
  double s = 0;
  for (int64_t n = 0; n < N; ++n) s += (double)a.losses[n];
  return s / (double)N;
}

template <class T>
void Gpt<T>::Backward(const T* params, T* grads, const int* tokens, const int* targets,
                      T loss_scale) {
  const int C = cfg_.n_embd, NH = cfg_.n_head, V = cfg_.vocab;
  const int B = acts_.B, Tn = acts_.Tn;
  const int64_t N = (int64_t)B * Tn;
  GptActivations<T>& a = acts_;
  GptActivations<T>& g = grads_;
  g.Resize(cfg_, B, Tn, /*for_grads=*/true);
  // The two buffers that are accumulated into; every other one is overwritten.
  std::fill(g.logits.begin(), g.logits.end(), T(0));
  std::fill(g.encoded.begin(), g.encoded.end(), T(0));
  crossentropy_backward(g.logits.data(), a.probs.data(), targets, loss_scale, N, V);
  linear_backward(g.lnf.data(), grads + off_.wte, (T*)nullptr, g.logits.data(), a.lnf.data(),
                  params + off_.wte, N, C, V, GradMode::kOverwrite);
  // g.encoded carries the residual-stream gradient down through the layers:
  // d(output of layer l) on entry to layer l, d(its input) on exit.
  T* dres = g.encoded.data();
  const T* x_last = cfg_.n_layer ? a.blocks.back().res3.data() : a.encoded.data();
  layernorm_backward(dres, grads + off_.lnfw, grads + off_.lnfb, g.lnf.data(), x_last,
                     params + off_.lnfw, a.lnf_mean.data(), a.lnf_rstd.data(), N, C);
  // Inside a layer every activation gradient has one writer, which
  // overwrites it (no zeroing); the residual branches need no buffers of
  // their own: d(fcproj) = d(res3) and d(attproj) = d(res2) are read straight
  // from dres, and each LayerNorm backward adds its share into dres.
  constexpr GradMode kOver = GradMode::kOverwrite;
  auto& dk = g.blocks[0];  // this layer's activation gradients (shared by all layers)
  for (int l = cfg_.n_layer - 1; l >= 0; --l) {
    const BlockOffsets& o = off_.blocks[l];
    auto& k = a.blocks[l];
    const T* x = l ? a.blocks[l - 1].res3.data() : a.encoded.data();
    // dres = d(res3)
    linear_backward(dk.fch_gelu.data(), grads + o.fcprojw, grads + o.fcprojb, dres,
                    k.fch_gelu.data(), params + o.fcprojw, N, 4 * C, C, kOver);
    gelu_backward(dk.fch.data(), k.fch.data(), dk.fch_gelu.data(), N * 4 * C, kOver);
    linear_backward(dk.ln2.data(), grads + o.fcw, grads + o.fcb, dk.fch.data(), k.ln2.data(),
                    params + o.fcw, N, C, 4 * C, kOver);
    layernorm_backward(dres, grads + o.ln2w, grads + o.ln2b, dk.ln2.data(), k.res2.data(),
                       params + o.ln2w, k.ln2_mean.data(), k.ln2_rstd.data(), N, C);
    // dres = d(res2)
    linear_backward(dk.atty.data(), grads + o.attprojw, grads + o.attprojb, dres, k.atty.data(),
                    params + o.attprojw, N, C, C, kOver);
    attention_backward(dk.qkv.data(), dk.atty.data(), k.qkv.data(), k.att.data(), B, Tn, C, NH,
                       kOver);
    linear_backward(dk.ln1.data(), grads + o.qkvw, grads + o.qkvb, dk.qkv.data(), k.ln1.data(),
                    params + o.qkvw, N, C, 3 * C, kOver);
    layernorm_backward(dres, grads + o.ln1w, grads + o.ln1b, dk.ln1.data(), x, params + o.ln1w,
                       k.ln1_mean.data(), k.ln1_rstd.data(), N, C);
    // dres = d(x), the gradient of this layer's input
  }
  encoder_backward(grads + off_.wte, grads + off_.wpe, g.encoded.data(), tokens, B, Tn, C, V);
}

template struct GptActivations<float>;
template struct GptActivations<double>;
template class Gpt<float>;
template class Gpt<double>;

}  // namespace modelc
