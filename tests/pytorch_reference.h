// Running a PyTorch reference (tests/reference/*.py) from a parity test: raw
// little-endian arrays in and out of a scratch folder, and the script's run.
#pragma once
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compile/schedule.h"
#include "model/gpt.h"
#include "source/recipe.h"

namespace modelc {
namespace pytorch_ref {

template <class T>
void WriteRaw(const std::filesystem::path& p, const std::vector<T>& v) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), (std::streamsize)(v.size() * sizeof(T)));
}

inline std::vector<float> ReadF32(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), {});
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// The AdamW settings of every step-parity test (10 steps of a warm-up and
// cosine schedule, weight decay, clipping).
inline TrainConfig ParityTrainConfig(int steps, int B) {
  TrainConfig tc;
  tc.steps = steps;
  tc.batch_size = tc.micro_batch_size = B;
  tc.learning_rate = 1e-3;
  tc.warmup_steps = 3;
  tc.min_lr = 1e-4;
  tc.weight_decay = 0.1;
  tc.beta1 = 0.9;
  tc.beta2 = 0.95;
  tc.eps = 1e-8;
  tc.grad_clip = 1.0;
  return tc;
}

// steps x 2 x B x Tn int32: each step's tokens, then its targets (the next
// tokens of a random stream, as text gives them).
inline std::vector<int32_t> ParityBatches(int steps, int B, int Tn, int vocab, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int32_t> batches((size_t)steps * 2 * B * Tn);
  for (int s = 0; s < steps; ++s) {
    std::vector<int32_t> stream(B * (Tn + 1));
    for (auto& t : stream) t = (int32_t)(g() % (unsigned)vocab);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < Tn; ++t) {
        batches[((size_t)s * 2 + 0) * B * Tn + b * Tn + t] = stream[b * (Tn + 1) + t];
        batches[((size_t)s * 2 + 1) * B * Tn + b * Tn + t] = stream[b * (Tn + 1) + t + 1];
      }
  }
  return batches;
}

// What the reference scripts read (tests/reference/parity_harness.py):
// spec.json (config, B, T, tensor table, optimizer, each step's lr),
// params.f32 and batches.i32.
inline void WriteParityInputs(const std::filesystem::path& dir, const nlohmann::json& config, int B, int Tn,
                              const std::vector<ParamSpec>& specs, const TrainConfig& tc,
                              const std::vector<float>& params, const std::vector<int32_t>& batches) {
  nlohmann::json spec;
  spec["config"] = config;
  spec["B"] = B;
  spec["T"] = Tn;
  for (const auto& s : specs)
    spec["tensors"].push_back({{"name", s.name}, {"shape", s.shape}, {"offset", s.offset},
                               {"size", s.size}, {"decay", s.decay}});
  spec["optim"] = {{"beta1", tc.beta1}, {"beta2", tc.beta2}, {"eps", tc.eps},
                   {"weight_decay", tc.weight_decay}, {"grad_clip", tc.grad_clip}};
  for (int64_t s = 0; s < tc.steps; ++s) spec["lrs"].push_back(LearningRate(tc, s));
  std::ofstream(dir / "spec.json") << spec.dump();
  WriteRaw(dir / "params.f32", params);
  WriteRaw(dir / "batches.i32", batches);
}

// Runs `python3 tests/reference/<script> <dir>`; returns pclose()'s status
// (0: success; -1: could not start) and the combined output in *out.
inline int Run(const std::string& script, const std::filesystem::path& dir, std::string* out) {
  const std::string cmd = std::string("/usr/bin/python3 ") + MODELC_SOURCE_DIR + "/tests/reference/" + script +
                          " " + dir.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out->append(buf, n);
  return pclose(pipe);
}

}  // namespace pytorch_ref
}  // namespace modelc
