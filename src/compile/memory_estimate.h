// Peak memory of a build, estimated from the recipe before anything big is
// allocated, and what the machine has (MemAvailable, cgroup limits), so that
// `modelc build` can refuse up front instead of swapping or being killed.
//
// The estimate follows what the trainer allocates (P parameters, N = micro
// batch x context positions, C = n_embd, V = vocab, L = n_layer, H = n_head):
//   weights 4P, gradients 4P, AdamW moments 8P, the exact gradient sum 16P
//   (only with several micro-batches per step or several processes, see
//   compile/exact_sum.h), activations 4 x (L x (16NC + 4N + H x mb x T^2)
//   + 3NC + 2NV + 3N) forward plus 4 x (16NC + NV) for their gradients,
//   4 bytes per data byte (raw text while loading, 16-bit tokens with growth
//   slack), per-thread scratch (attention T^2, GEMM packing), the base
//   weights when fine-tuning, a checkpoint being read when resuming, MPI
//   buffers, and a fixed runtime overhead (code, libraries, thread stacks).
#pragma once
#include <cstdint>
#include <string>

#include "source/recipe.h"
#include "util/status.h"

namespace modelc {

struct MemoryEstimate {
  uint64_t weights = 0, gradients = 0, optimizer = 0, grad_sum = 0, activations = 0, data = 0,
           scratch = 0, base = 0, checkpoint = 0, mpi = 0, runtime = 0;
  uint64_t total() const;
  // "weights 3.2 GiB, gradients 3.2 GiB, AdamW state 6.4 GiB, ..." (zero parts left out)
  std::string Breakdown() const;
};

struct MemoryShape {
  uint64_t data_bytes = 0;  // total size of the data files
  int threads = 1;          // OpenMP threads per process
  int ranks = 1;            // processes of the build (mpirun -np)
  bool resuming = false;    // a checkpoint will be read (about 24 bytes per parameter at once)
};

MemoryEstimate EstimateBuildMemory(const Recipe& r, const MemoryShape& shape);

// Sum of the sizes of the recipe's data files (a missing file counts 0; the
// data check reports it).
uint64_t RecipeDataBytes(const Recipe& r);

// Memory this process can use: MemAvailable (/proc/meminfo), lowered to the
// room left under the cgroup's memory.max (v2) or memory.limit_in_bytes (v1)
// of this process and its parents. `what` says which limit applied, e.g.
// "MemAvailable" or "cgroup memory.max". False when nothing could be read.
bool AvailableMemory(uint64_t* bytes, std::string* what);

// --max-memory: "8G", "512M", "1.5GiB", "1000000" (bytes), "none".
// *bytes = kNoMemoryCheck for "none".
constexpr uint64_t kNoMemoryCheck = UINT64_MAX;
Status ParseMemorySize(const std::string& text, uint64_t* bytes);

// "51.2 GiB", "512 MiB", "12 KiB"
std::string FormatBytes(uint64_t bytes);

// Refuses when `local_processes` x the estimate exceeds `limit` (0: no
// check), naming the model.toml, the estimate with its parts, the limit
// (from --max-memory, or what the machine has: `what` as from
// AvailableMemory) and what to change.
Status CheckBuildMemory(const Recipe& r, const MemoryEstimate& e, uint64_t limit, bool from_flag,
                        const std::string& what, int local_processes = 1);

}  // namespace modelc
