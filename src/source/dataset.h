// The training and validation token streams of a model source.
//
// Tokenizer "byte": token id = byte value (0..255). Each [[data]] source
// contributes its bytes to train, to val, or (split = fraction f) its last
// floor(bytes * f) bytes to val and the rest to train.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "source/recipe.h"
#include "util/status.h"

namespace modelc {

struct SourceStats {
  std::string title, author, license, sha256, path;  // path as written in model.toml
  uint64_t bytes = 0;
  uint64_t train_tokens = 0, val_tokens = 0;
};

struct Dataset {
  // train: concatenation of every source's training part, in model.toml
  // order; val likewise.
  std::vector<uint8_t> train, val;
  std::vector<SourceStats> sources;
  // Start offset of each source's training part within train
  // (size = sources.size()).
  std::vector<uint64_t> train_offsets;
  // Start offset of each source's validation part within val.
  std::vector<uint64_t> val_offsets;
};

// Number of bytes of a `bytes`-long file that go to validation under `d`'s split.
uint64_t ValBytes(const DataSource& d, uint64_t bytes);

// Reads the data files (normally after CheckDataHashes). A pinned sha256 that
// does not match the bytes read is an error. Errors if train or val holds
// fewer than context+1 tokens.
Status LoadDataset(const Recipe& r, Dataset* out);

}  // namespace modelc
