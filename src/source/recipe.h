// The model source: model.toml parsed, validated and normalized.
//
// A model source is a folder holding model.toml and (optionally) data files.
// Everything the compiler needs to rebuild the model bit for bit is in Recipe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace modelc {

struct ModelInfo {
  std::string name;
  std::string description;
  std::string license;               // SPDX id
  std::vector<std::string> authors;
};

struct Architecture {
  std::string family = "gpt";  // "gpt" or "llama" (model/family.h)
  int n_layer = 0;
  int n_head = 0;
  int n_embd = 0;
  int context = 0;
  // llama only (the defaults below for gpt):
  int n_head_kv = 0;           // default n_head
  int ffn_hidden = 0;          // default DefaultFfnHidden(n_embd)
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  bool tie_embeddings = true;
};

// The llama default SwiGLU width: 8/3 n_embd (the MLP's parameter count of a
// 4 n_embd GELU MLP) rounded up to a multiple of 32 (whole Q8_0 blocks).
inline int DefaultFfnHidden(int n_embd) { return ((8 * n_embd + 95) / 96) * 32; }

struct TokenizerSpec {
  // "byte": token id = byte value (256 tokens).
  // "bpe": byte-level BPE trained on the training split (tokenizer/bpe_train.h)
  // with vocab_size tokens (256 byte tokens + learned ones).
  std::string kind = "byte";
  int vocab_size = 256;  // "bpe": 256..65536 (required); "byte": always 256
};

struct DataSource {
  std::string path;        // as written in model.toml
  std::string resolved;    // absolute path (relative paths resolved against the model folder)
  std::string sha256;      // lowercase hex as written ("" if missing)
  std::string title, author, license, source_url;
  // split: "train", "val", or a fraction: the last `val_fraction` of the file's bytes
  // go to validation, the rest to training.
  // When split is a fraction, `split` holds "fraction" and val_fraction the number.
  std::string split = "train";
  double val_fraction = 0.0;   // meaningful when split is a fraction
  bool split_is_fraction = false;
  int line = 0;            // line of the [[data]] table in model.toml, for messages
  int column = 1;          // column of the [[data]] table
  int sha256_line = 0;     // position of the sha256 value (0 if not written)
  int sha256_column = 0;
  // Explicit, recorded override of a licence conflict (source/licence_check.h):
  // why training on this source is allowed anyway. "" if none.
  std::string license_acknowledgement;
};

// [base]: fine-tune from a model binary instead of a random init. Its sha256
// is pinned like data (and so part of the source hash).
struct BaseSpec {
  std::string path;      // as written in model.toml
  std::string resolved;  // absolute path (relative paths resolved against the model folder)
  std::string sha256;    // lowercase hex as written ("" if missing)
  std::string license_acknowledgement;  // override of a licence conflict with the base ("" if none)
  int line = 0, column = 1;            // the [base] table, for messages
  int sha256_line = 0, sha256_column = 0;
};

struct TrainConfig {
  int64_t steps = 0;
  int batch_size = 0;
  int micro_batch_size = 0;
  double learning_rate = 0;
  int64_t warmup_steps = 0;
  std::string lr_schedule = "cosine";
  double min_lr = 0;
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double grad_clip = 1.0;  // 0 disables
  uint64_t seed = 0;
  int64_t eval_every = 0;  // 0: only at the end
  int eval_batches = 1;
  int64_t chain_every = 1;  // steps between hash-chain links (default: steps / 10, rounded up)
};

struct Recipe {
  std::string dir;          // model folder (absolute)
  std::string toml_path;    // dir/model.toml
  ModelInfo model;
  Architecture arch;
  TokenizerSpec tokenizer;
  std::vector<DataSource> data;
  TrainConfig train;
  std::optional<BaseSpec> base;  // [base], when fine-tuning

  // The normalized recipe as JSON text: every field with its effective value,
  // keys sorted, no paths other than data paths as written. Stable across
  // machines.
  std::string NormalizedJson() const;
  // sha256 over NormalizedJson() (which includes every data sha256).
  std::string SourceHash() const;
};

// Parses and validates dir/model.toml against the schema
// (source/recipe_schema.h; docs/model-toml.md). Errors name
// "file:line:column" and the key, e.g. "/m/model.toml:7:10: [architecture]
// n_head: n_embd (100) is not divisible by n_head (3)"; unknown keys and
// tables suggest the nearest name. Does not read data files (only stat()s
// them).
Status LoadRecipe(const std::string& dir, Recipe* out);

// Checks every data file (and the [base] binary) exists, is a regular file (a
// device, FIFO, socket or directory is refused by name, never opened) and
// matches its sha256. A missing or wrong sha256 is an error that prints the
// actual hash and suggests `--pin`.
Status CheckDataHashes(const Recipe& r);

// `modelc build --pin`: computes the sha256 of every data file and writes it
// into model.toml (atomically), preserving the rest of the file's text.
// `report` receives one line per changed entry.
Status PinDataHashes(const std::string& dir, std::string* report);

}  // namespace modelc
