// modelc run MODEL.gguf [--prompt P] [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
#include <omp.h>

#include <chrono>
#include <cstdio>

#include "binary/model_file.h"
#include "cli/commands.h"
#include "kernels/isa.h"
#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"

namespace modelc {

namespace {

struct RunOpts {
  std::string model;
  std::string prompt = "\n";
  int n = 200;
  SamplerOptions sampler;
  int threads = 1;
  bool stats = false;
};

int Run(const RunOpts& o) {
  LoadedModel m;
  Status st = LoadModelFile(o.model, &m);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  Tokenizer tok;
  st = Tokenizer::FromModel(m, &tok);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  SetNumThreads(o.threads);
  std::vector<int> prompt = tok.Encode(o.prompt.empty() ? std::string("\n") : o.prompt);
  if ((int)prompt.size() >= m.config.context) {
    PrintError("the prompt is " + std::to_string(prompt.size()) +
               " tokens; this model's context is " + std::to_string(m.config.context) +
               " tokens, so the prompt must be shorter");
    return 1;
  }
  std::unique_ptr<InferenceEngine> engine_ptr = NewEngine(m);
  InferenceEngine& engine = *engine_ptr;
  const auto t0 = std::chrono::steady_clock::now();
  std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
  std::fflush(stdout);
  const std::vector<float>* logits = &engine.Prefill(prompt);
  // Each iteration emits one token; a new position is fed only if another
  // token is still wanted and the context has room for it.
  int generated = 0;
  while (generated < o.n) {
    const int id = SampleToken(*logits, o.sampler, (uint64_t)generated);
    const std::string& bytes = tok.TokenBytes(id);
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
    ++generated;
    if (generated == o.n) break;
    if (engine.position() >= m.config.context) {
      std::fprintf(stderr, "\nmodelc: reached the model's context length (%d tokens); stopping\n",
                   m.config.context);
      break;
    }
    logits = &engine.Step(id);
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.stats)
    std::fprintf(stderr, "%d tokens in %.3f s (%.0f tokens/s)\n", generated, dt, generated / dt);
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Generate text from a model binary");
  auto o = std::make_shared<RunOpts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Text to continue (default: a newline)");
  cmd->add_option("-n,--tokens", o->n, "Number of tokens to generate")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--temperature", o->sampler.temperature, "Sampling temperature; 0 = greedy")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-k", o->sampler.top_k, "Sample among the K most likely tokens (0 = all)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling mass (1 = off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->sampler.seed, "Sampling seed: same seed, same text");
  cmd->add_option("-t,--threads", o->threads, "Threads")->check(CLI::Range(1, 1024));
  cmd->add_flag("--stats", o->stats, "Print tokens/s to stderr at the end");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace modelc
