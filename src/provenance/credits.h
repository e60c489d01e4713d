// Credits of a model binary: every data source it was trained on (and, for a
// fine-tuned binary, every source its base models were trained on), with
// the exact number of training tokens drawn from it and its share of all
// training tokens. Read from the binary alone:
//   modelc.data_manifest            this build's sources (tokens_used per source)
//   modelc.base_model.0.credits     the base's credit rows (CreditsJson(...)["sources"]),
//                                   written by a fine-tuning build ([base] in model.toml)
// Rows are sorted by share (largest first), ties by title, then sha256.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "util/status.h"

namespace modelc {

struct CreditRow {
  std::string title, author, licence, source_url, sha256;
  uint64_t tokens_used = 0;  // training input tokens drawn from this source
  double share = 0;          // tokens_used / all training tokens credited (0..1)
  bool attribution_required = false;  // its licence requires crediting the authors
  std::string licence_acknowledgement;  // recorded override of a licence conflict ("" if none)
  // "" for this binary's own data; else the base models the tokens were
  // trained into, nearest first (e.g. {"fortunes-gpt"}).
  std::vector<std::string> via_base;
};

struct BaseCredit {  // one base model in the chain (nearest first)
  std::string name, licence, sha256, source_hash;
  std::string licence_acknowledgement;  // [base] license_acknowledgement of the fine-tune
};

struct Credits {
  std::string model_name, model_licence;
  std::string model_author, model_source_hash;  // general.author, modelc.source_hash
  uint64_t total_tokens = 0;  // sum of tokens_used over the rows
  std::vector<CreditRow> rows;
  std::vector<BaseCredit> bases;  // the licence chain: base, its base, ...
};

// Reads the credits of an opened binary. Errors name `where` (the file) when
// the manifest or the base credits are missing or malformed.
Status CreditsFromGguf(const GgufFile& f, const std::string& where, Credits* out);
Status CreditsFromFile(const std::string& path, Credits* out);

// Sorts rows (share desc, title, sha256) and recomputes total and shares.
void FinishCredits(Credits* c);

// Renderings. Json: {"model", "license", "total_tokens", "sources": [...],
// "base_models": [...]} (rows as stored in modelc.base_model.0.credits).
nlohmann::ordered_json CreditsJson(const Credits& c);
std::string CreditsText(const Credits& c);
std::string CreditsMarkdown(const Credits& c);

// The rows of CreditsJson(c)["sources"] back (for a fine-tune's base credits).
Status CreditRowsFromJson(const nlohmann::json& j, const std::string& where, std::vector<CreditRow>* rows);

}  // namespace modelc
