// `modelc build`: model source -> model binary.
//   LoadRecipe -> CheckDataHashes -> LoadDataset -> Train -> WriteModelFile
#pragma once
#include <string>

#include "compile/trainer.h"
#include "util/status.h"

namespace modelc {

struct BuildOptions {
  std::string dir;      // model source folder
  std::string output;   // "" -> "<model.name>.gguf" in the current directory
  int threads = 0;      // 0 -> all cores
};

struct BuildSummary {
  std::string name, output, sha256;
  double train_loss = 0, val_loss = 0;
  double unigram_val_loss = 0;  // baseline: train byte frequencies (add-one) on val
  int64_t steps = 0, tokens_seen = 0;
  int64_t params = 0;
  double wall_s = 0, tokens_per_s = 0;
  double steady_tokens_per_s = 0;  // median step, first two steps left out
  std::string source_hash;
  int threads = 0;
};

// Called once the recipe and data are loaded, before training starts.
using BuildStartFn = std::function<void(const Recipe&, const Dataset&)>;

Status BuildModel(const BuildOptions& o, const BuildStartFn& on_start, const ProgressFn& progress,
                  BuildSummary* out);

// Cross-entropy (nats/token) of a unigram model fit on `train` (add-one
// smoothing over 256 bytes), evaluated on `val`.
double UnigramBaseline(const std::vector<uint8_t>& train, const std::vector<uint8_t>& val);

}  // namespace modelc
