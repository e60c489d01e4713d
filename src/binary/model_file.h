// A modelc binary: the GGUF file a build produces, and reading it back.
//
// Layout follows llama.cpp's architecture of the model's family (see
// docs/gguf.md; the family table is model/family.h):
//   general.*            architecture ("gpt2" or "llama"), name, license,
//                        author, description, file_type
//   gpt2.*               context_length, embedding_length, block_count,
//                        feed_forward_length, attention.head_count,
//                        attention.layer_norm_epsilon
//   llama.*              context_length, embedding_length, block_count,
//                        feed_forward_length, attention.head_count,
//                        attention.head_count_kv, rope.freq_base,
//                        rope.dimension_count, attention.layer_norm_rms_epsilon,
//                        vocab_size
//   tokenizer.ggml.*     model "gpt2", pre "gpt-2", 256 byte tokens (GPT-2
//                        byte-to-unicode spelling), token_type (all 1 = normal),
//                        merges (empty), bos/eos id 0 (NUL; no special tokens)
//   modelc.*             provenance: version, source_hash, recipe (normalized
//                        JSON), data_manifest (JSON), train_loss, val_loss,
//                        steps, tokens_seen, loss curves (JSON), chain_every,
//                        hash_chain (JSON; see compile/checkpoint.h)
// Tensors: the family's ParamSpecs order and names, F32, ggml ne = reversed shape.
// Nothing machine-specific (time, host, path, thread count) is written.
//
// The format does not depend on the trainer: what it records about the
// training run is a TrainingRecord, which the compiler fills from its
// TrainResult (compile/trainer.h, TrainingRecordOf).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "binary/gguf.h"
#include "model/family.h"
#include "source/dataset.h"
#include "source/recipe.h"
#include "util/status.h"

namespace modelc {

// A fine-tune's base model ([base]), as the output records it:
//   general.base_model.count = 1, general.base_model.0.name, .0.author (llama.cpp's keys)
//   modelc.base_model.0.sha256, .source_hash, .license, .license_acknowledgement,
//   .license_chain (JSON: the base's own bases), .credits (JSON: provenance/credits.h rows)
struct BaseModelRecord {
  std::string name, author, sha256, source_hash, license, license_acknowledgement;
  std::string license_chain_json, credits_json;
};

// One point of a loss curve (modelc.train_curve / modelc.val_curve: JSON [[step, loss], ...]).
struct CurvePoint {
  int64_t step = 0;
  double loss = 0;
};

// What the binary records about the training run that made it.
struct TrainingRecord {
  ModelConfig config;
  // The weights, ModelParamCount(config) floats in ModelParamSpecs layout
  // (not owned: they must outlive the WriteModelFile call).
  const float* params = nullptr;
  double train_loss = 0;  // modelc.train_loss
  double val_loss = 0;    // modelc.val_loss
  int64_t steps = 0;      // modelc.steps
  int64_t tokens_seen = 0;  // modelc.tokens_seen
  std::vector<CurvePoint> train_curve, val_curve;
  // Training tokens drawn from each data source, model.toml order
  // (tokens_used in modelc.data_manifest; 0 for a source not listed).
  std::vector<uint64_t> tokens_per_source;
  // modelc.hash_chain, as JSON text (compile/checkpoint.h, ChainToJson).
  std::string hash_chain_json;
};

// Writes the model binary atomically (temp file, fsync, rename).
Status WriteModelFile(const std::string& path, const Recipe& r, const Dataset& d,
                      const TrainingRecord& t, const BaseModelRecord* base = nullptr);

struct LoadedModel {
  ModelConfig config;
  std::vector<float> params;          // ModelParamSpecs layout
  std::vector<std::string> tokens;    // tokenizer.ggml.tokens
  std::unique_ptr<GgufFile> file;     // metadata, tensors (mapped)
  // ggml type of each ModelParamSpecs tensor (F32, F16 or Q8_0). `params` holds
  // every tensor as floats (F16/Q8_0 decoded); the raw Q8_0 blocks stay in
  // `file` (RawTensor) for the int8 engine.
  std::vector<uint32_t> tensor_types;
  bool quantized() const;
  // The mapped bytes of tensor `name` (nullptr if absent).
  const uint8_t* RawTensor(const std::string& name) const;
};

// Opens and validates a model binary: GGUF structure, an architecture of the
// family table ("gpt2", "llama"), hyperparameters, every expected tensor with
// the right shape and type.
Status LoadModelFile(const std::string& path, LoadedModel* out);

// The model's tokenizer from tokenizer.ggml.model / pre / tokens / merges
// (token text spelled in GPT-2's byte alphabet): the 256 byte tokens for a
// byte model, else the BPE vocabulary and merges. Errors name the file and key.
Status ReadModelTokenizer(const LoadedModel& m, Bpe* out);

// ggml ne[] for a row-major shape (outermost first): the reverse.
std::vector<uint64_t> GgmlNe(const std::vector<int64_t>& shape);

}  // namespace modelc
