// The build report: one self-contained HTML page per model binary
// (<output stem>.report.html beside it), for people to read.
//
//   RenderReportHtml(ReportInputs) -> HTML      pure: same inputs, same bytes
//
// Sections: summary (name, licence, losses), loss curves (inline SVG drawn
// by report/svg.h, train and val), hyperparameters (the recipe), credits
// (every data source with its share of the training tokens), licence check,
// audit summary (OSAID verdict, MOF class, every component), hashes (file,
// source, data, hash chain). No JavaScript, no external resources (a
// Content-Security-Policy says so to the browser), no timestamps. Every
// string that comes from the model source is HTML-escaped.
// Where the inputs come from: report/report_inputs.h.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "provenance/audit.h"

namespace modelc {

struct ReportCredit {  // one row of provenance/credits.h's Credits
  std::string title, author, license, source_url, sha256;
  uint64_t tokens = 0;             // training tokens taken from it
  double share = 0;                // tokens / all training tokens credited, 0..1
  bool attribution = false;        // its licence requires crediting the authors
  std::string acknowledgement;     // recorded override of a licence conflict ("" if none)
  std::string via;                 // "" for this build's data, else the base model(s) it came through
};

struct ReportLicenceRow {
  std::string source, license;
  std::string status;  // "ok", "acknowledged" or "conflict" (source/licence_check.h)
  std::string note;    // the conflicts and the acknowledgement, "" when ok
};

struct ReportLicenceCheck {
  bool checked = false;  // false: not computed (summary says why)
  bool ok = true;        // no unacknowledged conflict
  std::string summary;   // one line
  std::vector<ReportLicenceRow> rows;
};

struct ReportAudit {
  bool available = false;
  std::string problem;  // why not available
  AuditReport report;
};

struct ReportChainLink {
  int64_t step = 0;
  std::string state_sha256, chain_sha256;
};

struct ReportInputs {
  // The binary.
  std::string file_name;  // no folder
  std::string sha256;
  uint64_t file_bytes = 0;
  // general.* / modelc.* keys.
  std::string name, description, license, authors, modelc_version, source_hash, tokenizer;
  std::string architecture;  // "gpt2: 4 layers, 4 heads, 128 embd, context 256, vocab 256" (ModelConfig::Describe)
  int64_t parameters = 0;
  nlohmann::ordered_json recipe = nlohmann::ordered_json::object();  // modelc.recipe, parsed
  bool has_losses = false;
  double train_loss = 0, val_loss = 0;
  int64_t steps = 0, tokens_seen = 0;
  std::vector<std::pair<double, double>> train_curve, val_curve;  // (step, loss)
  int64_t chain_every = 0;
  std::vector<ReportChainLink> chain;
  std::vector<std::pair<std::string, std::string>> lineage;  // general.base_model.* keys, as text
  std::string quantization;                                  // modelc.quantization ("" for F32)
  // Derived.
  std::vector<ReportCredit> credits;  // sorted by share, largest first
  ReportLicenceCheck licence;
  ReportAudit audit;
};

std::string RenderReportHtml(const ReportInputs& in);

}  // namespace modelc
