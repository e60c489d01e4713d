#include "compile/base_model.h"

#include <sstream>

#include "compile/trainer.h"
#include "tokenizer/gpt2_text.h"

namespace modelc {

namespace {

std::string BaseWhere(const Recipe& r) {
  const BaseSpec& b = *r.base;
  return r.toml_path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": [base] (" + b.path + ")";
}

std::string DataWhere(const Recipe& r, const DataSource& d) {
  return r.toml_path + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": [[data]] " +
         (d.title.empty() ? "" : "'" + d.title + "' ") + "(" + d.path + ")";
}

}  // namespace

Status ReadBaseCredits(const Recipe& r, Credits* out) {
  // REQUIRES: r.base
  Status st = CreditsFromFile(r.base->resolved, out);
  if (!st.ok()) return st.Wrap(BaseWhere(r) + ": reading the base model");
  return Status::OK();
}

Status LoadSourceDataset(const Recipe& r, Dataset* out) {
  if (!r.base || r.tokenizer.kind != "bpe") return LoadDataset(r, out);
  const std::string where = BaseWhere(r);
  LoadedModel m;
  MODELC_RETURN_IF_ERROR(LoadModelFile(r.base->resolved, &m).Wrap(where + ": loading the base model"));
  Bpe tok;
  MODELC_RETURN_IF_ERROR(ReadModelTokenizer(m, &tok).Wrap(where + ": the base model's tokenizer"));
  if (tok.merges().empty())
    return Status::Error(where + ": the base model has the byte tokenizer; use [tokenizer] kind = \"byte\"");
  return LoadDataset(r, out, &tok);
}

Status LoadBaseWeights(const Recipe& r, const Dataset& d, std::vector<float>* params) {
  // REQUIRES: r.base
  const std::string where = BaseWhere(r);
  LoadedModel m;
  MODELC_RETURN_IF_ERROR(LoadModelFile(r.base->resolved, &m).Wrap(where + ": loading the base model"));
  if (m.quantized())
    return Status::Error(where + ": the base model is quantized; fine-tune from its F32 binary");
  const ModelConfig want = ConfigFromRecipe(r), have = m.config;
  std::string diff;
  auto cmp = [&](const char* what, const auto& here, const auto& base) {
    if (here != base) {
      std::ostringstream h, b;
      h << std::boolalpha << here;
      b << std::boolalpha << base;
      diff += std::string(diff.empty() ? "" : ", ") + what + " " + h.str() + " here, " + b.str() +
              " in the base";
    }
  };
  cmp("family", want.family, have.family);
  cmp("n_layer", want.n_layer, have.n_layer);
  cmp("n_head", want.n_head, have.n_head);
  cmp("n_embd", want.n_embd, have.n_embd);
  cmp("context", want.context, have.context);
  if (want.family == "llama" && have.family == "llama") {
    cmp("n_head_kv", want.n_head_kv, have.n_head_kv);
    cmp("ffn_hidden", want.ffn_hidden, have.ffn_hidden);
    // The binary stores them as f32.
    cmp("rope_theta", (float)want.rope_theta, (float)have.rope_theta);
    cmp("rms_eps", (float)want.rms_eps, (float)have.rms_eps);
    cmp("tie_embeddings", want.tie_embeddings, have.tie_embeddings);
  }
  if (!diff.empty())
    return Status::Error(where + ": [architecture] differs from the base model's: " + diff +
                         " (a fine-tune keeps the base's architecture)");
  // The tokenizer, token by token (the output's tokenizer.ggml.tokens).
  const Bpe& tok = d.tokenizer;
  if (tok.size() != have.vocab)
    return Status::Error(where + ": the tokenizer differs from the base model's: vocabulary of " +
                         std::to_string(tok.size()) + " tokens here (" + r.tokenizer.kind + "), " +
                         std::to_string(have.vocab) + " in the base");
  for (int i = 0; i < tok.size(); ++i)
    if (BytesToGpt2Text(tok.token(i)) != m.tokens[i])
      return Status::Error(where + ": the tokenizer differs from the base model's: token " + std::to_string(i) +
                           " is \"" + BytesToGpt2Text(tok.token(i)) + "\" here, \"" + m.tokens[i] +
                           "\" in the base");
  if (m.params.size() != (size_t)ModelParamCount(want))
    return Status::Error(where + ": internal error: parameter count differs from the base model's");
  *params = std::move(m.params);
  return Status::OK();
}

BaseModelRecord MakeBaseRecord(const Recipe& r, const Credits& base_credits) {
  BaseModelRecord b;
  const nlohmann::ordered_json j = CreditsJson(base_credits);
  b.name = base_credits.model_name;
  b.license = base_credits.model_licence;
  b.author = base_credits.model_author;
  b.source_hash = base_credits.model_source_hash;
  b.sha256 = r.base->sha256;
  b.license_acknowledgement = r.base->license_acknowledgement;
  b.credits_json = j["sources"].dump();
  b.license_chain_json = j["base_models"].dump();
  return b;
}

std::vector<LicenceInput> RecipeLicenceInputs(const Recipe& r, const Credits* base_credits) {
  std::vector<LicenceInput> in;
  for (const DataSource& d : r.data)
    in.push_back({DataWhere(r, d), "data source '" + (d.title.empty() ? d.path : d.title) + "'", d.license,
                  d.license_acknowledgement, "this [[data]] entry"});
  if (r.base && base_credits) {
    const std::string where = BaseWhere(r), ack = r.base->license_acknowledgement;
    in.push_back({where, "base model '" + base_credits->model_name + "'", base_credits->model_licence, ack, "[base]"});
    for (const BaseCredit& b : base_credits->bases)
      in.push_back({where, "base model '" + b.name + "' (a base of '" + base_credits->model_name + "')", b.licence,
                    ack, "[base]"});
    for (const CreditRow& c : base_credits->rows)
      in.push_back({where, "data source '" + c.title + "' of the base model '" + base_credits->model_name + "'",
                    c.licence, ack, "[base]"});
  }
  return in;
}

Status CheckRecipeLicences(const Recipe& r, const Credits* base_credits, std::vector<LicenceVerdict>* verdicts) {
  std::vector<LicenceVerdict> v = CheckLicences(r.model.license, RecipeLicenceInputs(r, base_credits));
  Status st = LicenceCheckStatus(r.model.license, v);
  if (verdicts) *verdicts = std::move(v);
  return st;
}

}  // namespace modelc
