// Inference for one sequence with a per-layer key/value cache: each new token
// costs one position (its own projections plus attention over the cached
// keys and values), not a pass over the whole context.
//
// InferenceEngine is the interface run, serve and eval use, and the machinery
// every family shares (packed weights, matrix-vector products, the int8
// path); each family's inference is one subclass in its own file:
// GptEngine (runtime/gpt_engine.cpp) and LlamaEngine
// (runtime/llama_engine.cpp, KV cache with grouped-query heads, RoPE at the
// absolute position). NewEngine picks by the model's family. What follows
// describes GptEngine; LlamaEngine follows the same rules.
//
// The math is the training forward's (model/gpt.h, layers/layers.h): the same
// layer functions and the same deterministic GEMM, whose per-element result
// does not depend on the number of rows. Attention over the cache uses the
// same per-row softmax as attention_forward, and the products over the
// causal prefix give the same sums as the training products over the full
// row (whose masked entries are exact zeros). So the logits at each position
// match Gpt<float>::Forward on the same sequence bit for bit.
//
// Speed: for one token the weight products are matrix-vector products. The
// engine packs every weight matrix once, at construction, into the GEMM
// micro-kernel's column-panel layout and calls the micro-kernel directly
// (the per-element fma order of the GEMM contract, so the same bits as
// linear_forward), instead of letting Gemm re-pack the weights every token.
// Prefill of several tokens uses linear_forward (Gemm) itself.
//
// Step (one token) does the element-wise work (embedding, LayerNorm,
// residual adds, activation quantization: a few thousand flops) on the
// calling thread, and hands the weight products, split into chunks of whole
// output panels (kernels/matvec.h: one row over several panels at once, each
// output element's fma chain unchanged), and attention over the cache, one
// chunk per head, to the OpenMP team (one region per product, none at 1
// thread; the element-wise ops no longer open regions of their own). GELU
// runs on each fc chunk as it finishes. The
// per-element arithmetic never depends on the split or on which thread runs
// a chunk, so the bits do not depend on the thread count.
//
// Q8_0 weights (a `modelc quantize` model): each weight matrix given as raw
// Q8_0 blocks is repacked into the int8 kernels' panel layout
// (kernels/q8_dot.h); each activation row is quantized to Q8_0 (as llama.cpp
// does) and the products are integer dot products per 32-value block, scaled
// by the two fp16 scales in a fixed order: the same bits on every ISA and
// thread count. Everything else (embeddings, LayerNorm, attention, GELU,
// residuals) is the F32 path; embedding rows come from `params`, which holds
// the decoded Q8_0 values. F32 matrices keep the F32 path's exact bits.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm_ukernels.h"
#include "kernels/matvec.h"
#include "kernels/q8_dot.h"
#include "model/family.h"

namespace modelc {

struct LoadedModel;  // binary/model_file.h

// Raw ggml Q8_0 data (row-major blocks, as in the GGUF file) of the weight
// matrices that are quantized, by GGUF tensor name ("blk.0.attn_q.weight");
// a matrix not listed runs F32 from `params`. Only read while the engine is
// constructed.
using Q8Weights = std::map<std::string, const uint8_t*>;

class InferenceEngine {
 public:
  virtual ~InferenceEngine() = default;
  InferenceEngine(const InferenceEngine&) = delete;
  InferenceEngine& operator=(const InferenceEngine&) = delete;

  const ModelConfig& config() const { return cfg_; }
  // Empties the KV cache (position() becomes 0).
  void Reset() { pos_ = 0; }
  // Tokens consumed so far.
  int position() const { return pos_; }
  // True when the cache holds context tokens: Step and Prefill refuse then.
  bool full() const { return pos_ >= cfg_.context; }

  // Feeds one token at the next position; returns logits [vocab] for the next
  // token (valid until the next call that feeds tokens or Reset).
  // REQUIRES: !full() and 0 <= token < vocab. Otherwise nothing is fed and
  // an EMPTY vector is returned.
  const std::vector<float>& Step(int token);
  // Feeds several tokens at once (batched GEMMs) and returns the logits after
  // the last. May follow earlier Steps/Prefills (continues the sequence).
  // REQUIRES: 1 <= tokens.size() <= context - position(), every token in
  // [0, vocab). Otherwise nothing is fed and an EMPTY vector is returned.
  const std::vector<float>& Prefill(const std::vector<int>& tokens);
  // As Prefill, but fills *logits with the logits after EVERY fed token,
  // [tokens.size(), vocab] (for evaluation). Returns false (nothing fed)
  // under the same conditions as Prefill.
  bool PrefillAll(const std::vector<int>& tokens, std::vector<float>* logits);

  // Whether any matrix runs on the int8 path, and which kernel it uses
  // (ActiveQ8Kernel() unless set; every kernel gives the same bits).
  bool quantized() const { return quantized_; }
  Q8Kernel q8_kernel() const { return q8_kind_; }
  // REQUIRES: Q8KernelAvailable(k).
  void SetQ8Kernel(Q8Kernel k);

 protected:
  // params: ModelParamCount(c) floats in ModelParamSpecs layout (not owned).
  InferenceEngine(const ModelConfig& c, const float* params);

  // A weight W [N, K] (out = in · W^T + bias) packed in NR-column panels:
  // panels[(q*K + k)*NR + j] = W[q*NR + j, k] (0 past N); bias padded to np*NR.
  struct Packed {
    int N = 0, K = 0, np = 0;
    std::vector<float> panels, bias;
    bool has_bias = false;
    bool q8 = false;  // int8 path: `q` instead of `panels`
    Q8Matrix q;
  };
  Packed Pack(const float* W, const float* bias, int N, int K) const;
  // The matrix `name` (at W, with bias or nullptr): on the int8 path when q8
  // lists it, else Pack(W, ...).
  Packed PackNamed(const Q8Weights* q8, const std::string& name, const float* W, const float* bias,
                   int N, int K);
  // out[T, N] = x[T, K] · W^T (+ bias) on the int8 path.
  void LinearQ8(const Packed& W, const float* x, float* out, int T);
  // out[N] = x[K] · W^T (+ bias), as linear_forward with one row.
  void MatVec(const Packed& W, const float* x, float* out);
  // linear_forward (T > 1), MatVec (T == 1) or LinearQ8.
  void Linear(const Packed& W, const float* W_raw, const float* bias, const float* x, float* out,
              int T);
  // Thread tid of nt's share of out[N] = x[K] · W^T (+ bias): a contiguous
  // range of W's panels. xq, xd: the activation scratch (int8 path).
  void MatVecPart(const Packed& W, const float* x, float* out, int tid, int nt, int8_t* xq,
                  float* xd) const;
  // One token's out[N] = in[K] · W^T (+ bias) for Step: chunks of whole
  // panels (about 64 rows) over the OpenMP team (none at 1 thread);
  // after(n0, n1) runs on each chunk's rows once they are done.
  template <class After>
  void StepProduct(const Packed& W, const float* in, float* out, After&& after);
  // Runs f(0..n-1) over the OpenMP team (in order on one thread).
  template <class F>
  void StepRun(int n, F&& f);

  // Causal attention of one query head for T new rows at positions p0..p0+T-1
  // over the Lk = p0+T cached keys (rows of k and v with strides ldk, ldv):
  // S[T, Lk] = q · k^T, attention_forward's row softmax, out[T, hs] = P · v
  // (row stride ldo). S: scratch of T*Lk.
  void PrefillAttentionHead(const float* q, int ldq, const float* k, int ldk, const float* v,
                            int ldv, int T, int p0, int hs, float* S, float* out, int ldo) const;
  // The same for one row at position Lk-1 over one head's panel caches
  // (kp: keys in NR-column panels of hs rows; vp: values in NR-column panels
  // of context rows); S: scratch of Lk.
  void StepAttentionRow(const float* q, const float* kp, const float* vp, int Lk, int hs, float* S,
                        float* out) const;

  // Runs tokens[0..T) at positions pos_..pos_+T-1, fills logits_ for the
  // last (all_logits == nullptr) or all_logits [T, vocab] for every row;
  // advances pos_ by T.
  virtual void Forward(const int* tokens, int T, float* all_logits) = 0;
  // One token at position pos_ into logits_ (does not advance pos_).
  virtual void StepForward(int token) = 0;

  ModelConfig cfg_;
  const float* p_;
  int pos_ = 0;
  std::vector<float> logits_;
  GemmKernelInfo kern_;
  MatVecKernelInfo mv_;  // same panel width as kern_
  const std::vector<float> empty_;
  bool quantized_ = false;
  Q8Kernel q8_kind_ = Q8Kernel::kScalar;
  Q8PanelKernel q8_fn_ = nullptr;
  std::vector<int8_t> xq_;  // quantized activation rows [T, max K]
  std::vector<float> xd_;   // their block scales [T, max K / 32]
};

// GPT-2 (model/gpt.h).
class GptEngine final : public InferenceEngine {
 public:
  // params: GptParamCount(c) floats laid out as GptParamSpecs (not owned; must
  // outlive the engine). Allocates the caches and all scratch up front.
  // q8: the matrices to run with int8 products (their ne[0] must be a
  // multiple of 32); nullptr = all F32.
  GptEngine(const GptConfig& c, const float* params, const Q8Weights* q8 = nullptr);

 private:
  void Forward(const int* tokens, int T, float* all_logits) override;
  void StepForward(int token) override;
  // Attention of the one new row (position pos_) of layer l over the packed
  // caches, head h, into atty_.
  void StepAttentionHead(int l, int h);

  GptConfig g_;
  GptOffsets off_;
  std::vector<std::vector<float>> kcache_, vcache_;  // per layer [context, C]
  // Scratch, grown only by Prefill (Step never allocates).
  std::vector<float> x_, ln_, qkv_, atty_, proj_, fch_, fchg_, mean_, rstd_, att_;
  struct BlockPacked {
    Packed qkv, attproj, fc, fcproj;
  };
  std::vector<BlockPacked> packed_;
  Packed lm_head_;
  // The caches again, in micro-kernel panel layout, for Step's attention:
  //  kp_[l]: ((h*npk_ + j/NR)*hs + k)*NR + j%NR  = K[j, h*hs + k]
  //  vp_[l]: ((h*npv_ + c/NR)*context + j)*NR + c%NR = V[j, h*hs + c]
  std::vector<std::vector<float>> kp_, vp_;
  int npk_ = 0, npv_ = 0;
};

// Llama (model/llama.h): grouped-query attention with a cache of n_head_kv
// key/value heads (query head h reads kv head h / (n_head / n_head_kv)), RoPE
// applied to q and k at their absolute position (the training table's rows),
// SwiGLU, RMSNorm, no biases. Logits match Llama<float>::Forward bit for bit.
class LlamaEngine final : public InferenceEngine {
 public:
  LlamaEngine(const LlamaConfig& c, const float* params, const Q8Weights* q8 = nullptr);

 private:
  void Forward(const int* tokens, int T, float* all_logits) override;
  void StepForward(int token) override;
  // Writes row t of q_/k_/v_ (position j, RoPE applied) into layer l's caches.
  void CacheRow(int l, int t, int j);
  // Attention of the one new row (position pos_) of layer l, query head h.
  void StepAttentionHead(int l, int h);

  LlamaConfig l_;
  LlamaOffsets off_;
  std::vector<float> cos_, sin_;  // [context, hs/2], as Llama<float>
  std::vector<std::vector<float>> kcache_, vcache_;  // per layer [context, KV]
  std::vector<float> x_, ln_, q_, k_, v_, atty_, proj_, gate_, up_, swi_, rstd_, att_;
  struct BlockPacked {
    Packed wq, wk, wv, wo, gate, up, down;
  };
  std::vector<BlockPacked> packed_;
  Packed lm_head_;
  // Panel layout of the caches per kv head (as GptEngine's, heads = n_head_kv).
  std::vector<std::vector<float>> kp_, vp_;
  int npk_ = 0, npv_ = 0;
};

// The engine for a loaded model binary, of its family (its weights stay
// owned by `m`, which must outlive the engine). run and serve make their
// engines here. Q8_0 weight matrices (m.tensor_types) run on the int8 path.
std::unique_ptr<InferenceEngine> NewEngine(const LoadedModel& m);

}  // namespace modelc
