#include "report/report_inputs.h"

#include <filesystem>

#include "binary/gguf.h"
#include "compile/checkpoint.h"
#include "provenance/audit.h"
#include "provenance/credits.h"
#include "source/licence_check.h"
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

// modelc.hash_chain, parsed as compile/checkpoint.h writes it.
Status Chain(const GgufFile& f, const std::string& where, std::vector<ReportChainLink>* out) {
  const GgufValue* v = f.Find("modelc.hash_chain");
  if (!v) return Status::OK();
  std::vector<ChainLink> chain;
  MODELC_RETURN_IF_ERROR(ChainFromJson(v->AsString(), &chain).Wrap(where + ": modelc.hash_chain"));
  for (const ChainLink& l : chain) out->push_back({l.step, l.state_sha256, l.chain_sha256});
  return Status::OK();
}

// Paths in the audit's evidence, relative to the binary's folder (where
// the report is): the report must not depend on where the binary was built.
void RelativePaths(const std::string& model_path, std::string* s) {
  const std::string dir = fs::path(model_path).parent_path().string();
  if (dir.empty()) return;
  const std::string prefix = dir + "/";
  for (size_t p = s->find(prefix); p != std::string::npos; p = s->find(prefix, p)) s->erase(p, prefix.size());
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

std::string JoinNames(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The licence check of the build, recomputed from the licences and
// acknowledgements the binary records: every credited source (the base
// models' sources too) and every base model, against the model's licence.
ReportLicenceCheck LicenceCheckOf(const Credits& c) {
  std::vector<LicenceInput> inputs;
  for (const CreditRow& r : c.rows) {
    LicenceInput i;
    i.label = r.via_base.empty() ? r.title : r.title + " (via " + JoinNames(r.via_base, ", ") + ")";
    i.where = i.label;
    i.licence = r.licence;
    i.acknowledgement = r.licence_acknowledgement;
    inputs.push_back(std::move(i));
  }
  for (const BaseCredit& b : c.bases) {
    LicenceInput i;
    i.label = "base model " + b.name;
    i.where = i.label;
    i.licence = b.licence;
    i.acknowledgement = b.licence_acknowledgement;
    inputs.push_back(std::move(i));
  }
  ReportLicenceCheck out;
  out.checked = true;
  int conflicts = 0, acknowledged = 0;
  for (const LicenceVerdict& v : CheckLicences(c.model_licence, inputs)) {
    ReportLicenceRow row;
    row.source = v.input.label;
    row.license = v.input.licence;
    row.status = v.status;
    auto add = [&row](const std::string& t) {
      if (!row.note.empty()) row.note += ' ';
      row.note += t;
    };
    for (const LicenceConflict& k : v.conflicts) add(k.rule + ": " + k.explanation);
    if (!v.input.acknowledgement.empty()) add("Acknowledged: " + v.input.acknowledgement);
    if (v.attribution) add("Attribution required (see credits).");
    conflicts += v.status == "conflict";
    acknowledged += v.status == "acknowledged";
    out.rows.push_back(std::move(row));
  }
  out.ok = conflicts == 0;
  const std::string n = std::to_string(inputs.size());
  const std::string lic = c.model_licence.empty() ? "(no licence)" : c.model_licence;
  if (conflicts > 0)
    out.summary = std::to_string(conflicts) + " of " + n + " licences conflict with the model's licence " + lic +
                  " and are not acknowledged";
  else if (acknowledged > 0)
    out.summary = "passed with " + std::to_string(acknowledged) + " acknowledged conflict" + (acknowledged > 1 ? "s" : "") +
                  ": " + n + " licences checked against the model's licence " + lic;
  else if (inputs.size() == 1)
    out.summary = "passed: the licence of the one source allows a model licensed " + lic;
  else
    out.summary = "passed: all " + n + " licences allow a model licensed " + lic;
  return out;
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

  Credits credits;
  MODELC_RETURN_IF_ERROR(CreditsFromGguf(*f, where, &credits));
  for (const CreditRow& r : credits.rows) {
    ReportCredit c;
    c.title = r.title;
    c.author = r.author;
    c.license = r.licence;
    c.source_url = r.source_url;
    c.sha256 = r.sha256;
    c.tokens = r.tokens_used;
    c.share = r.share;
    c.attribution = r.attribution_required;
    c.acknowledgement = r.licence_acknowledgement;
    c.via = JoinNames(r.via_base, " / ");
    in.credits.push_back(std::move(c));
  }
  in.licence = LicenceCheckOf(credits);

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
    for (AuditComponent& c : in.audit.report.components) RelativePaths(model_path, &c.evidence);
    for (auto& kv : in.audit.report.other) RelativePaths(model_path, &kv.second);
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
  MODELC_RETURN_IF_ERROR(WriteFileAtomic(path, RenderReportHtml(in)));  // the message names path
  if (written) *written = path;
  return Status::OK();
}

}  // namespace modelc
