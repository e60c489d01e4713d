#include "binary/model_file.h"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "binary/chat_template.h"
#include "binary/gpt2_vocab.h"
#include "layers/layers.h"
#include "tokenizer/gpt2_text.h"

namespace modelc {

std::vector<uint64_t> GgmlNe(const std::vector<int64_t>& shape) {
  return std::vector<uint64_t>(shape.rbegin(), shape.rend());
}

namespace {

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::string CurveJson(const std::vector<CurvePoint>& c) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : c) j.push_back({p.step, p.loss});
  return j.dump();
}

// The hyperparameter keys of each family's GGUF architecture (llama.cpp's
// names, "<arch>.<key>"), written and read back here.
void WriteHparams(const ModelConfig& c, const std::string& arch, GgufWriter* w) {
  w->SetU32(arch + ".context_length", c.context);
  w->SetU32(arch + ".embedding_length", c.n_embd);
  w->SetU32(arch + ".block_count", c.n_layer);
  if (c.family == "gpt") {
    w->SetU32("gpt2.feed_forward_length", 4 * c.n_embd);
    w->SetU32("gpt2.attention.head_count", c.n_head);
    w->SetF32("gpt2.attention.layer_norm_epsilon", (float)kLayerNormEps);
    return;
  }
  // llama
  w->SetU32("llama.feed_forward_length", c.ffn_hidden);
  w->SetU32("llama.attention.head_count", c.n_head);
  w->SetU32("llama.attention.head_count_kv", c.n_head_kv);
  w->SetF32("llama.rope.freq_base", (float)c.rope_theta);
  w->SetU32("llama.rope.dimension_count", c.n_embd / c.n_head);
  w->SetF32("llama.attention.layer_norm_rms_epsilon", (float)c.rms_eps);
  w->SetU32("llama.vocab_size", c.vocab);
}

std::string Implausible(const std::string& path, const std::string& arch, const std::string& what) {
  return path + ": implausible " + arch + " hyperparameters (" + what + ")";
}

// Reads the family's hyperparameters (vocab comes from the tokenizer) and checks them.
Status ReadHparams(const GgufFile& f, const std::string& path, const ModelFamily& fam,
                   ModelConfig* c) {
  const std::string arch(fam.gguf_arch);
  uint32_t ctx, embd, blocks, ff, heads;
  MODELC_RETURN_IF_ERROR(f.GetU32(arch + ".context_length", &ctx));
  MODELC_RETURN_IF_ERROR(f.GetU32(arch + ".embedding_length", &embd));
  MODELC_RETURN_IF_ERROR(f.GetU32(arch + ".block_count", &blocks));
  MODELC_RETURN_IF_ERROR(f.GetU32(arch + ".feed_forward_length", &ff));
  MODELC_RETURN_IF_ERROR(f.GetU32(arch + ".attention.head_count", &heads));
  if (ctx < 1 || ctx > 65536 || embd < 1 || embd > 16384 || blocks < 1 || blocks > 256 ||
      heads < 1 || embd % heads != 0)
    return Status::Error(Implausible(path, arch,
                                     "context " + std::to_string(ctx) + ", embedding " +
                                         std::to_string(embd) + ", blocks " + std::to_string(blocks) +
                                         ", heads " + std::to_string(heads)));
  c->family = std::string(fam.name);
  c->context = (int)ctx;
  c->n_embd = (int)embd;
  c->n_layer = (int)blocks;
  c->n_head = (int)heads;
  if (c->family == "gpt") {
    if (ff != 4 * embd)
      return Status::Error(path + ": gpt2.feed_forward_length is " + std::to_string(ff) +
                           "; modelc supports 4 * embedding_length = " + std::to_string(4 * embd));
    return Status::OK();
  }
  uint32_t heads_kv = heads, rope_dim = embd / heads;
  float theta = 10000.0f, eps = 1e-5f;
  if (f.Find("llama.attention.head_count_kv"))
    MODELC_RETURN_IF_ERROR(f.GetU32("llama.attention.head_count_kv", &heads_kv));
  if (f.Find("llama.rope.dimension_count"))
    MODELC_RETURN_IF_ERROR(f.GetU32("llama.rope.dimension_count", &rope_dim));
  if (f.Find("llama.rope.freq_base")) MODELC_RETURN_IF_ERROR(f.GetF32("llama.rope.freq_base", &theta));
  MODELC_RETURN_IF_ERROR(f.GetF32("llama.attention.layer_norm_rms_epsilon", &eps));
  if (ff < 1 || ff > 65536 || heads_kv < 1 || heads % heads_kv != 0 || (embd / heads) % 2 != 0)
    return Status::Error(Implausible(path, arch,
                                     "feed_forward_length " + std::to_string(ff) + ", heads " +
                                         std::to_string(heads) + ", head_count_kv " +
                                         std::to_string(heads_kv) + ", head size " +
                                         std::to_string(embd / heads)));
  if (rope_dim != embd / heads)
    return Status::Error(path + ": llama.rope.dimension_count is " + std::to_string(rope_dim) +
                         "; modelc rotates whole heads (" + std::to_string(embd / heads) + ")");
  if (!(theta > 1.0f && theta <= 1e9f) || !(eps > 0.0f && eps <= 0.1f))
    return Status::Error(Implausible(path, arch,
                                     "rope.freq_base " + std::to_string(theta) +
                                         ", layer_norm_rms_epsilon " + std::to_string(eps)));
  // No tensor ties the context to the file's size (gpt2 has position_embd):
  // bound the KV cache an engine would allocate for it.
  const uint64_t cache = (uint64_t)blocks * ctx * (embd / heads) * heads_kv * 2 * sizeof(float);
  if (cache > (uint64_t(1) << 34))
    return Status::Error(Implausible(path, arch,
                                     "a KV cache of " + std::to_string(cache >> 20) + " MiB for context " +
                                         std::to_string(ctx) + " and " + std::to_string(blocks) + " blocks"));
  c->n_head_kv = (int)heads_kv;
  c->ffn_hidden = (int)ff;
  c->rope_theta = theta;
  c->rms_eps = eps;
  c->tie_embeddings = f.FindTensor("output.weight") == nullptr;
  return Status::OK();
}

}  // namespace

Status WriteModelFile(const std::string& path, const Recipe& r, const Dataset& d,
                      const TrainingRecord& t, const BaseModelRecord* base) {
  const ModelConfig& c = t.config;
  const ModelFamily* fam = FindFamily(c.family);
  if (!fam) return Status::Error(path + ": internal error: unknown model family " + c.family);
  const std::string arch(fam->gguf_arch);
  GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", r.model.name);
  if (!r.model.description.empty()) w.SetString("general.description", r.model.description);
  w.SetString("general.license", r.model.license);
  if (!r.model.authors.empty()) w.SetString("general.author", Join(r.model.authors, ", "));
  w.SetU32("general.file_type", 0);  // all F32
  if (base) {  // fine-tuned: llama.cpp's base-model keys
    w.SetU32("general.base_model.count", 1);
    w.SetString("general.base_model.0.name", base->name);
    if (!base->author.empty()) w.SetString("general.base_model.0.author", base->author);
  }
  WriteHparams(c, arch, &w);
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  {
    // The tokenizer the data was encoded with (the 256 byte tokens for
    // "byte"), spelled in GPT-2's byte alphabet; merges "LEFT RIGHT" in rank order.
    const Bpe& tok = d.tokenizer;
    std::vector<std::string> text, merges;
    for (int i = 0; i < tok.size(); ++i) text.push_back(BytesToGpt2Text(tok.token(i)));
    for (const BpeMerge& m : tok.merges())
      merges.push_back(BytesToGpt2Text(tok.token(m.left)) + " " + BytesToGpt2Text(tok.token(m.right)));
    w.SetStringArray("tokenizer.ggml.tokens", text);
    w.SetI32Array("tokenizer.ggml.token_type", std::vector<int32_t>(tok.size(), 1));
    w.SetStringArray("tokenizer.ggml.merges", merges);
  }
  // No special tokens; llama.cpp would default bos/eos to 11 (a real byte,
  // '\v', for a byte model). Point both at token 0, the NUL byte, which text
  // never holds.
  w.SetU32("tokenizer.ggml.bos_token_id", 0);
  w.SetU32("tokenizer.ggml.eos_token_id", 0);
  // llama.cpp prepends BOS for some architectures unless told not to; no
  // modelc model was trained with one. (gpt2 binaries keep their old bytes.)
  if (c.family != "gpt") w.Set("tokenizer.ggml.add_bos_token", GgufValue::Bool(false));
  w.SetString("tokenizer.chat_template", kChatTemplate);  // binary/chat_template.h

  w.SetString("modelc.version", MODELC_VERSION);
  w.SetString("modelc.source_hash", r.SourceHash());
  w.SetString("modelc.recipe", r.NormalizedJson());
  w.SetString("modelc.tokenizer", r.tokenizer.kind);
  nlohmann::json manifest = nlohmann::json::array();
  for (size_t i = 0; i < d.sources.size(); ++i) {
    const SourceStats& s = d.sources[i];
    const DataSource& src = r.data[i];
    manifest.push_back({{"title", s.title},
                        {"author", s.author},
                        {"license", s.license},
                        {"source_url", src.source_url},
                        {"path", s.path},
                        {"sha256", s.sha256},
                        {"bytes", s.bytes},
                        {"train_tokens", s.train_tokens},
                        {"val_tokens", s.val_tokens},
                        {"tokens_used", i < t.tokens_per_source.size() ? t.tokens_per_source[i] : 0}});
    if (!src.license_acknowledgement.empty())
      manifest.back()["license_acknowledgement"] = src.license_acknowledgement;
  }
  w.SetString("modelc.data_manifest", manifest.dump());
  if (base) {
    w.SetString("modelc.base_model.0.sha256", base->sha256);
    w.SetString("modelc.base_model.0.source_hash", base->source_hash);
    w.SetString("modelc.base_model.0.license", base->license);
    if (!base->license_acknowledgement.empty())
      w.SetString("modelc.base_model.0.license_acknowledgement", base->license_acknowledgement);
    w.SetString("modelc.base_model.0.license_chain", base->license_chain_json);
    w.SetString("modelc.base_model.0.credits", base->credits_json);
  }
  w.Set("modelc.train_loss", GgufValue::F64(t.train_loss));
  w.Set("modelc.val_loss", GgufValue::F64(t.val_loss));
  w.SetU64("modelc.steps", (uint64_t)t.steps);
  w.SetU64("modelc.tokens_seen", (uint64_t)t.tokens_seen);
  w.SetString("modelc.train_curve", CurveJson(t.train_curve));
  w.SetString("modelc.val_curve", CurveJson(t.val_curve));
  w.SetU64("modelc.chain_every", (uint64_t)r.train.chain_every);
  w.SetString("modelc.hash_chain", t.hash_chain_json);

  if (!t.params) return Status::Error(path + ": internal error: no weights to write");
  for (const ParamSpec& s : ModelParamSpecs(c))
    w.AddTensorF32(s.name, GgmlNe(s.shape), t.params + s.offset);
  return w.Write(path);
}

Status LoadModelFile(const std::string& path, LoadedModel* out) {
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(path, &f));
  std::string arch;
  MODELC_RETURN_IF_ERROR(f->GetString("general.architecture", &arch));
  const ModelFamily* fam = FindFamilyByGgufArch(arch);
  if (!fam) {
    std::vector<std::string> known;
    for (const ModelFamily& m : ModelFamilies()) known.push_back("\"" + std::string(m.gguf_arch) + "\"");
    std::string list;
    for (size_t i = 0; i < known.size(); ++i)
      list += (i ? (i + 1 == known.size() ? " and " : ", ") : "") + known[i];
    return Status::Error(path + ": general.architecture is \"" + arch + "\"; modelc runs " + list +
                         " models");
  }
  ModelConfig c;
  MODELC_RETURN_IF_ERROR(ReadHparams(*f, path, *fam, &c));
  std::vector<std::string> tokens;
  MODELC_RETURN_IF_ERROR(f->GetStringArray("tokenizer.ggml.tokens", &tokens));
  if (tokens.empty() || tokens.size() > (1u << 20))
    return Status::Error(path + ": tokenizer.ggml.tokens has " + std::to_string(tokens.size()) +
                         " entries");
  c.vocab = (int)tokens.size();
  if (c.family == "llama" && f->Find("llama.vocab_size")) {
    uint32_t nv;
    MODELC_RETURN_IF_ERROR(f->GetU32("llama.vocab_size", &nv));
    if (nv != tokens.size())
      return Status::Error(path + ": llama.vocab_size is " + std::to_string(nv) + " but the tokenizer has " +
                           std::to_string(tokens.size()) + " tokens");
  }
  if (const std::string e = fam->check(c); !e.empty())
    return Status::Error(path + ": " + arch + " hyperparameters: " + e);
  // Check every tensor against the header before allocating anything: the
  // header alone must not be able to make us allocate (the tensor sizes are
  // already bounded by the file size).
  const auto specs = ModelParamSpecs(c);
  for (const ParamSpec& s : specs) {
    const GgufTensorInfo* ti = f->FindTensor(s.name);
    if (!ti) return Status::Error(path + ": missing tensor " + s.name);
    if (ti->ne != GgmlNe(s.shape)) {
      std::string want, got;
      for (auto n : GgmlNe(s.shape)) want += (want.empty() ? "" : ", ") + std::to_string(n);
      for (auto n : ti->ne) got += (got.empty() ? "" : ", ") + std::to_string(n);
      return Status::Error(path + ": tensor " + s.name + " has ne [" + got + "], expected [" +
                           want + "]");
    }
  }
  std::vector<float> params(ModelParamCount(c));
  std::vector<uint32_t> types;
  for (const ParamSpec& s : specs) {
    // F32, F16 and Q8_0 (the types GgufFile reads) are all accepted; the
    // engine runs Q8_0 matrices with int8 products.
    std::vector<float> v;
    MODELC_RETURN_IF_ERROR(f->ReadTensorF32(s.name, &v));
    std::copy(v.begin(), v.end(), params.begin() + s.offset);
    types.push_back(f->FindTensor(s.name)->type);
  }
  out->tensor_types = std::move(types);
  out->config = c;
  out->params = std::move(params);
  out->tokens = std::move(tokens);
  out->file = std::move(f);
  return Status::OK();
}

Status ReadModelTokenizer(const LoadedModel& m, Bpe* out) {
  const std::string& path = m.file->path();
  std::string kind;
  MODELC_RETURN_IF_ERROR(m.file->GetString("tokenizer.ggml.model", &kind));
  if (kind != "gpt2")
    return Status::Error(path + ": tokenizer.ggml.model is \"" + kind + "\"; modelc reads \"gpt2\"");
  std::vector<std::string> merges;
  MODELC_RETURN_IF_ERROR(m.file->GetStringArray("tokenizer.ggml.merges", &merges));
  if (!merges.empty()) {
    // Other pre-tokenizers split text differently; modelc has only GPT-2's.
    std::string pre;
    if (!m.file->GetString("tokenizer.ggml.pre", &pre).ok() || pre != "gpt-2")
      return Status::Error(path + ": tokenizer.ggml.pre is " +
                           (pre.empty() ? std::string("missing") : "\"" + pre + "\"") +
                           "; modelc encodes BPE models with the \"gpt-2\" pre-tokenizer only");
  }
  std::vector<std::string> bytes(m.tokens.size());
  std::unordered_map<std::string, int> id_of;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (!Gpt2TextToBytes(m.tokens[i], &bytes[i]))
      return Status::Error(path + ": tokenizer.ggml.tokens[" + std::to_string(i) +
                           "] is not spelled in GPT-2's byte alphabet");
    id_of.emplace(m.tokens[i], (int)i);
  }
  std::vector<std::pair<int, int>> pairs;
  pairs.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    // As llama.cpp: split at the first space after the first character.
    const std::string& s = merges[r];
    const size_t sp = s.find(' ', 1);
    auto a = sp == std::string::npos ? id_of.end() : id_of.find(s.substr(0, sp));
    auto b = sp == std::string::npos ? id_of.end() : id_of.find(s.substr(sp + 1));
    if (a == id_of.end() || b == id_of.end())
      return Status::Error(path + ": tokenizer.ggml.merges[" + std::to_string(r) + "] (\"" + s +
                           "\") is not two tokens separated by a space");
    pairs.push_back({a->second, b->second});
  }
  return Bpe::Create(std::move(bytes), pairs, path + ": tokenizer.ggml", out);
}

bool LoadedModel::quantized() const {
  for (uint32_t t : tensor_types)
    if (t != ggml_type::kF32) return true;
  return false;
}

const uint8_t* LoadedModel::RawTensor(const std::string& name) const {
  const GgufTensorInfo* t = file ? file->FindTensor(name) : nullptr;
  return t ? t->data : nullptr;
}

}  // namespace modelc
