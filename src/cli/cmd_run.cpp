// modelc run MODEL.gguf [--prompt P] [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

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
  bool json = false;
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
  // --json prints everything at the end; otherwise text streams as it comes.
  const bool stream = !o.json;
  std::string text;
  std::vector<int> generated_ids;
  if (stream) {
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
    std::fflush(stdout);
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::vector<float>* logits = &engine.Prefill(prompt);
  const auto t1 = Clock::now();
  // Each iteration emits one token; a new position is fed only if another
  // token is still wanted and the context has room for it.
  int generated = 0;
  bool context_full = false;
  while (generated < o.n) {
    const int id = SampleToken(*logits, o.sampler, (uint64_t)generated);
    const std::string& bytes = tok.TokenBytes(id);
    generated_ids.push_back(id);
    if (stream) {
      std::fwrite(bytes.data(), 1, bytes.size(), stdout);
      std::fflush(stdout);
    } else {
      text += bytes;
    }
    ++generated;
    if (generated == o.n) break;
    if (engine.position() >= m.config.context) {
      context_full = true;
      if (stream)
        std::fprintf(stderr, "\nmodelc: reached the model's context length (%d tokens); stopping\n",
                     m.config.context);
      break;
    }
    logits = &engine.Step(id);
  }
  const auto t2 = Clock::now();
  const double prompt_s = std::chrono::duration<double>(t1 - t0).count();
  // Generation: the Step calls, one per token after the first.
  const double gen_s = std::chrono::duration<double>(t2 - t1).count();
  const int steps = generated > 0 ? generated - 1 : 0;
  if (o.json) {
    nlohmann::ordered_json j;
    j["prompt_tokens"] = prompt;
    j["tokens"] = generated_ids;
    j["text"] = text;
    j["stopped_at_context"] = context_full;
    j["prompt_s"] = prompt_s;
    j["prompt_tokens_per_s"] = prompt_s > 0 ? prompt.size() / prompt_s : 0.0;
    j["gen_s"] = gen_s;
    j["gen_tokens_per_s"] = gen_s > 0 ? steps / gen_s : 0.0;
    j["threads"] = o.threads;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (o.stats)
    std::fprintf(stderr,
                 "prompt: %zu tokens in %.3f s (%.0f tokens/s); generation: %d tokens in %.3f s "
                 "(%.0f tokens/s)\n",
                 prompt.size(), prompt_s, prompt.size() / std::max(prompt_s, 1e-9), steps, gen_s,
                 steps / std::max(gen_s, 1e-9));
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
  cmd->add_flag("--stats", o->stats, "Print prompt and generation tokens/s to stderr at the end");
  cmd->add_flag("--json", o->json,
                "Print one JSON object at the end (prompt and generated token ids, text, timings) "
                "instead of streaming text");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace modelc
