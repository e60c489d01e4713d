// The compiler proper: trains the model described by a Recipe (any family of
// model/family.h) on a Dataset.
//
// Determinism contract: the final parameters are a pure function of
// (recipe, dataset bytes, modelc version). Initialization and data order come
// from a counter-based RNG keyed by (seed, stream, index); every reduction
// has one fixed order; micro-batch gradients are accumulated in micro-batch
// order. Thread count only changes speed.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "binary/model_file.h"
#include "compile/checkpoint.h"
#include "dist/comm.h"
#include "model/family.h"
#include "util/status.h"
#include "source/dataset.h"
#include "source/recipe.h"

namespace modelc {

// RNG streams (see kernels/rng.h): separate uses never share counters.
enum RngStream : uint64_t {
  kStreamInit = 1000,      // + tensor index
  kStreamTrainWindows = 1,
  kStreamValWindows = 2,
};

struct StepInfo {
  int64_t step = 0;        // 1-based, completed steps
  int64_t steps = 0;
  int64_t first_step = 0;  // steps already done when this run started (resume)
  double loss = 0;         // mean train loss of this step's batch
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0; // since the start of training
  double elapsed_s = 0;
  bool has_val = false;
  double val_loss = 0;
  // Tokens per byte of text in the train and val streams (1 for bytes):
  // loss * tokens_per_byte is nats per byte, comparable across tokenizers.
  double train_tokens_per_byte = 1, val_tokens_per_byte = 1;
};

struct TrainResult {
  ModelConfig config;
  std::vector<float> params;
  double train_loss = 0;  // mean over the last step's batch
  double val_loss = 0;    // final evaluation
  int64_t steps = 0;
  int64_t tokens_seen = 0;
  std::vector<LossPoint> train_curve, val_curve;
  // Training input tokens drawn from each data source (exact: the data
  // order is deterministic), in model.toml order.
  std::vector<uint64_t> tokens_per_source;
  double wall_s = 0;
  // Wall time of each optimizer step (forward, backward and update; not the
  // evaluations), for steady-state throughput.
  std::vector<double> step_s;
  // Hash-chain links recorded over the whole run (including resumed parts).
  std::vector<ChainLink> chain;
  int64_t resumed_from = 0;  // step the run resumed from (0: from the start)
  // control.stop_requested ended the run after `steps` completed steps.
  bool stopped = false;
  // Step of the newest state handed to on_checkpoint in this run, or the
  // step resumed from (-1: none).
  int64_t saved_step = -1;
  // When stopped: why saving the state at the stop failed ("" if it did not).
  std::string save_error;
};

// What the model binary records of this run (binary/model_file.h,
// WriteModelFile). The record points at t.params, which must outlive it.
inline TrainingRecord TrainingRecordOf(const TrainResult& t) {
  TrainingRecord rec;
  rec.config = t.config;
  rec.params = t.params.data();
  rec.train_loss = t.train_loss;
  rec.val_loss = t.val_loss;
  rec.steps = t.steps;
  rec.tokens_seen = t.tokens_seen;
  for (const LossPoint& p : t.train_curve) rec.train_curve.push_back({p.step, p.loss});
  for (const LossPoint& p : t.val_curve) rec.val_curve.push_back({p.step, p.loss});
  rec.tokens_per_source = t.tokens_per_source;
  rec.hash_chain_json = ChainToJson(t.chain);
  return rec;
}

// tokens / bytes (1 when either is 0).
double TokensPerByte(uint64_t tokens, uint64_t bytes);

// Tokens per second over the steady-state steps: the median step time of
// steps after the first two (all steps when there are fewer than four).
double SteadyTokensPerSecond(const std::vector<double>& step_s, int64_t tokens_per_step);

ModelConfig ConfigFromRecipe(const Recipe& r);

// Initial parameters: normal(0, std) per ParamSpec from (seed, kStreamInit + tensor index, element).
std::vector<float> InitParams(const ModelConfig& c, uint64_t seed);

// Start offset of window `index` (context+1 tokens) in a token stream of length n.
uint64_t WindowStart(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n, int context);

// One optimizer update from accumulated gradients (0-based `step`):
// global-norm clipping, then AdamW at LearningRate(tc, step). Modifies grads
// (clipped), params, m and v.
struct UpdateInfo {
  double lr = 0, grad_norm = 0;
};
UpdateInfo ApplyUpdate(const std::vector<ParamSpec>& specs, const TrainConfig& tc, int64_t step,
                       float* params, float* grads, float* m, float* v);

// Mean validation loss over eval_batches fixed windows.
// With `comm`, the eval batches are split over its ranks (exact: see dist/comm.h).
double EvaluateValLoss(LanguageModel& model, const float* params, const Recipe& r, const Dataset& d,
                       Comm* comm = nullptr);

using ProgressFn = std::function<void(const StepInfo&)>;

// How a training run starts, stops and saves its state.
struct TrainControl {
  // Start from this state instead of step 0 (a checkpoint of the same
  // source). The run continues exactly as if it had never stopped.
  const TrainState* resume = nullptr;
  // Like resume, but Train moves the state out of *resume_take (no second
  // copy of the weights and moments in memory). Takes precedence over resume.
  TrainState* resume_take = nullptr;
  // Fine-tuning ([base]): a fresh run (no resume) starts from these weights
  // (the base model's, in its family's ParamSpecs layout) instead of InitParams; the
  // optimizer state starts at zero either way.
  const std::vector<float>* initial_params = nullptr;
  // Stop once this many steps are complete (-1: run all steps). Used by
  // verify --segment to re-run one link of the hash chain.
  int64_t stop_after = -1;
  // Besides the hash-chain links, also call on_checkpoint every N steps (0: links only).
  int64_t checkpoint_every = 0;
  // Called with the state at every hash-chain link and checkpoint step; an
  // error stops training and is returned by Train.
  std::function<Status(const TrainState&)> on_checkpoint;
  // Data-parallel group (nullptr: this process alone). Every rank runs Train
  // with the same arguments; micro-batches are split over the ranks and the
  // result is the same bits for any group size.
  Comm* comm = nullptr;
  // Asked before every step and once after the last: true stops the run
  // after the steps completed so far. The state at the stop is handed to
  // on_checkpoint (unless it was just saved) and Train returns OK with
  // out->stopped. With a comm group the ranks agree by one 8-byte allreduce
  // per step (stop if any rank asks), so they all stop after the same step
  // and none waits in a collective the others have left.
  std::function<bool()> stop_requested;
};

// Trains per the recipe. On success *out holds the final state (or the state
// at control.stop_after) and the summary.
Status Train(const Recipe& r, const Dataset& d, const ProgressFn& progress,
             const TrainControl& control, TrainResult* out);

}  // namespace modelc
