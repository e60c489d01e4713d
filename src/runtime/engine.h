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
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/gemm_ukernels.h"
#include "model/gpt.h"

namespace modelc {

struct LoadedModel;  // binary/model_file.h

class InferenceEngine {
 public:
  // params: GptParamCount(c) floats laid out as GptParamSpecs (not owned; must
  // outlive the engine). Allocates the caches and all scratch up front.
  InferenceEngine(const GptConfig& c, const float* params);

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

 private:
  // A weight W [N, K] (out = in · W^T + bias) packed in NR-column panels:
  // panels[(q*K + k)*NR + j] = W[q*NR + j, k] (0 past N); bias padded to np*NR.
  struct Packed {
    int N = 0, K = 0, np = 0;
    std::vector<float> panels, bias;
    bool has_bias = false;
  };
  Packed Pack(const float* W, const float* bias, int N, int K) const;
  // out[N] = x[K] · W^T (+ bias), as linear_forward with one row.
  void MatVec(const Packed& W, const float* x, float* out);
  void Linear(const Packed& W, const float* W_raw, const float* bias, const float* x, float* out,
              int T);
  // Runs tokens[0..T) at positions pos_..pos_+T-1, fills logits_ for the last.
  void Forward(const int* tokens, int T);
  // Attention of the one new row (position pos_) of layer l over the packed
  // caches, head h, into atty_.
  void StepAttentionHead(int l, int h);

  GptConfig cfg_;
  GptOffsets off_;
  const float* p_;
  int pos_ = 0;
  std::vector<std::vector<float>> kcache_, vcache_;  // per layer [context, C]
  // Scratch, grown only by Prefill (Step never allocates).
  std::vector<float> x_, ln_, qkv_, atty_, proj_, fch_, fchg_, mean_, rstd_, att_;
  std::vector<float> logits_;
  GemmKernelInfo kern_;
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
};

// The engine for a loaded model binary (its weights stay owned by `m`, which
// must outlive the engine). run and serve make their engines here.
std::unique_ptr<InferenceEngine> NewEngine(const LoadedModel& m);

}  // namespace modelc
