// Checking a published model binary against its source (what `modelc
// verify --source` does).
//
// Full check: rebuild the model from its source in a temporary folder and
// compare the bytes; when they differ, the hash chains say at which step the
// two runs parted. Spot-check (segment I): start from the publisher's
// checkpoint of hash-chain link I (checked against the chain first), re-run
// only the steps to link I+1 and compare the state hash with the chain (and,
// for the last link, the weights in the file).
//
// The outcome is data (code, one-line verdict, JSON fields); the CLI
// (src/cli/cmd_verify.cpp) prints it. Exit codes as diffoscope's: 0
// identical, 1 different, 2 trouble.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compile/checkpoint.h"
#include "compile/trainer.h"
#include "source/recipe.h"
#include "util/status.h"

namespace modelc {

enum VerifyCode : int { kVerifyIdentical = 0, kVerifyDifferent = 1, kVerifyTrouble = 2 };

// What a published model says about itself.
struct PublishedModel {
  std::string source_hash, version, sha256;
  std::vector<ChainLink> chain;  // modelc.hash_chain (empty if none)
};

// Reads modelc.source_hash (required: a binary without it is not a modelc
// build), modelc.version, modelc.hash_chain and the file's sha256.
Status ReadPublishedModel(const std::string& path, PublishedModel* p);

struct VerifyOptions {
  std::string model;       // the published binary
  std::string source;      // model source folder
  int64_t segment = -1;    // >= 0: spot-check chain link segment -> segment+1
  std::string checkpoint;  // the state of link `segment`: a file, or a folder (checkpoint export)
  int threads = 0;         // 0: all cores (never changes the result)
};

// The published model and the recipe, loaded before any check (errors here
// are trouble with no outcome: the CLI prints them as errors).
struct VerifyInputs {
  PublishedModel published;
  Recipe recipe;
};

// ReadPublishedModel(o.model), LoadRecipe(o.source), CheckDataHashes.
Status LoadVerifyInputs(const VerifyOptions& o, VerifyInputs* in);

struct VerifyCallbacks {
  // Progress notes: "rebuilding NAME from DIR (N steps)",
  // "re-running steps A..B of NAME (chain link I -> I+1)".
  std::function<void(const std::string&)> note;
  // Training progress of the rebuild or re-run.
  ProgressFn progress;
  // Called once the rebuild or re-run has ended (successfully or not), before
  // the outcome is computed from it.
  std::function<void()> progress_done;
};

struct VerifyOutcome {
  int code = kVerifyTrouble;
  // One line: "identical: ...", "different: ..." or "trouble: ...".
  std::string verdict;
  // The `--json` fields besides result and message (model, model_sha256,
  // rebuilt_sha256, first_differing_link; segment, from_step, to_step,
  // expected_state_sha256, rebuilt_state_sha256, file_weights_match;
  // source_hash, model_source_hash).
  nlohmann::ordered_json json;
};

// Compares the source hash with the published one, then rebuilds
// (o.segment < 0) or re-runs one segment.
VerifyOutcome VerifyAgainstSource(const VerifyOptions& o, const VerifyInputs& in, const VerifyCallbacks& cb);

}  // namespace modelc
