// Inference for one sequence with a per-layer key/value cache: each new token
// costs one position (its own projections plus attention over the cached
// keys and values), not a pass over the whole context.
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
#include <memory>
#include <vector>

#include "kernels/gemm_ukernels.h"
#include "kernels/matvec.h"
#include "kernels/q8_dot.h"
#include "model/gpt.h"

namespace modelc {

struct LoadedModel;  // binary/model_file.h

// Raw ggml Q8_0 data (row-major blocks, as in the GGUF file) of the weight
// matrices that are quantized; nullptr means F32 from `params`. Only read
// while the engine is constructed.
struct Q8Weights {
  const uint8_t* wte = nullptr;  // token_embd.weight [vocab, C]: the tied LM head
  struct Block {
    const uint8_t *qkv = nullptr, *attproj = nullptr, *fc = nullptr, *fcproj = nullptr;
  };
  std::vector<Block> blocks;  // n_layer entries (or empty: none quantized)
};

class InferenceEngine {
 public:
  // params: GptParamCount(c) floats laid out as GptParamSpecs (not owned; must
  // outlive the engine). Allocates the caches and all scratch up front.
  // q8: the matrices to run with int8 products (their ne[0] must be a
  // multiple of 32); nullptr = all F32.
  InferenceEngine(const GptConfig& c, const float* params, const Q8Weights* q8 = nullptr);

  const GptConfig& config() const { return cfg_; }
  // Empties the KV cache (position() becomes 0).
  void Reset();
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

 private:
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
  // q8 != nullptr: the Q8_0 matrix; else Pack(W, ...).
  Packed PackMaybeQ8(const uint8_t* q8, const float* W, const float* bias, int N, int K);
  // out[T, N] = x[T, K] · W^T (+ bias) on the int8 path.
  void LinearQ8(const Packed& W, const float* x, float* out, int T);
  // out[N] = x[K] · W^T (+ bias), as linear_forward with one row.
  void MatVec(const Packed& W, const float* x, float* out);
  void Linear(const Packed& W, const float* W_raw, const float* bias, const float* x, float* out,
              int T);
  // Runs tokens[0..T) at positions pos_..pos_+T-1, fills logits_ for the
  // last (all_logits == nullptr) or all_logits [T, vocab] for every row.
  void Forward(const int* tokens, int T, float* all_logits = nullptr);
  // Attention of the one new row (position pos_) of layer l over the packed
  // caches, head h, into atty_.
  void StepAttentionHead(int l, int h);
  // One token at position pos_ into logits_ (does not advance pos_).
  void StepForward(int token);
  // Thread tid of nt's share of out[N] = x[K] · W^T (+ bias): a contiguous
  // range of W's panels. xq, xd: the activation scratch (int8 path).
  void MatVecPart(const Packed& W, const float* x, float* out, int tid, int nt, int8_t* xq,
                  float* xd) const;

  GptConfig cfg_;
  GptOffsets off_;
  const float* p_;
  int pos_ = 0;
  std::vector<std::vector<float>> kcache_, vcache_;  // per layer [context, C]
  // Scratch, grown only by Prefill (Step never allocates).
  std::vector<float> x_, ln_, qkv_, atty_, proj_, fch_, fchg_, mean_, rstd_, att_;
  std::vector<float> logits_;
  GemmKernelInfo kern_;
  MatVecKernelInfo mv_;  // same panel width as kern_
  struct BlockPacked {
    Packed qkv, attproj, fc, fcproj;
  };
  std::vector<BlockPacked> packed_;
  Packed lm_head_;
  std::vector<float> apanel_;  // MR x max K micro-panel; rows 1..MR-1 stay 0
  // The caches again, in micro-kernel panel layout, for Step's attention:
  //  kp_[l]: ((h*npk_ + j/NR)*hs + k)*NR + j%NR  = K[j, h*hs + k]
  //  vp_[l]: ((h*npv_ + c/NR)*context + j)*NR + c%NR = V[j, h*hs + c]
  std::vector<std::vector<float>> kp_, vp_;
  int npk_ = 0, npv_ = 0;
  std::vector<float> head_panels_;  // per head: MR x max(hs, context) A panel
  size_t head_panel_size_ = 0;
  const std::vector<float> empty_;
  bool quantized_ = false;
  Q8Kernel q8_kind_ = Q8Kernel::kScalar;
  Q8PanelKernel q8_fn_ = nullptr;
  std::vector<int8_t> xq_;  // quantized activation rows [T, max K]
  std::vector<float> xd_;   // their block scales [T, max K / 32]
};

// The engine for a loaded model binary (its weights stay owned by `m`, which
// must outlive the engine). run and serve make their engines here. Q8_0
// weight matrices (m.tensor_types) run on the int8 path.
std::unique_ptr<InferenceEngine> NewEngine(const LoadedModel& m);

}  // namespace modelc
