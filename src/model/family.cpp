#include "model/family.h"

#include <stdexcept>

namespace modelc {

std::string ModelConfig::Describe() const {
  std::string s = std::to_string(n_layer) + " layers, " + std::to_string(n_head) + " heads";
  if (family == "llama" && n_head_kv != n_head) s += " (" + std::to_string(n_head_kv) + " kv)";
  s += ", " + std::to_string(n_embd) + " embd";
  if (family == "llama") {
    s += ", ffn " + std::to_string(ffn_hidden);
    if (!tie_embeddings) s += ", untied output";
  }
  s += ", context " + std::to_string(context) + ", vocab " + std::to_string(vocab);
  return s;
}

GptConfig ToGptConfig(const ModelConfig& c) {
  GptConfig g;
  g.vocab = c.vocab;
  g.context = c.context;
  g.n_layer = c.n_layer;
  g.n_head = c.n_head;
  g.n_embd = c.n_embd;
  return g;
}

LlamaConfig ToLlamaConfig(const ModelConfig& c) {
  LlamaConfig l;
  l.vocab = c.vocab;
  l.context = c.context;
  l.n_layer = c.n_layer;
  l.n_head = c.n_head;
  l.n_head_kv = c.n_head_kv;
  l.n_embd = c.n_embd;
  l.ffn_hidden = c.ffn_hidden;
  l.rope_theta = c.rope_theta;
  l.rms_eps = c.rms_eps;
  l.tie_embeddings = c.tie_embeddings;
  return l;
}

ModelConfig FromGptConfig(const GptConfig& g) {
  ModelConfig c;
  c.family = "gpt";
  c.vocab = g.vocab;
  c.context = g.context;
  c.n_layer = g.n_layer;
  c.n_head = g.n_head;
  c.n_embd = g.n_embd;
  return c;
}

ModelConfig FromLlamaConfig(const LlamaConfig& l) {
  ModelConfig c;
  c.family = "llama";
  c.vocab = l.vocab;
  c.context = l.context;
  c.n_layer = l.n_layer;
  c.n_head = l.n_head;
  c.n_head_kv = l.n_head_kv;
  c.n_embd = l.n_embd;
  c.ffn_hidden = l.ffn_hidden;
  c.rope_theta = l.rope_theta;
  c.rms_eps = l.rms_eps;
  c.tie_embeddings = l.tie_embeddings;
  return c;
}

namespace {

template <class M>
class Adapter final : public LanguageModel {
 public:
  template <class Cfg>
  explicit Adapter(const Cfg& c) : m_(c) {}
  double Forward(const float* params, const int* tokens, const int* targets, int B,
                 int Tn) override {
    return m_.Forward(params, tokens, targets, B, Tn);
  }
  void Backward(const float* params, float* grads, const int* tokens, const int* targets,
                float loss_scale) override {
    m_.Backward(params, grads, tokens, targets, loss_scale);
  }

 private:
  M m_;
};

std::string CheckCommon(const ModelConfig& c) {
  if (c.vocab <= 0 || c.context <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_embd <= 0)
    return "vocab, context, n_layer, n_head and n_embd must be positive";
  if (c.n_embd % c.n_head != 0) return "n_head must divide n_embd";
  return "";
}

std::string CheckGpt(const ModelConfig& c) { return CheckCommon(c); }

std::string CheckLlama(const ModelConfig& c) {
  std::string e = CheckCommon(c);
  if (!e.empty()) return e;
  try {
    LlamaParamSpecs(ToLlamaConfig(c));  // validates (throws with the reason)
  } catch (const std::invalid_argument& ex) {
    return ex.what();
  }
  return "";
}

const std::vector<ModelFamily>& Table() {
  static const std::vector<ModelFamily> t = {
      {"gpt", "gpt2",
       "GPT-2: learned positions, LayerNorm, tanh-GELU MLP (4 n_embd), tied LM head, biases",
       [](const ModelConfig& c) { return GptParamSpecs(ToGptConfig(c)); },
       [](const ModelConfig& c) -> std::unique_ptr<LanguageModel> {
         return std::make_unique<Adapter<Gpt<float>>>(ToGptConfig(c));
       },
       CheckGpt},
      {"llama", "llama",
       "Llama: RoPE, RMSNorm, SwiGLU MLP (ffn_hidden), grouped-query attention (n_head_kv), "
       "no biases, LM head tied or not",
       [](const ModelConfig& c) { return LlamaParamSpecs(ToLlamaConfig(c)); },
       [](const ModelConfig& c) -> std::unique_ptr<LanguageModel> {
         return std::make_unique<Adapter<Llama<float>>>(ToLlamaConfig(c));
       },
       CheckLlama},
  };
  return t;
}

const ModelFamily& Require(const ModelConfig& c) {
  const ModelFamily* f = FindFamily(c.family);
  if (!f) throw std::invalid_argument("unknown model family \"" + c.family + "\"");
  const std::string e = f->check(c);
  if (!e.empty()) throw std::invalid_argument(c.family + ": " + e);
  return *f;
}

}  // namespace

const std::vector<ModelFamily>& ModelFamilies() { return Table(); }

const ModelFamily* FindFamily(std::string_view name) {
  for (const ModelFamily& f : Table())
    if (f.name == name) return &f;
  return nullptr;
}

const ModelFamily* FindFamilyByGgufArch(std::string_view arch) {
  for (const ModelFamily& f : Table())
    if (f.gguf_arch == arch) return &f;
  return nullptr;
}

std::vector<ParamSpec> ModelParamSpecs(const ModelConfig& c) { return Require(c).param_specs(c); }

int64_t ModelParamCount(const ModelConfig& c) { return ParamCountOf(ModelParamSpecs(c)); }

std::unique_ptr<LanguageModel> MakeModel(const ModelConfig& c) { return Require(c).make_model(c); }

}  // namespace modelc
