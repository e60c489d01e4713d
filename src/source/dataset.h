// The training and validation token streams of a model source.
//
// Each [[data]] source contributes its bytes to train, to val, or (split =
// fraction f) its last floor(bytes * f) bytes to val and the rest to train.
// Tokenizer "byte": token id = byte value (0..255). Tokenizer "bpe": a BPE
// vocabulary is trained on the training parts of all sources
// (tokenizer/bpe_train.h), then each source's training and validation part is
// encoded on its own (no token spans two sources or the train/val cut) and
// the ids concatenated in model.toml order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "source/recipe.h"
#include "tokenizer/bpe.h"
#include "util/status.h"

namespace modelc {

struct SourceStats {
  std::string title, author, license, sha256, path;  // path as written in model.toml
  uint64_t bytes = 0;
  uint64_t train_tokens = 0, val_tokens = 0;  // tokens of the tokenizer (bytes for "byte")
};

struct Dataset {
  // train: token ids of every source's training part, in model.toml order;
  // val likewise.
  std::vector<uint16_t> train, val;
  uint64_t train_bytes = 0, val_bytes = 0;  // bytes the streams encode
  // The tokenizer the streams are in (the 256 byte tokens for "byte").
  Bpe tokenizer;
  std::vector<SourceStats> sources;
  // Start offset of each source's training part within train
  // (size = sources.size()).
  std::vector<uint64_t> train_offsets;
  // Start offset of each source's validation part within val.
  std::vector<uint64_t> val_offsets;
};

// Number of bytes of a `bytes`-long file that go to validation under `d`'s split.
uint64_t ValBytes(const DataSource& d, uint64_t bytes);

// Reads the data files (normally after CheckDataHashes), trains the BPE
// vocabulary for kind "bpe" and tokenizes. A pinned sha256 that does not
// match the bytes read is an error; so is BPE training that cannot reach
// vocab_size. Errors if train or val holds fewer than context+1 tokens.
// given: encode with this tokenizer instead of training one (a BPE
// fine-tune reuses its base model's vocabulary); its size must be
// [tokenizer] vocab_size.
Status LoadDataset(const Recipe& r, Dataset* out, const Bpe* given = nullptr);

}  // namespace modelc
