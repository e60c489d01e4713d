// Training state, its hash chain, and checkpoint files.
//
// The training state at a step boundary is everything the rest of a build
// depends on: weights, Adam moments, the step, and what the model file
// records about the run so far (loss curves, tokens drawn per source, the
// hash chain). Data order and initialization are pure functions of
// (seed, step, index), so no RNG state is needed.
//
// Hash chain. At step 0 and every chain_every steps (and at the last step)
// the build records a link:
//   state_sha256 = sha256("modelc-train-state-v1\n" || u64 step || u64 P ||
//                         f32 params[P] || f32 m[P] || f32 v[P])   (little-endian)
//   chain_sha256 = sha256(prev || ":" || decimal step || ":" || state_sha256)
// where prev is the previous link's chain_sha256 in hex, or the source hash
// for the first link. The chain goes into the model file (modelc.hash_chain),
// so a checkpoint can be checked against a published binary and one segment
// of the run can be re-run and compared (modelc verify --segment).
//
// Checkpoint file (little-endian), written atomically (temp, fsync, rename):
//   magic     8 bytes  "MODELCKP"
//   version   u32      1
//   hdr_len   u32      length of the header
//   header    JSON     {"source_hash", "modelc_version", "step", "params",
//                       "sources", "train_points", "val_points", "links"}
//   params    f32[P]
//   m         f32[P]
//   v         f32[P]
//   tokens    u64[sources]              training tokens drawn per source
//   train     (i64 step, f64 loss)[train_points]
//   val       (i64 step, f64 loss)[val_points]
//   links     (i64 step, 32-byte state sha256, 32-byte chain sha256)[links]
//   checksum  32 bytes: sha256 of everything above
// A file whose checksum, magic, version or sizes do not check out is
// reported as corrupt and never used.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace modelc {

struct LossPoint {
  int64_t step;
  double loss;
};

struct ChainLink {
  int64_t step = 0;
  std::string state_sha256;  // hex
  std::string chain_sha256;  // hex
};

struct TrainState {
  int64_t step = 0;  // completed optimizer steps
  std::vector<float> params, m, v;
  std::vector<uint64_t> tokens_per_source;
  std::vector<LossPoint> train_curve, val_curve;
  std::vector<ChainLink> chain;
};

// sha256 of (step, params, m, v) as described above.
std::string TrainStateHash(const TrainState& s);
// Next chain hash from the previous one (or the source hash for link 0).
std::string NextChainHash(const std::string& prev_hex, int64_t step, const std::string& state_hex);

// The chain as JSON text, [{"step":..,"state":"..","chain":".."}, ...], and back.
std::string ChainToJson(const std::vector<ChainLink>& chain);
Status ChainFromJson(const std::string& text, std::vector<ChainLink>* chain);

// "<dir>/step-000000123.ckpt"
std::string CheckpointPath(const std::string& dir, int64_t step);

Status WriteCheckpoint(const std::string& path, const std::string& source_hash,
                       const TrainState& s);
// Reads and validates a checkpoint. *source_hash (and *version, if given)
// receive the source hash and modelc version it was made with; the caller
// decides whether they match.
Status ReadCheckpoint(const std::string& path, TrainState* s, std::string* source_hash,
                      std::string* version = nullptr);

// The same, from the file's bytes (`path` only names it in errors).
Status ParseCheckpoint(const std::string& bytes, const std::string& path, TrainState* s,
                       std::string* source_hash, std::string* version = nullptr);

// Checkpoint files in `dir` (step order, oldest first); empty if none or no dir.
std::vector<std::string> ListCheckpoints(const std::string& dir);

// The newest valid checkpoint in `dir` for `source_hash` with `n_params`
// parameters, made by this modelc version. Corrupt files and files of another
// source or version are skipped, each
// with a line in *notes. Returns false when none is usable.
bool FindResumePoint(const std::string& dir, const std::string& source_hash, size_t n_params,
                     TrainState* s, std::string* path, std::vector<std::string>* notes);

}  // namespace modelc
