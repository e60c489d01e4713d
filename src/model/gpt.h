// GPT-2 style model: token + learned position embeddings, pre-LayerNorm
// blocks (causal multi-head self-attention, 4x MLP with tanh-GELU), final
// LayerNorm, LM head tied to the token embedding, cross-entropy loss.
//
// Parameters live in one contiguous buffer in a fixed order (GptParamSpecs);
// each tensor is named as in llama.cpp's gpt2 GGUF and stored row-major in
// PyTorch's [out, in] order, which is ggml's ne = {in, out}.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace modelc {

struct GptConfig {
  int vocab = 256;
  int context = 0;   // maximum sequence length (position embeddings)
  int n_layer = 0;
  int n_head = 0;
  int n_embd = 0;
};

struct ParamSpec {
  enum class Init { kNormal, kZeros, kOnes };
  std::string name;             // GGUF tensor name, e.g. "blk.0.attn_qkv.weight"
  std::vector<int64_t> shape;   // row-major, outermost first (PyTorch order)
  int64_t offset = 0;           // into the parameter buffer (elements)
  int64_t size = 0;
  Init init = Init::kZeros;
  double init_std = 0;          // for kNormal
  bool decay = false;           // AdamW weight decay applies (2-D weights)
};

// Appends the next tensor of a family's fixed order to `specs`: its offset
// follows the previous tensor, its size is the product of `shape`.
void AppendParamSpec(std::vector<ParamSpec>& specs, std::string name, std::vector<int64_t> shape,
                     ParamSpec::Init init, double init_std, bool decay);

// Elements of a parameter buffer laid out as `specs` (0 when empty).
int64_t ParamCountOf(const std::vector<ParamSpec>& specs);

// The parameter tensors in their fixed order.
std::vector<ParamSpec> GptParamSpecs(const GptConfig& c);
int64_t GptParamCount(const GptConfig& c);

// Offsets (elements into the parameter buffer) of one block's tensors.
struct BlockOffsets {
  int64_t ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb;
};
struct GptOffsets {
  int64_t wte, wpe, lnfw, lnfb;
  std::vector<BlockOffsets> blocks;
};
GptOffsets GptParamOffsets(const GptConfig& c);

// Forward activations (and, mirrored, their gradients) for one micro-batch.
template <class T>
struct GptActivations {
  int B = 0, Tn = 0;
  std::vector<T> encoded;                        // [N, C]
  struct Block {
    std::vector<T> ln1, ln1_mean, ln1_rstd;      // [N,C] [N] [N]
    std::vector<T> qkv;                          // [N, 3C]
    std::vector<T> att;                          // [B, NH, T, T]
    std::vector<T> atty, attproj, res2;          // [N, C]
    std::vector<T> ln2, ln2_mean, ln2_rstd;      // [N,C] [N] [N]
    std::vector<T> fch, fch_gelu;                // [N, 4C]
    std::vector<T> fcproj, res3;                 // [N, C]
  };
  std::vector<Block> blocks;
  std::vector<T> lnf, lnf_mean, lnf_rstd;        // [N,C] [N] [N]
  std::vector<T> logits, probs;                  // [N, V]
  std::vector<T> losses;                         // [N]

  // for_grads: the mirror used for gradients. It holds one Block, reused by
  // every layer (the backward pass needs one layer's gradients at a time),
  // and carries the residual-stream gradient in `encoded`; it never needs the
  // attention or softmax probabilities, the LayerNorm statistics or res3.
  void Resize(const GptConfig& c, int B, int Tn, bool for_grads = false);
  void Zero();
  void ZeroBlock(Block& k);
};

// The model computation over a parameter buffer; owns no parameters.
template <class T>
class Gpt {
 public:
  explicit Gpt(const GptConfig& c);
  const GptConfig& config() const { return cfg_; }
  const GptOffsets& offsets() const { return off_; }

  // tokens, targets [B*Tn]; Tn <= context. Fills acts_; returns the mean loss
  // over the B*Tn positions (or 0 when targets == nullptr: logits only).
  // REQUIRES: params has GptParamCount() elements.
  double Forward(const T* params, const int* tokens, const int* targets, int B, int Tn);
  // Accumulates d(loss_scale * sum of per-position losses)/d(params) into
  // grads. Uses the activations of the last Forward (which needs targets).
  void Backward(const T* params, T* grads, const int* tokens, const int* targets, T loss_scale);

  const GptActivations<T>& acts() const { return acts_; }

 private:
  GptConfig cfg_;
  GptOffsets off_;
  GptActivations<T> acts_, grads_;
};

}  // namespace modelc
