#include "runtime/engine.h"

#include "binary/model_file.h"
#include "runtime/engine_impl.h"

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

InferenceEngine::InferenceEngine(const ModelConfig& c, const float* params)
    : cfg_(c), p_(params), kern_(GemmKernelForIsa(ActiveIsa())),
      mv_(MatVecKernelForIsa(ActiveIsa())) {
  SetQ8Kernel(ActiveQ8Kernel());
  logits_.resize(c.vocab);
}

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

InferenceEngine::Packed InferenceEngine::PackNamed(const Q8Weights* q8w, const std::string& name,
                                                   const float* W, const float* bias, int N, int K) {
  const uint8_t* q8 = nullptr;
  if (q8w) {
    const auto it = q8w->find(name);
    if (it != q8w->end()) q8 = it->second;
  }
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

namespace {

// attention_forward's row softmax over the n visible scores of `row`.
void SoftmaxRow(float* row, int n, float scale) {
  float mx = row[0] * scale;
  for (int j = 0; j < n; ++j) mx = std::max(mx, row[j] * scale);
  VecExpScaled(row, n, scale, mx);
  const float inv = 1.0f / RowSum(row, n);
  for (int j = 0; j < n; ++j) row[j] = row[j] * inv;
}

}  // namespace

void InferenceEngine::PrefillAttentionHead(const float* q, int ldq, const float* k, int ldk,
                                           const float* v, int ldv, int T, int p0, int hs, float* S,
                                           float* out, int ldo) const {
  const int Lk = p0 + T;
  const float scale = 1.0f / std::sqrt((float)hs);
  // S[T, Lk] = Q[T, hs] · K[Lk, hs]^T
  Gemm(GemmShape{T, Lk, hs, false, true, ldq, ldk, Lk}, q, k, S, GemmInit::kZero, nullptr, false);
  for (int i = 0; i < T; ++i) {
    float* row = S + (size_t)i * Lk;
    const int n = p0 + i + 1;  // visible keys
    SoftmaxRow(row, n, scale);
    for (int j = n; j < Lk; ++j) row[j] = 0;
  }
  // Y[T, hs] = P[T, Lk] · V[Lk, hs]
  Gemm(GemmShape{T, hs, Lk, false, false, Lk, ldv, ldo}, S, v, out, GemmInit::kZero, nullptr, false);
}

void InferenceEngine::StepAttentionRow(const float* q, const float* kp, const float* vp, int Lk,
                                       int hs, float* S, float* out) const {
  const int NR = kern_.nr, npv = (hs + NR - 1) / NR;
  // S[Lk] = q · K^T over the key panels (the GEMM contract: fma over hs in order).
  mv_.fn(hs, Lk, 0, (Lk + NR - 1) / NR, q, kp, (long)hs * NR, nullptr, S);
  SoftmaxRow(S, Lk, 1.0f / std::sqrt((float)hs));
  // y[hs] = P[Lk] · V[Lk, hs] (fma over Lk in order)
  mv_.fn(Lk, hs, 0, npv, S, vp, (long)cfg_.context * NR, nullptr, out);
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
  Forward(tokens.data(), (int)T, nullptr);
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

std::unique_ptr<InferenceEngine> NewEngine(const LoadedModel& m) {
  const auto specs = ModelParamSpecs(m.config);
  // Raw Q8_0 blocks of each matrix that is Q8_0 with rows of whole blocks.
  Q8Weights q8;
  for (size_t i = 0; i < specs.size() && i < m.tensor_types.size(); ++i)
    if (m.tensor_types[i] == ggml_type::kQ8_0 && specs[i].shape.size() == 2 &&
        specs[i].shape[1] % kQ8Block == 0)
      q8[specs[i].name] = m.RawTensor(specs[i].name);
  const Q8Weights* q = q8.empty() ? nullptr : &q8;
  if (m.config.family == "llama")
    return std::make_unique<LlamaEngine>(ToLlamaConfig(m.config), m.params.data(), q);
  return std::make_unique<GptEngine>(ToGptConfig(m.config), m.params.data(), q);
}

}  // namespace modelc
