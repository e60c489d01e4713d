// modelc eval MODEL.gguf --source DIR [--threads N] [--json]
//
// Mean cross-entropy of a model binary on its source's validation split,
// computed through the inference engine (so a Q8_0 model is measured as it
// is executed). The windows are the trainer's evaluation windows
// (compile/trainer.cpp EvaluateValLoss: eval_batches x micro_batch_size
// windows of `context` tokens from the RNG stream kStreamValWindows), and
// the mean is taken the same way, so for an F32 binary the result equals
// the recorded modelc.val_loss.
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "binary/model_file.h"
#include "cli/commands.h"
#include "compile/base_model.h"
#include "compile/trainer.h"
#include "kernels/isa.h"
#include "layers/layers.h"
#include "runtime/engine.h"
#include "source/dataset.h"
#include "source/recipe.h"

namespace modelc {

namespace {

struct EvalOpts {
  std::string model, source;
  int threads = 1;
  bool json = false;
};

int Eval(const EvalOpts& o) {
  auto fail = [](const std::string& msg) {
    PrintError(msg);
    return 1;
  };
  LoadedModel m;
  Status st = LoadModelFile(o.model, &m);
  if (!st.ok()) return fail(st.message());
  Recipe r;
  st = LoadRecipe(o.source, &r);
  if (!st.ok()) return fail(st.message());
  st = CheckDataHashes(r);
  if (!st.ok()) return fail(st.message());
  Dataset d;
  st = LoadSourceDataset(r, &d);
  if (!st.ok()) return fail(st.message());
  const ModelConfig& c = m.config;
  if (c.vocab != 256)
    return fail(o.model + ": vocabulary of " + std::to_string(c.vocab) +
                " tokens; modelc eval reads byte-tokenizer models (256 tokens)");
  ModelConfig want = ConfigFromRecipe(r);
  want.vocab = c.vocab;
  want.rope_theta = (float)want.rope_theta;  // stored as f32 in the binary
  want.rms_eps = (float)want.rms_eps;
  ModelConfig have = c;
  have.rope_theta = (float)have.rope_theta;
  have.rms_eps = (float)have.rms_eps;
  if (!(want == have))
    return fail(o.source + ": architecture (" + want.family + ": " + want.Describe() + ") differs from " +
                o.model + " (" + have.family + ": " + have.Describe() + ")");
  std::string recorded_hash;
  m.file->GetString("modelc.source_hash", &recorded_hash);
  const bool same_source = recorded_hash == r.SourceHash();
  double recorded = std::nan("");
  if (const GgufValue* v = m.file->Find("modelc.val_loss"); v && v->type() == gguf_type::kF64)
    recorded = v->AsF64();

  SetNumThreads(o.threads);
  std::unique_ptr<InferenceEngine> engine = NewEngine(m);
  const int mb = r.train.micro_batch_size, Tn = c.context, V = c.vocab;
  const int batches = r.train.eval_batches;
  std::vector<int> tok(Tn), tgt(Tn);
  std::vector<float> logits, probs((size_t)Tn * V), losses(Tn);
  const auto t0 = std::chrono::steady_clock::now();
  double sum = 0;
  for (int e = 0; e < batches; ++e) {
    double s = 0;  // as Gpt::Forward: the batch's losses summed in order, in double
    for (int b = 0; b < mb; ++b) {
      const uint64_t start = WindowStart(r.train.seed, kStreamValWindows, (uint64_t)e * mb + b,
                                         d.val.size(), Tn);
      for (int t = 0; t < Tn; ++t) {
        tok[t] = d.val[start + t];
        tgt[t] = d.val[start + t + 1];
      }
      engine->Reset();
      if (!engine->PrefillAll(tok, &logits)) return fail("internal error: the engine refused a window");
      crossentropy_forward(probs.data(), losses.data(), logits.data(), tgt.data(), (int64_t)Tn, V);
      for (int t = 0; t < Tn; ++t) s += (double)losses[t];
    }
    sum += s / ((double)mb * Tn);
  }
  const double loss = sum / batches;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t tokens = (int64_t)batches * mb * Tn;
  const double rel = std::isnan(recorded) ? std::nan("") : (loss - recorded) / recorded;
  std::string quant = "f32";
  m.file->GetString("modelc.quantization", &quant);
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["source"] = o.source;
    j["quantization"] = quant;
    j["int8_kernel"] = engine->quantized() ? nlohmann::ordered_json(Q8KernelName(engine->q8_kernel()))
                                           : nlohmann::ordered_json(nullptr);
    j["same_source"] = same_source;
    j["val_loss"] = loss;
    j["recorded_val_loss"] = std::isnan(recorded) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(recorded);
    j["relative_change"] = std::isnan(rel) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(rel);
    j["batches"] = batches;
    j["windows"] = batches * mb;
    j["tokens"] = tokens;
    j["seconds"] = secs;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s (%s) on %s\n", o.model.c_str(), quant.c_str(), o.source.c_str());
    std::printf("  val loss     %.6f nats/token (%d batches x %d windows x %d tokens)\n", loss,
                batches, mb, Tn);
    if (!std::isnan(recorded))
      std::printf("  recorded     %.6f (%+.4f%%)\n", recorded, 100.0 * rel);
    if (!same_source)
      std::printf("  note         this source's hash differs from the model's modelc.source_hash\n");
    std::printf("  time         %.2f s (%.0f tokens/s)\n", secs, tokens / secs);
  }
  return 0;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "eval",
      "Mean cross-entropy of a model binary on its source's validation split (the training "
      "evaluation windows), through the inference engine");
  auto o = std::make_shared<EvalOpts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  cmd->add_option("--source", o->source, "Model source folder (model.toml + data)")->required();
  cmd->add_option("-t,--threads", o->threads, "Threads")->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", o->json, "Print the result as one JSON object");
  cmd->callback([o, exit_code] { *exit_code = Eval(*o); });
}

}  // namespace modelc
