// `modelc build`: model source -> model binary.
//   LoadRecipe -> CheckDataHashes -> LoadDataset -> Train -> WriteModelFile
#pragma once
#include <string>

#include "compile/memory_estimate.h"
#include "compile/trainer.h"
#include "util/status.h"

namespace modelc {

struct BuildOptions {
  std::string dir;      // model source folder
  std::string output;   // "" -> "<model.name>.gguf" in the current directory
  int threads = 0;      // 0 -> all cores
  bool force = false;   // rebuild even if the output is up to date
  // Work folder for checkpoints; "" -> "<output without .gguf>.build" next to the output.
  std::string build_dir;
  int64_t checkpoint_every = 0;   // extra checkpoints every N steps (0: hash-chain links only)
  bool keep_checkpoints = false;  // keep the build folder (all link checkpoints) after success
  // Another build holds the build folder's lock (compile/build_lock.h):
  // wait for it (true) or fail at once naming its pid (--no-wait).
  bool wait_for_lock = true;
  // Memory limit for the estimate check (compile/memory_estimate.h):
  // 0 = what the machine has; kNoMemoryCheck = no check (--max-memory none).
  uint64_t max_memory = 0;
};

struct BuildSummary {
  std::string name, output, sha256;
  double train_loss = 0, val_loss = 0;
  double unigram_val_loss = 0;  // baseline: train byte frequencies (add-one) on val
  // The same losses in nats per byte of text (loss x tokens per byte of the
  // split): comparable between byte and BPE models.
  double train_nats_per_byte = 0, val_nats_per_byte = 0, unigram_val_nats_per_byte = 0;
  double val_bytes_per_token = 1;
  int64_t steps = 0, tokens_seen = 0;
  int64_t params = 0;
  double wall_s = 0, tokens_per_s = 0;
  double steady_tokens_per_s = 0;  // median step, first two steps left out
  std::string source_hash;
  std::string statement;      // provenance statement written beside the output (rank 0)
  std::string report;         // build report written beside the output (rank 0; report/report_inputs.h)
  int threads = 0;
  bool up_to_date = false;    // nothing built: the output already matched the source
  int64_t resumed_from = 0;   // step the build resumed from (0: from the start)
  std::string build_dir;
  int ranks = 1;              // MPI processes (1 without mpirun)
  uint64_t memory_estimate = 0;  // estimated peak bytes per process (compile/memory_estimate.h)
  // Stopped by callbacks.stop_requested (Ctrl-C): no output was written.
  bool interrupted = false;
  bool interrupted_waiting = false;  // while waiting for the build folder's lock
  int64_t interrupted_step = 0;      // completed steps when it stopped
  int64_t checkpoint_step = -1;      // step of the newest checkpoint in the build folder (-1: none)
  std::string checkpoint_error;      // saving the checkpoint at the stop failed: why
};

// Build events for the user interface.
struct BuildCallbacks {
  // Once the recipe and data are loaded, before training starts.
  std::function<void(const Recipe&, const Dataset&)> on_start;
  ProgressFn progress;
  // Notes such as "resuming from step 400" or "skipping a corrupt checkpoint".
  std::function<void(const std::string&)> note;
  // Polled between training steps (and while waiting for the lock): true
  // stops the build after saving a checkpoint; BuildModel then returns OK
  // with summary.interrupted (compile/interrupt.h wires this to Ctrl-C).
  std::function<bool()> stop_requested;
};

// "<output without .gguf>.build"
std::string DefaultBuildDir(const std::string& output);

// Like make: when the output exists and records this source hash and modelc
// version, nothing is done (summary.up_to_date) unless o.force. Otherwise
// trains, resuming from the newest good checkpoint in the build folder, and
// writes the output atomically.
Status BuildModel(const BuildOptions& o, const BuildCallbacks& cb, BuildSummary* out);

// Cross-entropy (nats/token) of a unigram model fit on `train` (add-one
// smoothing over `vocab` tokens), evaluated on `val`.
double UnigramBaseline(const std::vector<uint16_t>& train, const std::vector<uint16_t>& val,
                       int vocab = 256);

}  // namespace modelc
