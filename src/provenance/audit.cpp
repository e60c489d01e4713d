#include "provenance/audit.h"

#include <sys/stat.h>
#include <time.h>

#include <filesystem>
#include <memory>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "compile/checkpoint.h"
#include "provenance/open_licenses.h"
#include "provenance/statement.h"
#include "source/recipe.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

namespace fs = std::filesystem;

const char* PresenceName(Presence p) {
  switch (p) {
    case Presence::kPresent: return "present";
    case Presence::kPartial: return "partial";
    default: return "absent";
  }
}

namespace {

std::string Str(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.Find(key);
  return v && v->type() == gguf_type::kString ? v->AsString() : "";
}

std::string JStr(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}
uint64_t JU64(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : 0;
}

std::string DateOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "?";
  struct tm tm {};
  gmtime_r(&st.st_mtime, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

bool NonEmptyFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0;
}

// Document files looked for in the source folder and beside the binary.
void FindDocuments(const std::vector<fs::path>& dirs, const std::string& model_stem, AuditFacts* f) {
  const struct {
    const char* name;
    bool AuditFacts::*flag;
  } docs[] = {{"MODEL_CARD.md", &AuditFacts::has_model_card}, {"README.md", &AuditFacts::has_model_card},
              {"DATA_CARD.md", &AuditFacts::has_data_card},   {"REPORT.md", &AuditFacts::has_report},
              {"report.html", &AuditFacts::has_report},       {"PAPER.md", &AuditFacts::has_paper},
              {"paper.pdf", &AuditFacts::has_paper}};
  for (const fs::path& d : dirs) {
    for (const auto& doc : docs) {
      const fs::path p = d / doc.name;
      if (NonEmptyFile(p)) f->*doc.flag = true, f->documents.push_back(p.string());
    }
    const fs::path report = d / (model_stem + ".report.html");
    if (NonEmptyFile(report)) f->has_report = true, f->documents.push_back(report.string());
  }
}

void ReadBinary(const std::string& path, AuditFacts* f) {
  std::unique_ptr<GgufFile> g;
  if (!GgufFile::Open(path, &g).ok()) return;
  f->gguf_ok = true;
  f->name = Str(*g, "general.name");
  f->license = Str(*g, "general.license");
  f->description = Str(*g, "general.description");
  f->authors = Str(*g, "general.author");
  f->modelc_version = Str(*g, "modelc.version");
  f->source_hash = Str(*g, "modelc.source_hash");
  f->tokenizer = Str(*g, "modelc.tokenizer");
  const std::string recipe = Str(*g, "modelc.recipe");
  f->modelc_build = !f->source_hash.empty() && !recipe.empty() && !f->modelc_version.empty();
  f->recipe_hash_ok = f->modelc_build && Sha256Hex(recipe) == f->source_hash;
  if (const GgufValue* v = g->Find("modelc.val_loss")) f->has_val_loss = true, f->val_loss = v->AsF64();
  if (const GgufValue* v = g->Find("modelc.train_loss")) f->train_loss = v->AsF64();
  const nlohmann::json curve = nlohmann::json::parse(Str(*g, "modelc.val_curve"), nullptr, false);
  if (curve.is_array()) f->val_curve_points = (int)curve.size();
  std::vector<ChainLink> chain;
  if (ChainFromJson(Str(*g, "modelc.hash_chain"), &chain).ok()) f->chain_links = (int)chain.size();
  const nlohmann::json manifest = nlohmann::json::parse(Str(*g, "modelc.data_manifest"), nullptr, false);
  if (manifest.is_array())
    for (const auto& m : manifest) {
      if (!m.is_object()) continue;
      AuditDataSource d;
      d.title = JStr(m, "title");
      d.author = JStr(m, "author");
      d.license = JStr(m, "license");
      d.source_url = JStr(m, "source_url");
      d.path = JStr(m, "path");
      d.sha256 = JStr(m, "sha256");
      d.bytes = JU64(m, "bytes");
      d.val_tokens = JU64(m, "val_tokens");
      f->data.push_back(std::move(d));
    }
  g.reset();
  LoadedModel lm;
  Status st = LoadModelFile(path, &lm);
  f->weights_ok = st.ok();
  if (st.ok()) {
    f->parameters = (int64_t)lm.params.size();
    f->architecture = std::string(FindFamily(lm.config.family)->gguf_arch) + ": " + lm.config.Describe();
  } else {
    f->weights_error = st.message();
  }
}

void CheckSource(const std::string& dir, AuditFacts* f) {
  f->source_given = true;
  f->source_dir = dir;
  Recipe r;
  Status st = LoadRecipe(dir, &r);
  if (!st.ok()) {
    f->source_problem = st.message();
    return;
  }
  if (r.SourceHash() != f->source_hash)
    f->source_problem = dir + " has source hash " + r.SourceHash() + ", the binary records " + f->source_hash;
  for (size_t i = 0; i < f->data.size(); ++i) {
    AuditDataSource& d = f->data[i];
    // The binary's manifest and the recipe list the sources in the same order.
    const std::string file = i < r.data.size() && r.data[i].path == d.path ? r.data[i].resolved : "";
    std::error_code ec;
    if (file.empty() || !fs::is_regular_file(file, ec)) {
      d.file = FileCheck::kMissing;
      continue;
    }
    std::string sha;
    d.file = Sha256File(file, &sha).ok() && sha == d.sha256 ? FileCheck::kMatches : FileCheck::kMismatch;
  }
}

void CheckCheckpoints(const std::string& dir, const std::string& model, AuditFacts* f) {
  f->checkpoints_given = true;
  std::unique_ptr<GgufFile> g;
  std::vector<ChainLink> chain;
  if (!GgufFile::Open(model, &g).ok() || !ChainFromJson(Str(*g, "modelc.hash_chain"), &chain).ok()) return;
  for (const ChainLink& link : chain) {
    TrainState s;
    std::string src;
    if (!ReadCheckpoint(CheckpointPath(dir, link.step), &s, &src).ok()) continue;
    if (src == f->source_hash && s.step == link.step && TrainStateHash(s) == link.state_sha256) ++f->checkpoints_matching;
  }
}

void ReadVerifyResult(const std::string& path, AuditFacts* f) {
  std::string text;
  if (!ReadFile(path, &text).ok()) {
    f->rebuild_evidence = "cannot read " + path;
    return;
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || JStr(j, "result").empty()) {
    f->rebuild_evidence = path + " is not the output of `modelc verify --json`";
    return;
  }
  if (JStr(j, "model_sha256") != f->model_sha256) {
    f->rebuild_evidence = path + " is about another binary (sha256 " + JStr(j, "model_sha256") + ")";
    return;
  }
  const std::string how = j.contains("segment") ? "verified segment " + std::to_string(j["segment"].get<int64_t>()) +
                                                      " of the hash chain"
                                                : "verified rebuild";
  if (JStr(j, "result") == "identical") {
    f->rebuild = RebuildResult::kIdentical;
    f->rebuild_evidence = how + " on " + DateOf(path) + " matched (" + path + ")";
  } else if (JStr(j, "result") == "different") {
    f->rebuild = RebuildResult::kDifferent;
    f->rebuild_evidence = how + " on " + DateOf(path) + " did NOT match: " + JStr(j, "message");
  } else {
    f->rebuild_evidence = path + ": the verification could not run: " + JStr(j, "message");
  }
}

void CheckStatement(const std::string& model, AuditFacts* f) {
  const std::string sp = StatementPath(model);
  std::error_code ec;
  f->signature_present = fs::exists(model + ".dsse.json", ec);
  if (!fs::exists(sp, ec)) return;
  f->statement_present = true;
  std::string text;
  ParsedStatement ps;
  StatementInputs in;
  Status st = ReadFile(sp, &text);
  if (st.ok()) st = ParseStatement(text, sp, &ps);
  if (st.ok()) st = StatementInputsFromModel(model, &in);
  if (st.ok()) st = CheckStatementMatchesModel(ps, in, sp, model);
  f->statement_matches = st.ok();
  f->statement_problem = st.ok() ? "" : st.message();
}

// ---------------------------------------------------------------------------
// Decisions.

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string CodeLicenseNote(const AuditFacts& f) {
  if (IsOsiApproved(f.code_license)) return " (licence " + f.code_license + ")";
  return f.code_license.empty() ? "; but modelc's source declares no licence, so it is not under open terms"
                                : "; but modelc's licence " + f.code_license + " is not OSI-approved";
}

// Code written by modelc: present with an OSI licence, partial without.
Presence CodePresence(const AuditFacts& f, bool have) {
  return !have ? Presence::kAbsent : IsOsiApproved(f.code_license) ? Presence::kPresent : Presence::kPartial;
}

struct DataSummary {
  size_t n = 0, pinned = 0, with_url = 0, with_license = 0, open = 0, described = 0;
  size_t checked = 0, matches = 0, missing = 0, mismatch = 0;
  uint64_t val_tokens = 0;
  std::string text;  // "3 sources, all sha256-pinned, 2 with public URLs, 1 without"
};

std::string AllOr(size_t k, size_t n, const std::string& what) {
  return k == n ? (n == 1 ? "" : "all ") + what : std::to_string(k) + " of " + std::to_string(n) + " " + what;
}

DataSummary SummarizeData(const AuditFacts& f) {
  DataSummary s;
  s.n = f.data.size();
  for (const AuditDataSource& d : f.data) {
    s.pinned += d.sha256.size() == 64;
    s.with_url += d.source_url.rfind("https://", 0) == 0 || d.source_url.rfind("http://", 0) == 0;
    s.with_license += !d.license.empty();
    s.open += IsOpenDataLicense(d.license);
    s.described += !d.title.empty() && !d.author.empty() && !d.license.empty();
    s.checked += d.file != FileCheck::kNotChecked;
    s.matches += d.file == FileCheck::kMatches;
    s.missing += d.file == FileCheck::kMissing;
    s.mismatch += d.file == FileCheck::kMismatch;
    s.val_tokens += d.val_tokens;
  }
  if (s.n == 0) {
    s.text = "no data sources recorded";
    return s;
  }
  s.text = Plural(s.n, "source", "sources") + ", " + AllOr(s.pinned, s.n, "sha256-pinned") + ", ";
  if (s.with_url == s.n)
    s.text += s.n == 1 ? "with a public URL" : "all with public URLs";
  else
    s.text += std::to_string(s.with_url) + " with public URLs, " + std::to_string(s.n - s.with_url) + " without";
  s.text += ", " + AllOr(s.open, s.n, "under open data licences");
  if (s.checked > 0) {
    s.text += "; data files in " + f.source_dir + ": " + std::to_string(s.matches) + " of " + std::to_string(s.n) +
              " match their pins";
    if (s.missing) s.text += ", " + std::to_string(s.missing) + " missing";
    if (s.mismatch) s.text += ", " + std::to_string(s.mismatch) + " differ";
  }
  return s;
}

}  // namespace

Status GatherAuditFacts(const AuditInputs& in, AuditFacts* out) {
  AuditFacts f;
  f.model_path = in.model;
  MODELC_RETURN_IF_ERROR(Sha256File(in.model, &f.model_sha256));
  ReadBinary(in.model, &f);
  if (!f.gguf_ok) {
    std::unique_ptr<GgufFile> g;
    return GgufFile::Open(in.model, &g);  // the reader's own message
  }
  std::vector<fs::path> dirs;
  if (!in.source.empty()) {
    CheckSource(in.source, &f);
    dirs.push_back(in.source);
  }
  const fs::path model_dir = fs::path(in.model).has_parent_path() ? fs::path(in.model).parent_path() : fs::path(".");
  std::error_code ec;
  if (dirs.empty() || !fs::equivalent(dirs[0], model_dir, ec)) dirs.push_back(model_dir);
  FindDocuments(dirs, fs::path(in.model).stem().string(), &f);
  if (!in.checkpoints.empty()) CheckCheckpoints(in.checkpoints, in.model, &f);
  if (!in.verified_rebuild.empty()) ReadVerifyResult(in.verified_rebuild, &f);
  CheckStatement(in.model, &f);
  *out = std::move(f);
  return Status::OK();
}

AuditReport EvaluateAudit(const AuditFacts& f) {
  AuditReport r;
  const DataSummary ds = SummarizeData(f);
  const bool data_complete = ds.n > 0 && ds.pinned == ds.n && ds.described == ds.n;
  const bool data_checked = ds.n > 0 && ds.matches == ds.n && f.source_problem.empty();
  auto add = [&](const char* fw, const char* name, int cls, bool optional, Presence p, std::string ev) {
    r.components.push_back({fw, name, cls, optional, p, std::move(ev)});
  };
  const std::string built_by = "modelc " + f.modelc_version;

  // --- OSAID 1.0 -------------------------------------------------------------
  {
    Presence p = Presence::kAbsent;
    std::string ev = ds.text;
    if (ds.n > 0) {
      // Where to obtain each source: a public URL, or the pinned file itself.
      const bool obtainable = ds.with_url == ds.n || data_checked;
      p = data_complete && obtainable && f.recipe_hash_ok ? Presence::kPresent : Presence::kPartial;
      if (f.recipe_hash_ok) ev += "; selection and processing: the recipe (splits, tokenizer " + f.tokenizer + ") is in the binary";
      if (!obtainable) ev += "; not every source says where to obtain it";
      if (ds.described < ds.n) ev += "; " + std::to_string(ds.n - ds.described) + " without title, author or licence";
    }
    add("OSAID", "Data Information", 0, false, p, ev);
  }
  {
    const bool have = f.modelc_build && f.recipe_hash_ok;
    add("OSAID", "Code", 0, false, CodePresence(f, have),
        have ? "training, data processing and inference code: " + built_by + ", which the binary names; the recipe in the binary is complete (it hashes to the source hash)" + CodeLicenseNote(f)
             : "no record of the code that built it (not a modelc build)");
  }
  {
    Presence p = Presence::kAbsent;
    std::string ev = f.weights_ok ? std::to_string(f.parameters) + " parameters, every tensor present (" + f.architecture + ")"
                                  : "the weights do not load: " + f.weights_error;
    if (f.weights_ok) {
      if (IsOsiApproved(f.license)) {
        p = Presence::kPresent;
        ev += ", licence " + f.license + " (OSI-approved)";
      } else {
        p = Presence::kPartial;
        ev += f.license.empty() ? ", but no licence (general.license)" : ", but licence " + f.license + " is not OSI-approved";
      }
    }
    add("OSAID", "Parameters", 0, false, p, ev);
  }

  // --- MOF, class III ---------------------------------------------------------
  add("MOF", "Model architecture", 3, false, CodePresence(f, f.weights_ok && f.modelc_build),
      f.weights_ok ? f.architecture + ", implemented by " + built_by + " (src/model)" + CodeLicenseNote(f)
                   : "the architecture does not load: " + f.weights_error);
  {
    Presence p = !f.weights_ok ? Presence::kAbsent : IsOpenDataLicense(f.license) ? Presence::kPresent : Presence::kPartial;
    add("MOF", "Model parameters (Final)", 3, false, p,
        f.weights_ok ? std::to_string(f.parameters) + " parameters in the binary, licence " +
                           (f.license.empty() ? "none" : f.license) + (p == Presence::kPresent ? " (open)" : " (not open)")
                     : "the weights do not load: " + f.weights_error);
  }
  add("MOF", "Technical report", 3, false,
      f.has_report || f.has_paper ? Presence::kPresent : f.modelc_build ? Presence::kPartial : Presence::kAbsent,
      f.has_report || f.has_paper ? "found a report document (REPORT.md, report.html or a paper)"
      : f.modelc_build ? "the binary records the full recipe, losses and hash chain, but no report document was found"
                       : "nothing found");
  {
    Presence p = Presence::kAbsent;
    std::string ev = "no evaluation recorded";
    if (f.has_val_loss && ds.val_tokens > 0) {
      p = Presence::kPresent;
      char buf[160];
      std::snprintf(buf, sizeof buf, "val loss %.4f nats/token on %llu held-out tokens, %d points on the val curve",
                    f.val_loss, (unsigned long long)ds.val_tokens, f.val_curve_points);
      ev = buf;
    } else if (f.has_val_loss) {
      p = Presence::kPartial;
      ev = "a val loss is recorded but no held-out tokens";
    }
    add("MOF", "Evaluation results", 3, false, p, ev);
  }
  {
    const bool meta = !f.name.empty() && !f.license.empty() && !f.description.empty();
    add("MOF", "Model card", 3, false,
        f.has_model_card ? Presence::kPresent : meta ? Presence::kPartial : Presence::kAbsent,
        f.has_model_card ? "model card document found (MODEL_CARD.md or README.md)"
        : meta ? "the binary has name, description, licence and authors; no model card document (MODEL_CARD.md or README.md in the source)"
               : "no model description");
  }
  add("MOF", "Data card", 3, false,
      f.has_data_card || data_complete ? Presence::kPresent : ds.n > 0 ? Presence::kPartial : Presence::kAbsent,
      f.has_data_card ? "DATA_CARD.md found; " + ds.text
                      : "the data manifest in the binary: " + ds.text +
                            (data_complete ? " (title, author, licence, size and sha256 of each)" : ""));
  add("MOF", "Sample model outputs", 3, true, Presence::kAbsent,
      "none published (`modelc run MODEL --seed N` makes them reproducibly)");

  // --- MOF, class II ----------------------------------------------------------
  add("MOF", "Training code", 2, false,
      f.modelc_build && !f.recipe_hash_ok ? Presence::kPartial : CodePresence(f, f.modelc_build),
      f.modelc_build ? built_by + " with the recipe in the binary" +
                           std::string(f.recipe_hash_ok ? "" : " (which does NOT hash to the source hash)") + CodeLicenseNote(f)
                     : "not a modelc build");
  add("MOF", "Inference code", 2, false, CodePresence(f, f.weights_ok),
      f.weights_ok ? "llama.cpp's gpt2 layout (llama.cpp loads it) and `modelc run`" + CodeLicenseNote(f)
                   : "the weights do not load");
  add("MOF", "Evaluation code", 2, false, CodePresence(f, f.has_val_loss && f.modelc_build),
      f.has_val_loss ? "the held-out loss is computed by " + built_by + " during the build" + CodeLicenseNote(f)
                     : "no evaluation recorded");
  {
    Presence p = Presence::kAbsent;
    std::string ev = "no held-out data";
    if (ds.val_tokens > 0) {
      const bool open = ds.open == ds.n;
      p = data_checked && open ? Presence::kPresent : Presence::kPartial;
      ev = std::to_string(ds.val_tokens) + " held-out tokens from the pinned data (split in the recipe)";
      if (!data_checked) ev += f.source_given ? "; the data files do not all match their pins" : "; files not checked (--source DIR)";
      if (!open) ev += "; not every data licence is open";
    }
    add("MOF", "Evaluation data", 2, false, p, ev);
  }
  add("MOF", "Supporting libraries and tools", 2, true, f.modelc_build ? Presence::kPresent : Presence::kAbsent,
      f.modelc_build ? "modelc's dependencies are Debian packages (OpenSSL, nlohmann-json, CLI11, toml++, OpenMP)"
                     : "unknown");

  // --- MOF, class I -----------------------------------------------------------
  add("MOF", "Research paper", 1, false, f.has_paper ? Presence::kPresent : Presence::kAbsent,
      f.has_paper ? "paper found (PAPER.md or paper.pdf)" : "no research paper found (PAPER.md or paper.pdf)");
  {
    Presence p = Presence::kAbsent;
    std::string ev = ds.text;
    if (ds.n > 0) {
      p = data_checked && ds.open == ds.n ? Presence::kPresent : Presence::kPartial;
      if (!f.source_given) ev += "; files not checked (--source DIR)";
      else if (!f.source_problem.empty()) ev += "; " + f.source_problem;
    }
    add("MOF", "Datasets", 1, false, p, ev);
  }
  add("MOF", "Data preprocessing code", 1, false, CodePresence(f, f.modelc_build),
      f.modelc_build ? "splits and the " + (f.tokenizer.empty() ? std::string("?") : f.tokenizer) +
                           " tokenizer are done by " + built_by + " from the recipe (no other preprocessing)" + CodeLicenseNote(f)
                     : "not a modelc build");
  {
    Presence p = Presence::kAbsent;
    std::string ev = "no intermediate states recorded";
    if (f.chain_links > 0) {
      if (f.checkpoints_given && f.checkpoints_matching == f.chain_links) {
        p = Presence::kPresent;
        ev = "checkpoints of all " + std::to_string(f.chain_links) + " hash-chain links supplied and their states match the chain";
      } else {
        p = Presence::kPartial;
        ev = "the hash chain records " + std::to_string(f.chain_links) + " training states by hash";
        ev += f.checkpoints_given ? "; " + std::to_string(f.checkpoints_matching) + " of them match the supplied checkpoints"
                                  : "; checkpoints not supplied (--checkpoints DIR from `modelc checkpoint export`)";
      }
    }
    add("MOF", "Model parameters (Intermediate)", 1, false, p, ev);
  }
  add("MOF", "Model metadata", 1, true, f.modelc_build ? Presence::kPresent : Presence::kAbsent,
      f.modelc_build ? "recipe, data manifest, losses, loss curves and hash chain (modelc.*)" : "no training metadata");

  // --- Verdicts -----------------------------------------------------------------
  r.osaid = true;
  for (const AuditComponent& c : r.components)
    if (c.framework == "OSAID" && c.presence != Presence::kPresent) r.osaid = false;
  auto class_complete = [&](int cls) {
    for (const AuditComponent& c : r.components)
      if (c.framework == "MOF" && c.mof_class == cls && !c.optional && c.presence != Presence::kPresent) return false;
    return true;
  };
  r.mof_class = 0;
  for (int cls = 3; cls >= 1 && class_complete(cls); --cls) r.mof_class = cls;
  const int next = r.mof_class == 0 ? 3 : r.mof_class - 1;
  if (next >= 1)
    for (const AuditComponent& c : r.components)
      if (c.framework == "MOF" && c.mof_class == next && !c.optional && c.presence != Presence::kPresent)
        r.missing_for_next.push_back(c.name + " (" + PresenceName(c.presence) + ")");

  r.other.push_back({"reproducible", f.rebuild_evidence.empty()
                                         ? "not verified (`modelc verify MODEL --source DIR --json > FILE`, then --verified-rebuild FILE)"
                                         : f.rebuild_evidence});
  r.other.push_back({"provenance", !f.statement_present ? "no statement beside the binary"
                                   : f.statement_matches ? StatementPath(f.model_path) + " matches the binary"
                                                         : "the statement beside the binary does not match: " + f.statement_problem});
  r.other.push_back({"signature", f.signature_present ? f.model_path + ".dsse.json present (check it: modelc verify MODEL --signature FILE --key PUB.pem)"
                                                      : "none beside the binary (modelc sign)"});
  return r;
}

namespace {
const char* MofClassName(int c) {
  return c == 3 ? "Class III (Open Model)" : c == 2 ? "Class II (Open Tooling)" : c == 1 ? "Class I (Open Science)" : "none";
}
}  // namespace

nlohmann::ordered_json AuditJson(const AuditFacts& f, const AuditReport& r) {
  nlohmann::ordered_json j;
  j["model"] = f.model_path;
  j["sha256"] = f.model_sha256;
  j["name"] = f.name;
  j["source"] = f.source_given ? nlohmann::ordered_json(f.source_dir) : nlohmann::ordered_json(nullptr);
  auto list = [&](const char* fw) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const AuditComponent& c : r.components) {
      if (c.framework != fw) continue;
      nlohmann::ordered_json o;
      o["component"] = c.name;
      if (c.mof_class) o["class"] = c.mof_class;
      if (c.optional) o["optional"] = true;
      o["status"] = PresenceName(c.presence);
      o["evidence"] = c.evidence;
      a.push_back(std::move(o));
    }
    return a;
  };
  std::vector<std::string> osaid_missing;
  for (const AuditComponent& c : r.components)
    if (c.framework == "OSAID" && c.presence != Presence::kPresent) osaid_missing.push_back(c.name);
  j["osaid"] = {{"version", "1.0"}, {"components", list("OSAID")}, {"open_source_ai", r.osaid}, {"missing", osaid_missing}};
  j["mof"] = {{"components", list("MOF")},
              {"class", r.mof_class == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.mof_class)},
              {"class_name", MofClassName(r.mof_class)},
              {"missing_for_next_class", r.missing_for_next}};
  nlohmann::ordered_json other;
  for (const auto& [k, v] : r.other) other[k] = v;
  j["other"] = std::move(other);
  return j;
}

std::string AuditText(const AuditFacts& f, const AuditReport& r) {
  std::string s = "audit of " + f.model_path + " (" + (f.name.empty() ? "unnamed" : f.name) + ", sha256 " +
                  f.model_sha256 + ")\n" + (f.source_given ? "  source " + f.source_dir + "\n" : "") + "\n";
  auto line = [&](const AuditComponent& c) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "    %-8s %-38s ", PresenceName(c.presence),
                  (c.name + (c.optional ? " (opt.)" : "")).c_str());
    s += buf + c.evidence + "\n";
  };
  s += "Open Source AI Definition 1.0\n";
  std::vector<std::string> missing;
  for (const AuditComponent& c : r.components)
    if (c.framework == "OSAID") {
      line(c);
      if (c.presence != Presence::kPresent) missing.push_back(c.name + " (" + PresenceName(c.presence) + ")");
    }
  std::string joined;
  for (const std::string& m : missing) joined += (joined.empty() ? "" : ", ") + m;
  s += r.osaid ? "  verdict: meets OSAID 1.0 (all three components present)\n"
               : "  verdict: not Open Source AI under OSAID 1.0; missing: " + joined + "\n";
  s += "\nModel Openness Framework\n";
  for (int cls = 3; cls >= 1; --cls) {
    s += std::string("  ") + MofClassName(cls) + "\n";
    for (const AuditComponent& c : r.components)
      if (c.framework == "MOF" && c.mof_class == cls) line(c);
  }
  joined.clear();
  for (const std::string& m : r.missing_for_next) joined += (joined.empty() ? "" : ", ") + m;
  s += std::string("  class: ") + MofClassName(r.mof_class);
  if (r.mof_class != 1) s += std::string("; for ") + MofClassName(r.mof_class == 0 ? 3 : r.mof_class - 1) + " missing: " + joined;
  s += "\n\nother evidence\n";
  for (const auto& [k, v] : r.other) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "  %-13s ", k.c_str());
    s += buf + v + "\n";
  }
  return s;
}

}  // namespace modelc
