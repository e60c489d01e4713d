// The provenance statement of a model binary: an in-toto Statement v1 whose
// predicate is SLSA Provenance v1 (format: docs/openness.md).
//
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": "<file name>", "digest": {"sha256": "<sha256 of the binary>"}}],
//    "predicateType": "https://slsa.dev/provenance/v1",
//    "predicate": {
//      "buildDefinition": {
//        "buildType": kModelcBuildType,
//        "externalParameters": {"recipe": <normalized recipe>, "sourceHash": "<modelc.source_hash>"},
//        "internalParameters": {"modelcVersion": "..."},
//        "resolvedDependencies": [one per data source: {name, uri?, digest {sha256}, annotations},
//                                 then the base model(s), if any]},
//      "runDetails": {"builder": {"id": kModelcBuilderId, "version": {"modelc": "..."}},
//                     "metadata": {"finishedOn": ...}   only when SOURCE_DATE_EPOCH is set}}}
//
// Everything in it is read from the binary itself (its sha256 and its
// modelc.* provenance keys), so the statement is a pure function of the
// binary (and SOURCE_DATE_EPOCH): the same build gives the same bytes, and
// `modelc sign` can regenerate it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace modelc {

inline constexpr char kInTotoStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kSlsaProvenanceType[] = "https://slsa.dev/provenance/v1";
// Ours; documented in docs/openness.md ("The build type").
inline constexpr char kModelcBuildType[] = "https://modelc.dev/provenance/model-build/v1";
inline constexpr char kModelcBuilderId[] = "https://modelc.dev/provenance/builder/modelc-cli/v1";

struct ProvenanceDependency {
  std::string name;    // data: the path as written in model.toml; base model: its name
  std::string uri;     // data: source_url ("" if none); base model: its URL ("" if none)
  std::string sha256;  // lowercase hex
  // Extra facts, written as "annotations" (string values, sorted keys).
  std::vector<std::pair<std::string, std::string>> annotations;
};

// What a statement is made of, all read from the binary.
struct StatementInputs {
  std::string subject_name;    // file name of the binary (no folder)
  std::string subject_sha256;  // sha256 of the whole file
  std::string source_hash;     // modelc.source_hash
  std::string recipe_json;     // modelc.recipe (normalized recipe JSON text)
  std::string modelc_version;  // modelc.version
  std::vector<ProvenanceDependency> dependencies;
  std::optional<int64_t> source_date_epoch;  // seconds since 1970, from SOURCE_DATE_EPOCH
};

// SOURCE_DATE_EPOCH from the environment: unset or empty -> nullopt; not a
// non-negative decimal integer -> error (as reproducible-builds.org says).
Status SourceDateEpochFromEnv(std::optional<int64_t>* out);

// Reads the binary at `model_path`: its sha256 and the modelc.* keys. An
// error if it is not a GGUF file or not a modelc build. Does not read the
// environment (source_date_epoch stays unset).
Status StatementInputsFromModel(const std::string& model_path, StatementInputs* out);

// The statement as JSON text: fixed key order, 2-space indent, final newline.
// REQUIRES: in.recipe_json is valid JSON.
std::string StatementJson(const StatementInputs& in);

// Where `modelc build` puts the statement: "<model path>.intoto.json".
std::string StatementPath(const std::string& model_path);

// What a parsed statement claims.
struct ParsedStatement {
  std::string subject_name, subject_sha256;
  std::string source_hash;
  std::string recipe_json;  // externalParameters.recipe, re-serialized (compact, sorted keys)
  std::string json_without_volatile;  // the statement minus subject names and runDetails.metadata
};

// Checks the statement's structure (in-toto Statement v1 with exactly one
// subject with a sha256 digest, SLSA Provenance v1 predicate of modelc's
// build type) and extracts the claims. `where` names the file in errors.
Status ParseStatement(const std::string& text, const std::string& where, ParsedStatement* out);

// Checks that `st` describes the binary `in` was read from: subject digest,
// source hash, recipe, and everything else but subject names and
// runDetails.metadata (which may legitimately differ). The error says what
// differs, e.g. "the statement's subject sha256 is X, but M has sha256 Y".
Status CheckStatementMatchesModel(const ParsedStatement& st, const StatementInputs& in,
                                  const std::string& statement_name, const std::string& model_name);

// `modelc build`: writes StatementJson of the binary at `model_path` (with
// SOURCE_DATE_EPOCH) to StatementPath(model_path), atomically. `*path` gets
// the path written.
Status WriteStatementForModel(const std::string& model_path, std::string* path);

}  // namespace modelc
