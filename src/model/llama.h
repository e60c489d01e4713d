// Llama-family model: token embedding (no position embedding), pre-RMSNorm
// blocks (causal grouped-query self-attention with rotary position
// embeddings on q and k, SwiGLU MLP), final RMSNorm, LM head tied to the
// token embedding or a separate output matrix, cross-entropy loss. No biases.
//
//   x = token_embd[tok]                                    [N, C]
//   per block:  h = rmsnorm(x) * attn_norm
//               q = rope(h Wq^T), k = rope(h Wk^T), v = h Wv^T
//               x = x + attention_gqa(q, k, v) Wo^T
//               h = rmsnorm(x) * ffn_norm
//               x = x + (silu(h Wgate^T) * (h Wup^T)) Wdown^T
//   logits = (rmsnorm(x) * output_norm) · (output or token_embd)^T
//
// Parameters live in one contiguous buffer in a fixed order
// (LlamaParamSpecs); each tensor is named as in llama.cpp's `llama` GGUF
// architecture (its loader: token_embd, blk.N.attn_norm / attn_q / attn_k /
// attn_v / attn_output / ffn_norm / ffn_gate / ffn_up / ffn_down,
// output_norm, output — `output` absent means tied to token_embd) and stored
// row-major in PyTorch's [out, in] order, which is ggml's ne = {in, out}.
// RoPE is llama.cpp's adjacent-pair layout (ggml_rope mode 0, see
// layers/layers.h), so the Q/K weight rows need no permutation when written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/gpt.h"  // ParamSpec

namespace modelc {

struct LlamaConfig {
  int vocab = 256;
  int context = 0;        // maximum sequence length (RoPE table rows)
  int n_layer = 0;
  int n_head = 0;         // query heads; head_dim = n_embd / n_head
  int n_head_kv = 0;      // key/value heads (divides n_head; == n_head: plain MHA)
  int n_embd = 0;
  int ffn_hidden = 0;     // SwiGLU hidden width H
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  bool tie_embeddings = true;  // LM head = token_embd (no output.weight)

  int head_dim() const { return n_head ? n_embd / n_head : 0; }
};

// The parameter tensors in their fixed order:
//   token_embd.weight [V, C]
//   per block l: blk.l.attn_norm.weight [C], attn_q.weight [NH*hs, C],
//     attn_k.weight [NKV*hs, C], attn_v.weight [NKV*hs, C],
//     attn_output.weight [C, NH*hs], ffn_norm.weight [C],
//     ffn_gate.weight [H, C], ffn_up.weight [H, C], ffn_down.weight [C, H]
//   output_norm.weight [C]
//   output.weight [V, C]                     (only when !tie_embeddings)
// Initialization (the GPT-2 / llm.c convention, as GptParamSpecs): every
// matrix normal(0, 0.02), except the two projections that write into the
// residual stream (attn_output, ffn_down), normal(0, 0.02 / sqrt(2 n_layer));
// RMSNorm weights ones. Weight decay on the 2-D matrices only.
// REQUIRES: n_head * head_dim == n_embd, head_dim even, n_head_kv divides n_head.
std::vector<ParamSpec> LlamaParamSpecs(const LlamaConfig& c);
int64_t LlamaParamCount(const LlamaConfig& c);

// Offsets (elements into the parameter buffer) of one block's tensors.
struct LlamaBlockOffsets {
  int64_t attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
};
struct LlamaOffsets {
  int64_t tok_embd, output_norm;
  int64_t output;  // == tok_embd when tied
  std::vector<LlamaBlockOffsets> blocks;
};
LlamaOffsets LlamaParamOffsets(const LlamaConfig& c);

// Forward activations (and, mirrored, their gradients) for one micro-batch.
// N = B*Tn, NH*hs = C, KV = NKV*hs.
template <class T>
struct LlamaActivations {
  int B = 0, Tn = 0;
  std::vector<T> encoded;                        // [N, C] token embeddings (grads: residual-stream gradient)
  struct Block {
    std::vector<T> ln1, ln1_rstd;                // [N, C] [N]
    std::vector<T> q;                            // [N, C]  after RoPE
    std::vector<T> k;                            // [N, KV] after RoPE
    std::vector<T> v;                            // [N, KV]
    std::vector<T> att;                          // [B, NH, T, T] softmax probabilities
    std::vector<T> atty;                         // [N, C]  attention output, before attn_output
    std::vector<T> attproj, res2;                // [N, C]
    std::vector<T> ln2, ln2_rstd;                // [N, C] [N]
    std::vector<T> gate, up, swi;                // [N, H] each; swi = silu(gate) * up
    std::vector<T> ffnout, res3;                 // [N, C]
  };
  std::vector<Block> blocks;
  std::vector<T> lnf, lnf_rstd;                  // [N, C] [N]
  std::vector<T> logits, probs;                  // [N, V]
  std::vector<T> losses;                         // [N]

  // for_grads: the mirror used for gradients. It holds one Block, reused by
  // every layer, and carries the residual-stream gradient in `encoded`; it
  // needs no attention or softmax probabilities, RMSNorm statistics, residual
  // branches (attproj, res2, ffnout, res3: their gradients are read straight
  // from the residual-stream gradient) or per-position losses.
  void Resize(const LlamaConfig& c, int B, int Tn, bool for_grads = false);
};

// The model computation over a parameter buffer; owns no parameters (only
// the RoPE table, built once from (context, head_dim, rope_theta)).
template <class T>
class Llama {
 public:
  explicit Llama(const LlamaConfig& c);
  const LlamaConfig& config() const { return cfg_; }
  const LlamaOffsets& offsets() const { return off_; }

  // tokens, targets [B*Tn]; Tn <= context. Fills acts_; returns the mean loss
  // over the B*Tn positions (or 0 when targets == nullptr: logits only).
  // REQUIRES: params has LlamaParamCount() elements.
  double Forward(const T* params, const int* tokens, const int* targets, int B, int Tn);
  // Accumulates d(loss_scale * sum of per-position losses)/d(params) into
  // grads. Uses the activations of the last Forward (which needs targets).
  void Backward(const T* params, T* grads, const int* tokens, const int* targets, T loss_scale);

  const LlamaActivations<T>& acts() const { return acts_; }
  const std::vector<T>& rope_cos() const { return cos_; }  // [context, head_dim/2]
  const std::vector<T>& rope_sin() const { return sin_; }  // [context, head_dim/2]

 private:
  LlamaConfig cfg_;
  LlamaOffsets off_;
  std::vector<T> cos_, sin_;
  LlamaActivations<T> acts_, grads_;
};

}  // namespace modelc
