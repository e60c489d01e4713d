#include "provenance/statement.h"

#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

namespace {

using ojson = nlohmann::ordered_json;

std::string Rfc3339Utc(int64_t epoch) {
  const time_t t = (time_t)epoch;
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string JsonString(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// The base model(s) a binary was fine-tuned from. Hook for `[base]` (issue 7
// part 3), which writes llama.cpp's general.base_model.* keys:
//   general.base_model.count (u32), general.base_model.N.name (str),
//   general.base_model.N.url or .repo_url (str, optional)
// plus modelc.base_model.N.sha256 (str: sha256 of the base binary). Each
// base with a sha256 becomes a resolved dependency.
void AppendBaseModels(const GgufFile& f, std::vector<ProvenanceDependency>* deps) {
  const GgufValue* count = f.Find("general.base_model.count");
  if (!count || count->is_array()) return;
  const uint64_t n = count->AsU64();
  for (uint64_t i = 0; i < n && i < 64; ++i) {
    const std::string p = "general.base_model." + std::to_string(i) + ".";
    ProvenanceDependency d;
    if (const GgufValue* v = f.Find(p + "name")) d.name = v->AsString();
    if (const GgufValue* v = f.Find(p + "url")) d.uri = v->AsString();
    if (d.uri.empty())
      if (const GgufValue* v = f.Find(p + "repo_url")) d.uri = v->AsString();
    if (const GgufValue* v = f.Find("modelc.base_model." + std::to_string(i) + ".sha256")) d.sha256 = v->AsString();
    if (d.sha256.empty()) continue;
    d.annotations.push_back({"role", "base model"});
    const GgufValue* lic = f.Find(p + "license");
    if (!lic) lic = f.Find("modelc.base_model." + std::to_string(i) + ".license");  // what modelc writes
    if (lic) d.annotations.push_back({"license", lic->AsString()});
    deps->push_back(std::move(d));
  }
}

// Parsed JSON with the parts that may differ between two statements of one
// binary removed: subject names and runDetails.metadata.
nlohmann::json WithoutVolatile(nlohmann::json j) {
  if (j.contains("subject") && j["subject"].is_array())
    for (auto& s : j["subject"])
      if (s.is_object()) s.erase("name");
  if (j.contains("predicate") && j["predicate"].is_object() && j["predicate"].contains("runDetails") &&
      j["predicate"]["runDetails"].is_object())
    j["predicate"]["runDetails"].erase("metadata");
  return j;
}

// First path at which two JSON values differ ("" if equal).
std::string FirstDifference(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
  if (a.type() != b.type()) return path.empty() ? "/" : path;
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return path + "/" + it.key();
      std::string d = FirstDifference(it.value(), b[it.key()], path + "/" + it.key());
      if (!d.empty()) return d;
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key())) return path + "/" + it.key();
    return "";
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      std::string d = FirstDifference(a[i], b[i], path + "/" + std::to_string(i));
      if (!d.empty()) return d;
    }
    return a.size() == b.size() ? "" : path + " (length " + std::to_string(a.size()) + " vs " +
                                           std::to_string(b.size()) + ")";
  }
  return a == b ? "" : (path.empty() ? "/" : path);
}

}  // namespace

Status SourceDateEpochFromEnv(std::optional<int64_t>* out) {
  out->reset();
  const char* e = std::getenv("SOURCE_DATE_EPOCH");
  if (!e || !*e) return Status::OK();
  const std::string s = e;
  if (s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return Status::Error("SOURCE_DATE_EPOCH=\"" + s + "\" is not a number of seconds since 1970-01-01 (a decimal integer)");
  *out = std::stoll(s);
  return Status::OK();
}

Status StatementInputsFromModel(const std::string& model_path, StatementInputs* out) {
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(model_path, &f));
  StatementInputs in;
  in.subject_name = std::filesystem::path(model_path).filename().string();
  if (!f->GetString("modelc.source_hash", &in.source_hash).ok() || !f->GetString("modelc.recipe", &in.recipe_json).ok())
    return Status::Error(model_path + ": no modelc.source_hash / modelc.recipe: not a modelc build, no provenance to state");
  MODELC_RETURN_IF_ERROR(f->GetString("modelc.version", &in.modelc_version));
  if (!nlohmann::json::accept(in.recipe_json)) return Status::Error(model_path + ": modelc.recipe is not valid JSON");
  std::string manifest_text;
  MODELC_RETURN_IF_ERROR(f->GetString("modelc.data_manifest", &manifest_text));
  const nlohmann::json manifest = nlohmann::json::parse(manifest_text, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_array()) return Status::Error(model_path + ": modelc.data_manifest is not a JSON array");
  for (const auto& m : manifest) {
    if (!m.is_object()) return Status::Error(model_path + ": modelc.data_manifest holds a non-object entry");
    ProvenanceDependency d;
    d.name = JsonString(m, "path");
    d.uri = JsonString(m, "source_url");
    d.sha256 = JsonString(m, "sha256");
    if (d.sha256.empty()) return Status::Error(model_path + ": data source \"" + d.name + "\" has no sha256 in the manifest");
    for (const char* k : {"author", "license", "title"})
      if (!JsonString(m, k).empty()) d.annotations.push_back({k, JsonString(m, k)});
    if (m.contains("bytes") && m["bytes"].is_number_unsigned())
      d.annotations.insert(d.annotations.begin(), {"bytes", std::to_string(m["bytes"].get<uint64_t>())});
    in.dependencies.push_back(std::move(d));
  }
  AppendBaseModels(*f, &in.dependencies);
  f.reset();
  MODELC_RETURN_IF_ERROR(Sha256File(model_path, &in.subject_sha256));
  *out = std::move(in);
  return Status::OK();
}

std::string StatementJson(const StatementInputs& in) {
  ojson subject;
  subject["name"] = in.subject_name;
  subject["digest"] = {{"sha256", in.subject_sha256}};

  ojson external;
  external["recipe"] = ojson::parse(in.recipe_json);
  external["sourceHash"] = in.source_hash;
  ojson internal;
  internal["modelcVersion"] = in.modelc_version;
  ojson deps = ojson::array();
  for (const ProvenanceDependency& d : in.dependencies) {
    ojson o;
    o["name"] = d.name;
    if (!d.uri.empty()) o["uri"] = d.uri;
    o["digest"] = {{"sha256", d.sha256}};
    if (!d.annotations.empty()) {
      nlohmann::json a = nlohmann::json::object();  // sorted keys
      for (const auto& [k, v] : d.annotations) a[k] = v;
      o["annotations"] = ojson::parse(a.dump());
    }
    deps.push_back(std::move(o));
  }
  ojson build;
  build["buildType"] = kModelcBuildType;
  build["externalParameters"] = std::move(external);
  build["internalParameters"] = std::move(internal);
  build["resolvedDependencies"] = std::move(deps);

  ojson run;
  run["builder"] = {{"id", kModelcBuilderId}, {"version", {{"modelc", in.modelc_version}}}};
  if (in.source_date_epoch) run["metadata"] = {{"finishedOn", Rfc3339Utc(*in.source_date_epoch)}};

  ojson j;
  j["_type"] = kInTotoStatementType;
  j["subject"] = ojson::array({std::move(subject)});
  j["predicateType"] = kSlsaProvenanceType;
  j["predicate"] = {{"buildDefinition", std::move(build)}, {"runDetails", std::move(run)}};
  return j.dump(2) + "\n";
}

std::string StatementPath(const std::string& model_path) { return model_path + ".intoto.json"; }

Status ParseStatement(const std::string& text, const std::string& where, ParsedStatement* out) {
  const std::string bad = where + ": not a modelc provenance statement: ";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (number overflow)
    return Status::Error(bad + "not JSON (" + e.what() + ")");
  }
  if (!j.is_object()) return Status::Error(bad + "not a JSON object");
  if (JsonString(j, "_type") != kInTotoStatementType)
    return Status::Error(bad + "_type is \"" + JsonString(j, "_type") + "\", expected \"" + kInTotoStatementType + "\"");
  if (JsonString(j, "predicateType") != kSlsaProvenanceType)
    return Status::Error(bad + "predicateType is \"" + JsonString(j, "predicateType") + "\", expected \"" +
                         kSlsaProvenanceType + "\"");
  if (!j.contains("subject") || !j["subject"].is_array() || j["subject"].size() != 1 || !j["subject"][0].is_object())
    return Status::Error(bad + "expected exactly one subject");
  const auto& s = j["subject"][0];
  if (!s.contains("digest") || !s["digest"].is_object() || JsonString(s["digest"], "sha256").empty())
    return Status::Error(bad + "the subject has no sha256 digest");
  ParsedStatement p;
  p.subject_name = JsonString(s, "name");
  p.subject_sha256 = JsonString(s["digest"], "sha256");
  const nlohmann::json* bd = nullptr;
  if (j.contains("predicate") && j["predicate"].is_object() && j["predicate"].contains("buildDefinition") &&
      j["predicate"]["buildDefinition"].is_object())
    bd = &j["predicate"]["buildDefinition"];
  if (!bd) return Status::Error(bad + "predicate.buildDefinition missing");
  if (JsonString(*bd, "buildType") != kModelcBuildType)
    return Status::Error(bad + "buildType is \"" + JsonString(*bd, "buildType") + "\", expected \"" + kModelcBuildType + "\"");
  if (!bd->contains("externalParameters") || !(*bd)["externalParameters"].is_object())
    return Status::Error(bad + "buildDefinition.externalParameters missing");
  const auto& ext = (*bd)["externalParameters"];
  p.source_hash = JsonString(ext, "sourceHash");
  if (p.source_hash.empty()) return Status::Error(bad + "externalParameters.sourceHash missing");
  if (!ext.contains("recipe") || !ext["recipe"].is_object())
    return Status::Error(bad + "externalParameters.recipe missing");
  p.recipe_json = ext["recipe"].dump();
  p.json_without_volatile = WithoutVolatile(j).dump();
  *out = std::move(p);
  return Status::OK();
}

Status CheckStatementMatchesModel(const ParsedStatement& st, const StatementInputs& in,
                                  const std::string& statement_name, const std::string& model_name) {
  if (st.subject_sha256 != in.subject_sha256)
    return Status::Error("the subject digest in " + statement_name + " is sha256 " + st.subject_sha256 + ", but " +
                         model_name + " has sha256 " + in.subject_sha256 + " (the binary or the statement was changed)");
  if (st.source_hash != in.source_hash)
    return Status::Error(statement_name + " states source hash " + st.source_hash + ", but " + model_name +
                         " records modelc.source_hash " + in.source_hash);
  if (st.recipe_json != nlohmann::json::parse(in.recipe_json).dump())
    return Status::Error("the recipe in " + statement_name + " is not the one " + model_name + " records (modelc.recipe)");
  if (Sha256Hex(st.recipe_json) != st.source_hash)
    return Status::Error("the recipe in " + statement_name + " hashes to " + Sha256Hex(st.recipe_json) +
                         ", not to the source hash it states");
  ParsedStatement regenerated;
  MODELC_RETURN_IF_ERROR(ParseStatement(StatementJson(in), "regenerated statement", &regenerated));
  if (st.json_without_volatile != regenerated.json_without_volatile) {
    const std::string where = FirstDifference(nlohmann::json::parse(st.json_without_volatile),
                                              nlohmann::json::parse(regenerated.json_without_volatile), "");
    return Status::Error(statement_name + " differs from the provenance recorded in " + model_name + " at " + where);
  }
  return Status::OK();
}

Status WriteStatementForModel(const std::string& model_path, std::string* path) {
  StatementInputs in;
  MODELC_RETURN_IF_ERROR(StatementInputsFromModel(model_path, &in));
  MODELC_RETURN_IF_ERROR(SourceDateEpochFromEnv(&in.source_date_epoch));
  const std::string p = StatementPath(model_path);
  MODELC_RETURN_IF_ERROR(WriteFileAtomic(p, StatementJson(in)));
  if (path) *path = p;
  return Status::OK();
}

}  // namespace modelc
