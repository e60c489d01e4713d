// `modelc audit`: how open a model binary is, computed from what the binary
// and (optionally) its source folder contain, not from claims. Two
// frameworks (mapping and rules: docs/openness.md):
//   - the OSI Open Source AI Definition 1.0: Data Information, Code, Parameters;
//   - the Model Openness Framework (MOF, LF AI & Data): its 17 components in
//     classes III (Open Model), II (Open Tooling) and I (Open Science).
// GatherAuditFacts reads files; EvaluateAudit is a pure function of the
// facts (the decisions are tested table by table).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace modelc {

// modelc's own source code licence (SPDX), which the code components of both
// frameworks need: the repository's LICENSE.
inline constexpr char kModelcCodeLicense[] = "Apache-2.0";  // LICENSE

enum class Presence { kPresent, kPartial, kAbsent };
const char* PresenceName(Presence p);  // "present", "partial", "absent"

enum class FileCheck { kNotChecked, kMatches, kMissing, kMismatch };

struct AuditDataSource {
  std::string title, author, license, source_url, path, sha256;
  uint64_t bytes = 0, val_tokens = 0;
  FileCheck file = FileCheck::kNotChecked;  // with --source: the file against its pin
};

enum class RebuildResult { kNone, kIdentical, kDifferent };

struct AuditFacts {
  // The licence of the code that built it (modelc's, kModelcCodeLicense).
  std::string code_license = kModelcCodeLicense;
  // From the binary.
  std::string model_path, model_sha256;
  bool gguf_ok = false;      // a valid GGUF file
  bool modelc_build = false; // modelc.source_hash, modelc.recipe and modelc.version present
  bool recipe_hash_ok = false;  // sha256(modelc.recipe) == modelc.source_hash
  bool weights_ok = false;   // the gpt2 architecture and every tensor load
  std::string weights_error, architecture;
  int64_t parameters = 0;
  std::string name, license, description, authors, modelc_version, source_hash, tokenizer;
  bool has_val_loss = false;
  double val_loss = 0, train_loss = 0;
  int val_curve_points = 0;
  int chain_links = 0;
  std::vector<AuditDataSource> data;
  // From the source folder (--source) and the binary's folder.
  bool source_given = false;
  std::string source_dir, source_problem;  // problem: "" when the source hash matches
  bool has_model_card = false, has_data_card = false, has_report = false, has_paper = false;
  std::vector<std::string> documents;  // the document files found
  // --checkpoints DIR: chain links whose checkpoint state hash matched.
  bool checkpoints_given = false;
  int checkpoints_matching = 0;
  // --verified-rebuild FILE or --rebuild.
  RebuildResult rebuild = RebuildResult::kNone;
  std::string rebuild_evidence;
  // The provenance statement / signature beside the binary.
  bool statement_present = false, statement_matches = false, signature_present = false;
  std::string statement_problem;
};

struct AuditComponent {
  std::string framework;  // "OSAID" or "MOF"
  std::string name;       // the framework's own name for it
  int mof_class = 0;      // MOF: 3, 2 or 1; OSAID: 0
  bool optional = false;
  Presence presence = Presence::kAbsent;
  std::string evidence;
};

struct AuditReport {
  std::vector<AuditComponent> components;  // OSAID first, then MOF class III, II, I
  bool osaid = false;                      // all three OSAID components present
  int mof_class = 0;                       // 3, 2, 1; 0: not even class III
  std::vector<std::string> missing_for_next;  // required components missing for the next class
  std::vector<std::pair<std::string, std::string>> other;  // ("reproducible", "..."), ("provenance", "...")
};

struct AuditInputs {
  std::string model;
  std::string source;            // "" : not given
  std::string checkpoints;       // "" : not given
  std::string verified_rebuild;  // `modelc verify --json` output file; "" : not given
};

// Reads the binary and the optional folders. Errors only when the binary
// itself cannot be read; everything else becomes a fact.
Status GatherAuditFacts(const AuditInputs& in, AuditFacts* out);

AuditReport EvaluateAudit(const AuditFacts& f);

nlohmann::ordered_json AuditJson(const AuditFacts& f, const AuditReport& r);
std::string AuditText(const AuditFacts& f, const AuditReport& r);

}  // namespace modelc
