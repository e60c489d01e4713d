// The model families modelc compiles, as one table: a family is its
// hyperparameters (the fields of ModelConfig it reads), its parameter tensors
// (ParamSpecs) and its forward/backward (one file in src/model/). Everything
// above the model level (trainer, binary, runtime, CLI) goes through this
// table and ModelConfig; none of it names a family's tensors.
//
//   family  model.toml               GGUF general.architecture  file
//   gpt     family = "gpt"  (default) gpt2                      model/gpt.{h,cpp}
//   llama   family = "llama"          llama                     model/llama.{h,cpp}
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/gpt.h"
#include "model/llama.h"

namespace modelc {

// Every family's hyperparameters; a family reads the fields it needs (the
// llama-only fields keep their defaults for gpt, so that comparing two
// configs with == is meaningful for every family).
struct ModelConfig {
  std::string family = "gpt";  // a ModelFamily name
  int vocab = 256;
  int context = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_embd = 0;
  // llama
  int n_head_kv = 0;            // 0 for gpt
  int ffn_hidden = 0;           // SwiGLU hidden width (0 for gpt: 4 n_embd fixed)
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  bool tie_embeddings = true;

  bool operator==(const ModelConfig&) const = default;
  // The shape for people, e.g. "4 layers, 8 heads (2 kv), 128 embd, ffn 352,
  // context 128, vocab 256" (the family not included).
  std::string Describe() const;
};

GptConfig ToGptConfig(const ModelConfig& c);
LlamaConfig ToLlamaConfig(const ModelConfig& c);
ModelConfig FromGptConfig(const GptConfig& g);
ModelConfig FromLlamaConfig(const LlamaConfig& l);

// A family's training computation over a parameter buffer (Gpt<float>,
// Llama<float>): owns no parameters.
class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  // tokens, targets [B*Tn]; Tn <= context. Returns the mean loss over the
  // B*Tn positions (0 when targets == nullptr: logits only).
  virtual double Forward(const float* params, const int* tokens, const int* targets, int B,
                         int Tn) = 0;
  // Accumulates d(loss_scale * sum of losses)/d(params) into grads, from the
  // activations of the last Forward (which needed targets).
  virtual void Backward(const float* params, float* grads, const int* tokens, const int* targets,
                        float loss_scale) = 0;
};

struct ModelFamily {
  std::string_view name;       // model.toml [architecture] family
  std::string_view gguf_arch;  // GGUF general.architecture
  std::string_view summary;    // one line for the model.toml reference
  std::vector<ParamSpec> (*param_specs)(const ModelConfig&);
  std::unique_ptr<LanguageModel> (*make_model)(const ModelConfig&);
  // "" when c is a valid config of this family, else what is wrong.
  std::string (*check)(const ModelConfig&);
};

// Every family, in a fixed order (gpt first).
const std::vector<ModelFamily>& ModelFamilies();
// nullptr when unknown.
const ModelFamily* FindFamily(std::string_view name);
const ModelFamily* FindFamilyByGgufArch(std::string_view arch);

// REQUIRES: FindFamily(c.family) != nullptr and check(c) == "" (throws
// std::invalid_argument otherwise).
std::vector<ParamSpec> ModelParamSpecs(const ModelConfig& c);
int64_t ModelParamCount(const ModelConfig& c);
std::unique_ptr<LanguageModel> MakeModel(const ModelConfig& c);

}  // namespace modelc
