#include "report/report_inputs.h"

#include <filesystem>

#include "binary/gguf.h"
#include "provenance/audit.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

namespace fs = std::filesystem;

std::string ReportPath(const std::string& model_path) {
  const fs::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".report.html")).string();
}

namespace {

std::string Str(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.Find(key);
  return v && v->type() == gguf_type::kString ? v->AsString() : "";
}

// A JSON key of the binary: absent -> null; present but not JSON -> error.
Status JsonKey(const GgufFile& f, const std::string& where, const std::string& key, nlohmann::ordered_json* out) {
  *out = nullptr;
  const GgufValue* v = f.Find(key);
  if (!v) return Status::OK();
  if (v->type() != gguf_type::kString) return Status::Error(where + ": " + key + " is not a string");
  *out = nlohmann::ordered_json::parse(v->AsString(), nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return Status::Error(where + ": " + key + " is not valid JSON");
  return Status::OK();
}

// modelc.*_curve: [[step, loss], ...]
Status Curve(const GgufFile& f, const std::string& where, const std::string& key,
             std::vector<std::pair<double, double>>* out) {
  nlohmann::ordered_json j;
  MODELC_RETURN_IF_ERROR(JsonKey(f, where, key, &j));
  if (j.is_null()) return Status::OK();
  if (!j.is_array()) return Status::Error(where + ": " + key + " is not a JSON array");
  for (const auto& p : j) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
      return Status::Error(where + ": " + key + ": every point must be [step, loss]");
    out->emplace_back(p[0].get<double>(), p[1].get<double>());
  }
  return Status::OK();
}

Status Chain(const GgufFile& f, const std::string& where, std::vector<ReportChainLink>* out) {
  nlohmann::ordered_json j;
  MODELC_RETURN_IF_ERROR(JsonKey(f, where, "modelc.hash_chain", &j));
  if (j.is_null()) return Status::OK();
  if (!j.is_array()) return Status::Error(where + ": modelc.hash_chain is not a JSON array");
  for (const auto& l : j) {
    if (!l.is_object() || !l.contains("step") || !l["step"].is_number_integer())
      return Status::Error(where + ": modelc.hash_chain: a link without an integer step");
    ReportChainLink r;
    r.step = l["step"].get<int64_t>();
    if (l.contains("state_sha256") && l["state_sha256"].is_string()) r.state_sha256 = l["state_sha256"];
    if (l.contains("chain_sha256") && l["chain_sha256"].is_string()) r.chain_sha256 = l["chain_sha256"];
    out->push_back(std::move(r));
  }
  return Status::OK();
}

std::string ValueText(const GgufValue& v) {
  switch (v.type()) {
    case gguf_type::kString: return v.AsString();
    case gguf_type::kF32:
    case gguf_type::kF64: return nlohmann::json(v.AsF64()).dump();
    case gguf_type::kBool: return v.AsBool() ? "true" : "false";
    case gguf_type::kArray: return std::to_string(v.ArraySize()) + " entries";
    default: return std::to_string(v.AsI64());
  }
}

}  // namespace

Status ReportInputsFromModel(const std::string& model_path, const std::string& report_path, ReportInputs* out) {
  ReportInputs in;
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(model_path, &f));
  const std::string& where = model_path;
  if (!f->Find("modelc.source_hash"))
    return Status::Error(where + ": not a modelc build (no modelc.source_hash key); the report needs its provenance");
  in.file_name = fs::path(model_path).filename().string();
  std::error_code ec;
  in.file_bytes = (uint64_t)fs::file_size(model_path, ec);
  MODELC_RETURN_IF_ERROR(Sha256File(model_path, &in.sha256));
  in.name = Str(*f, "general.name");
  in.description = Str(*f, "general.description");
  in.license = Str(*f, "general.license");
  in.authors = Str(*f, "general.author");
  in.modelc_version = Str(*f, "modelc.version");
  in.source_hash = Str(*f, "modelc.source_hash");
  in.tokenizer = Str(*f, "modelc.tokenizer");
  in.quantization = Str(*f, "modelc.quantization");
  nlohmann::ordered_json recipe;
  MODELC_RETURN_IF_ERROR(JsonKey(*f, where, "modelc.recipe", &recipe));
  if (recipe.is_object()) in.recipe = std::move(recipe);
  if (const GgufValue* v = f->Find("modelc.train_loss")) in.train_loss = v->AsF64(), in.has_losses = true;
  if (const GgufValue* v = f->Find("modelc.val_loss")) in.val_loss = v->AsF64();
  if (const GgufValue* v = f->Find("modelc.steps")) in.steps = v->AsI64();
  if (const GgufValue* v = f->Find("modelc.tokens_seen")) in.tokens_seen = v->AsI64();
  if (const GgufValue* v = f->Find("modelc.chain_every")) in.chain_every = v->AsI64();
  MODELC_RETURN_IF_ERROR(Curve(*f, where, "modelc.train_curve", &in.train_curve));
  MODELC_RETURN_IF_ERROR(Curve(*f, where, "modelc.val_curve", &in.val_curve));
  MODELC_RETURN_IF_ERROR(Chain(*f, where, &in.chain));
  for (const auto& [k, v] : f->kv())
    if (k.rfind("general.base_model.", 0) == 0) in.lineage.emplace_back(k, ValueText(v));

  // The audit, as `modelc audit MODEL` computes it (no --source).
  AuditInputs ai;
  ai.model = model_path;
  AuditFacts facts;
  Status st = GatherAuditFacts(ai, &facts);
  if (st.ok()) {
    // This report is the binary's technical report once written where the
    // audit looks for it.
    if (!report_path.empty() && fs::path(report_path).lexically_normal() == fs::path(ReportPath(model_path)).lexically_normal())
      facts.has_report = true;
    in.audit.available = true;
    in.audit.report = EvaluateAudit(facts);
    in.architecture = facts.architecture;
    in.parameters = facts.parameters;
  } else {
    in.audit.problem = st.message();
  }
  *out = std::move(in);
  return Status::OK();
}

Status WriteReportForModel(const std::string& model_path, const std::string& report_path, std::string* written) {
  const std::string path = report_path.empty() ? ReportPath(model_path) : report_path;
  ReportInputs in;
  MODELC_RETURN_IF_ERROR(ReportInputsFromModel(model_path, path, &in));
  MODELC_RETURN_IF_ERROR(WriteFileAtomic(path, RenderReportHtml(in)).Wrap(path));
  if (written) *written = path;
  return Status::OK();
}

}  // namespace modelc
