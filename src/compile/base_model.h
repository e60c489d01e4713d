// Fine-tuning: the base model a build starts from ([base] in model.toml).
//
// The base binary must have the architecture the recipe declares (layers,
// heads, embedding width, context) and the same tokenizer (vocabulary,
// token by token), and hold F32 weights. Training then starts from its
// weights instead of the random init; the optimizer state starts fresh.
// The output records the base (binary/model_file.h, BaseModelRecord):
// llama.cpp's general.base_model.* keys and modelc.base_model.0.* (sha256,
// source hash, licence, licence chain and credits).
#pragma once
#include <string>
#include <vector>

#include "binary/model_file.h"
#include "provenance/credits.h"
#include "source/dataset.h"
#include "source/licence_check.h"
#include "source/recipe.h"
#include "util/status.h"

namespace modelc {

// The dataset of a model source: LoadDataset, except that a BPE fine-tune
// ([base] and kind = "bpe") encodes with its base model's vocabulary
// instead of training one. Every command that reads a source's data
// (build, verify, eval) loads it here.
Status LoadSourceDataset(const Recipe& r, Dataset* out);

// Reads the base's credits and licence (no weights). REQUIRES: r.base, hash checked.
Status ReadBaseCredits(const Recipe& r, Credits* out);

// Loads the base's weights and checks that they fit the recipe and the
// dataset's tokenizer; errors name the [base] entry and every difference.
// REQUIRES: r.base, hash checked.
Status LoadBaseWeights(const Recipe& r, const Dataset& d, std::vector<float>* params);

// What the output records about the base.
BaseModelRecord MakeBaseRecord(const Recipe& r, const Credits& base_credits);

// Licence-check inputs of a recipe: every [[data]] source, then (with
// base_credits) the base model itself and every source it was trained on,
// which the [base] acknowledgement covers.
std::vector<LicenceInput> RecipeLicenceInputs(const Recipe& r, const Credits* base_credits);

// The check `modelc build` runs before training: OK, or the error of
// LicenceCheckStatus. *verdicts (if given) receives every verdict.
Status CheckRecipeLicences(const Recipe& r, const Credits* base_credits,
                           std::vector<LicenceVerdict>* verdicts = nullptr);

}  // namespace modelc
