// modelc build DIR [-o OUT] [--threads N] [--pin] [--force] [--build-dir D]
//              [--checkpoint-every N] [--keep-checkpoints] [--no-wait]
//              [--max-memory SIZE|none] [--json]
#include <signal.h>
#include <unistd.h>

#include <sys/resource.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "compile/build.h"
#include "compile/interrupt.h"
#include "compile/memory_estimate.h"
#include "dist/comm.h"
#include "source/recipe.h"

namespace modelc {

void PrintError(const std::string& msg) { std::fprintf(stderr, "modelc: error: %s\n", msg.c_str()); }

void AddBuildCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("build", "Compile a model source folder into a GGUF model binary");
  struct Opts {
    BuildOptions b;
    bool pin = false;
    bool quiet = false;
    bool json = false;
    std::string max_memory;
    bool no_wait = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("DIR", o->b.dir, "Model source folder (holds model.toml)")->required();
  cmd->add_option("-o,--output", o->b.output, "Output file (default: <model name>.gguf)");
  cmd->add_option("-t,--threads", o->b.threads, "Threads (default: all cores); never changes the output")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--pin", o->pin,
                "Write the sha256 of every data file into model.toml (like a lock file), then stop");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress output");
  cmd->add_flag("-f,--force", o->b.force, "Rebuild even if the output is up to date");
  cmd->add_option("--build-dir", o->b.build_dir,
                  "Work folder for checkpoints (default: <output without .gguf>.build)");
  cmd->add_option("--checkpoint-every", o->b.checkpoint_every,
                  "Also checkpoint every N steps (default: only at hash-chain links, see chain_every)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_flag("--keep-checkpoints", o->b.keep_checkpoints,
                "Keep the build folder with the checkpoint of every hash-chain link after success "
                "(for `modelc checkpoint export` and `modelc verify --segment`)");
  cmd->add_flag("--no-wait", o->no_wait,
                "Fail at once (naming its pid) when another build holds the build folder, instead of waiting");
  cmd->add_option("--max-memory", o->max_memory,
                  "Memory the build may use, e.g. 8G or 512M (default: what the machine has available); "
                  "none skips the check");
  cmd->add_flag("--json", o->json,
                "Print the summary as one JSON object on stdout (progress still goes to stderr)");
  cmd->callback([o, exit_code] {
    if (o->pin) {
      std::string report;
      Status st = PinDataHashes(o->b.dir, &report);
      if (!st.ok()) {
        PrintError(st.message());
        *exit_code = 1;
        return;
      }
      std::printf("%s", report.empty() ? "all data hashes already pinned\n" : report.c_str());
      return;
    }
    o->b.wait_for_lock = !o->no_wait;
    if (!o->max_memory.empty()) {
      Status ms = ParseMemorySize(o->max_memory, &o->b.max_memory);
      if (!ms.ok()) {
        PrintError(ms.message());
        *exit_code = 1;
        return;
      }
    }
    ProgressPrinter printer(stderr, ::isatty(2));
    BuildCallbacks cb;  // BuildModel calls these on rank 0 only
    cb.on_start = [&](const Recipe& r, const Dataset& d) {
      if (o->quiet) return;
      ModelConfig mc = ConfigFromRecipe(r);
      mc.vocab = d.tokenizer.size();
      std::fprintf(stderr, "building %s: %s, %s; %lld steps x %d x %d tokens, %zu train / %zu val %s\n",
                   r.model.name.c_str(), r.arch.family.c_str(), mc.Describe().c_str(),
                   (long long)r.train.steps, r.train.batch_size, r.arch.context, d.train.size(),
                   d.val.size(), r.tokenizer.kind == "bpe" ? "BPE tokens" : "bytes");
      if (r.tokenizer.kind == "bpe")
        std::fprintf(stderr, "  tokenizer: %d-token BPE vocabulary trained on the training split (%llu train / %llu val bytes)\n",
                     d.tokenizer.size(), (unsigned long long)d.train_bytes,
                     (unsigned long long)d.val_bytes);
    };
    cb.progress = [&](const StepInfo& s) {
      if (!o->quiet) printer.Update(s);
    };
    cb.note = [&](const std::string& n) { std::fprintf(stderr, "modelc: %s\n", n.c_str()); };
    BuildSummary s;
    Comm& comm = Comm::World();  // MPI starts here, before the handlers go in
    // Ctrl-C / SIGTERM: a flag the trainer reads between steps.
    InstallInterruptHandlers();
    cb.stop_requested = [] { return InterruptSignal() != 0; };
    Status st = BuildModel(o->b, cb, &s);
    printer.Finish();
    if (st.ok() && s.interrupted) {
      const int sig = InterruptSignal() != 0 ? InterruptSignal() : SIGINT;
      *exit_code = 128 + sig;
      if (!comm.root()) return;
      std::string line;
      if (s.interrupted_waiting) {
        line = "interrupted while waiting for " + s.build_dir + "; nothing was built";
      } else {
        line = "interrupted at step " + std::to_string(s.interrupted_step);
        if (!s.checkpoint_error.empty())
          line += " (saving a checkpoint failed: " + s.checkpoint_error + "; " +
                  (s.checkpoint_step >= 0 ? "newest checkpoint at step " + std::to_string(s.checkpoint_step)
                                          : std::string("no checkpoint")) + ")";
        else if (s.checkpoint_step != s.interrupted_step)
          line += s.checkpoint_step >= 0 ? " (checkpoint at step " + std::to_string(s.checkpoint_step) + ")"
                                         : " (no checkpoint)";
        line += "; run the same command to resume";
      }
      std::fprintf(stderr, "modelc: %s\n", line.c_str());
      return;
    }
    if (!st.ok()) {
      if (comm.size() > 1) {
        // The other ranks may be waiting in a collective: stop the whole job.
        PrintError("rank " + std::to_string(comm.rank()) + ": " + st.message());
        comm.Abort(1);
      }
      PrintError(st.message());
      *exit_code = 1;
      return;
    }
    if (!comm.root()) return;  // rank 0 reports
    nlohmann::ordered_json j;  // --json: identity first, then the run's figures
    j["name"] = s.name;
    j["output"] = s.output;
    j["sha256"] = s.sha256;
    j["source_hash"] = s.source_hash;
    j["up_to_date"] = s.up_to_date;
    j["statement"] = s.statement;
    j["report"] = s.report;
    if (s.up_to_date) {
      if (o->json) {
        std::printf("%s\n", j.dump(2).c_str());
      } else {
        std::printf("%s is up to date (source %s); --force rebuilds\n", s.output.c_str(),
                    s.source_hash.substr(0, 12).c_str());
      }
      return;
    }
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    const double peak_rss_mb = (double)ru.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
    if (o->json) {
      j["train_loss"] = s.train_loss;
      j["val_loss"] = s.val_loss;
      j["unigram_val_loss"] = s.unigram_val_loss;
      j["train_nats_per_byte"] = s.train_nats_per_byte;
      j["val_nats_per_byte"] = s.val_nats_per_byte;
      j["unigram_val_nats_per_byte"] = s.unigram_val_nats_per_byte;
      j["val_bytes_per_token"] = s.val_bytes_per_token;
      j["parameters"] = s.params;
      j["steps"] = s.steps;
      j["tokens_seen"] = s.tokens_seen;
      j["threads"] = s.threads;
      j["resumed_from_step"] = s.resumed_from;
      j["ranks"] = s.ranks;
      j["wall_s"] = s.wall_s;
      j["tokens_per_s"] = s.tokens_per_s;
      j["steady_tokens_per_s"] = s.steady_tokens_per_s;
      j["peak_rss_mb"] = peak_rss_mb;
      j["memory_estimate_mb"] = (double)s.memory_estimate / (1024.0 * 1024.0);
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("built %s\n", s.name.c_str());
    std::printf("  train loss   %.4f nats/token = %.4f nats/byte\n", s.train_loss, s.train_nats_per_byte);
    std::printf("  val loss     %.4f nats/token = %.4f nats/byte (unigram baseline %.4f nats/byte; %.2f bytes/token)\n",
                s.val_loss, s.val_nats_per_byte, s.unigram_val_nats_per_byte, s.val_bytes_per_token);
    std::printf("  parameters   %lld\n", (long long)s.params);
    std::printf("  tokens seen  %lld in %lld steps\n", (long long)s.tokens_seen, (long long)s.steps);
    std::printf("  wall time    %.1f s (%.0f tokens/s; steady state %.0f tokens/s on %d threads%s)\n",
                s.wall_s, s.tokens_per_s, s.steady_tokens_per_s, s.threads,
                s.ranks > 1 ? (" x " + std::to_string(s.ranks) + " processes").c_str() : "");
    std::printf("  peak memory  %.0f MiB (estimated %.0f MiB)\n", peak_rss_mb,
                (double)s.memory_estimate / (1024.0 * 1024.0));
    std::printf("  output       %s\n", s.output.c_str());
    std::printf("  sha256       %s\n", s.sha256.c_str());
    std::printf("  provenance   %s\n", s.statement.c_str());
    std::printf("  report       %s\n", s.report.c_str());
  });
}

}  // namespace modelc
