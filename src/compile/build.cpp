#include "compile/build.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "compile/base_model.h"
#include "compile/build_lock.h"
#include "compile/checkpoint.h"
#include "dist/comm.h"
#include "util/atomic_file.h"
#include "kernels/isa.h"
#include "kernels/mathfn.h"
#include "provenance/statement.h"
#include "report/report_inputs.h"
#include "util/sha256.h"

namespace modelc {

double UnigramBaseline(const std::vector<uint16_t>& train, const std::vector<uint16_t>& val,
                       int vocab) {
  std::vector<double> count(vocab, 1.0);
  for (uint16_t b : train) count[b] += 1;
  const double total = (double)train.size() + vocab;
  std::vector<double> nll(vocab);
  for (int i = 0; i < vocab; ++i) nll[i] = -mathfn::log(count[i] / total);
  double s = 0;
  for (uint16_t b : val) s += nll[b];
  return val.empty() ? 0 : s / (double)val.size();
}

std::string DefaultBuildDir(const std::string& output) {
  std::string base = output;
  const std::string ext = ".gguf";
  if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0)
    base.resize(base.size() - ext.size());
  return base + ".build";
}

namespace {

// True when `output` is a model file made from this source by this version.
bool UpToDate(const std::string& output, const std::string& source_hash) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(output, ec)) return false;
  std::unique_ptr<GgufFile> f;
  if (!GgufFile::Open(output, &f).ok()) return false;
  std::string h, v;
  return f->GetString("modelc.source_hash", &h).ok() && f->GetString("modelc.version", &v).ok() &&
         h == source_hash && v == MODELC_VERSION;
}

// Keeps the newest two checkpoints (a corrupt newest one falls back to the
// one before) and, with keep_links, every hash-chain link.
void PruneCheckpoints(const std::string& dir, const Recipe& r, bool keep_links) {
  auto files = ListCheckpoints(dir);
  if (files.size() <= 2) return;
  files.resize(files.size() - 2);
  for (const std::string& f : files) {
    const std::string name = std::filesystem::path(f).filename().string();
    const int64_t step = std::stoll(name.substr(5, 9));
    if (keep_links && (step == 0 || step == r.train.steps || step % r.train.chain_every == 0)) continue;
    std::error_code ec;
    std::filesystem::remove(f, ec);
  }
}

// Removes the checkpoints (and temp files left by a killed build) from the
// build folder, then the folder itself if nothing else is in it. Never
// touches other files: --build-dir may point anywhere.
void RemoveBuildDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const std::string& f : ListCheckpoints(dir)) fs::remove(f, ec);
  if (fs::is_directory(dir, ec))
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("step-", 0) == 0 && name.find(".ckpt.tmp.") != std::string::npos)
        fs::remove(e.path(), ec);
    }
  fs::remove(dir, ec);  // fails, harmlessly, when not empty
}

// Threads per process: all cores, shared among the ranks on this machine.
int DefaultThreads() {
  int local = 1;
  if (const char* e = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE")) local = std::max(1, std::atoi(e));
  return std::max(1, omp_get_num_procs() / local);
}

// Processes of this build on this machine (mpirun's local size).
int LocalProcesses() {
  if (const char* e = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE")) return std::max(1, std::atoi(e));
  return 1;
}

}  // namespace

Status BuildModel(const BuildOptions& o, const BuildCallbacks& cb, BuildSummary* out) {
  namespace fs = std::filesystem;
  Recipe r;
  MODELC_RETURN_IF_ERROR(LoadRecipe(o.dir, &r));
  MODELC_RETURN_IF_ERROR(CheckDataHashes(r));
  // Licences of the data (and of the base and its data) against the model's.
  Credits base_credits;
  if (r.base) MODELC_RETURN_IF_ERROR(ReadBaseCredits(r, &base_credits));
  MODELC_RETURN_IF_ERROR(CheckRecipeLicences(r, r.base ? &base_credits : nullptr));
  std::optional<int64_t> epoch;  // a bad SOURCE_DATE_EPOCH fails now, not after training
  MODELC_RETURN_IF_ERROR(SourceDateEpochFromEnv(&epoch));
  const std::string output = o.output.empty() ? r.model.name + ".gguf" : o.output;
  const std::string source_hash = r.SourceHash();
  BuildSummary s;
  s.name = r.model.name;
  s.output = output;
  s.source_hash = source_hash;
  // Under MPI every rank runs this function; rank 0 alone looks at and
  // writes files (output, checkpoints) and tells the others what it found.
  Comm& comm = Comm::World();
  const bool root = comm.root();
  // Up to date: the statement and report are written if missing (a build
  // killed between the binary and them).
  auto finish_up_to_date = [&]() -> Status {
    s.up_to_date = true;
    if (root) {
      MODELC_RETURN_IF_ERROR(Sha256File(output, &s.sha256));
      std::error_code ec;
      s.statement = StatementPath(output);
      if (!fs::exists(s.statement, ec)) MODELC_RETURN_IF_ERROR(WriteStatementForModel(output, &s.statement));
      s.report = ReportPath(output);  // and its report
      if (!fs::exists(s.report, ec)) MODELC_RETURN_IF_ERROR(WriteReportForModel(output, "", &s.report));
    }
    *out = s;
    return Status::OK();
  };
  std::string flag = root && !o.force && UpToDate(output, source_hash) ? "1" : "";
  comm.Broadcast(&flag);
  if (!flag.empty()) return finish_up_to_date();
  // Fail before training, not after, when the output cannot be written.
  if (root) {
    std::error_code ec;
    const fs::path outp(output);
    const fs::path dir = outp.has_parent_path() ? outp.parent_path() : fs::path(".");
    if (fs::is_directory(outp, ec))
      return Status::Error(output + ": output path is a directory");
    if (!fs::is_directory(dir, ec))
      return Status::Error(output + ": output folder " + dir.string() + " does not exist");
    if (::access(dir.c_str(), W_OK) != 0)
      return Status::Error(output + ": output folder " + dir.string() + " is not writable");
  }
  const std::string build_dir = o.build_dir.empty() ? DefaultBuildDir(output) : o.build_dir;
  s.build_dir = build_dir;

  // Rank 0 locks the build folder (compile/build_lock.h), waiting while
  // another build of the same output holds it; that build may have written
  // the output meanwhile, so look again. Released (and the folder removed if
  // empty) on every way out of this function.
  BuildLock lock;
  struct Unlock {
    BuildLock* lock;
    std::string dir;
    ~Unlock() {
      if (!lock->held()) return;
      lock->Release();
      std::error_code ec;
      std::filesystem::remove(dir, ec);  // only when empty
    }
  } unlock{&lock, build_dir};
  std::string state;  // rank 0's findings: "i" interrupted while waiting, "u" up to date, "r" checkpoints
  if (root) {
    BuildLock::Wait w;
    w.wait = o.wait_for_lock;
    w.on_wait = [&](const std::string& pid) {
      if (cb.note) cb.note("waiting for " + build_dir + ": another build (pid " + pid + ") holds it");
    };
    w.interrupted = cb.stop_requested;
    bool interrupted = false;
    MODELC_RETURN_IF_ERROR(lock.Acquire(build_dir, w, &interrupted));
    if (interrupted)
      state = "i";
    else if (!o.force && UpToDate(output, source_hash))
      state = "u";
    else if (!ListCheckpoints(build_dir).empty())
      state = "r";
  }
  comm.Broadcast(&state);
  if (state == "i") {
    s.interrupted = s.interrupted_waiting = true;
    *out = s;
    return Status::OK();
  }
  if (state == "u") return finish_up_to_date();

  // Refuse before allocating anything big when the build will not fit.
  const int threads = o.threads > 0 ? o.threads : DefaultThreads();
  MemoryShape shape;
  shape.data_bytes = RecipeDataBytes(r);
  shape.threads = threads;
  shape.ranks = comm.size();
  shape.resuming = state == "r";
  const MemoryEstimate estimate = EstimateBuildMemory(r, shape);
  s.memory_estimate = estimate.total();
  if (o.max_memory != kNoMemoryCheck) {
    uint64_t limit = o.max_memory;
    std::string what;
    const bool from_flag = limit != 0;
    if (!from_flag && !AvailableMemory(&limit, &what)) limit = 0;  // unknown: no check
    MODELC_RETURN_IF_ERROR(
        CheckBuildMemory(r, estimate, limit, from_flag, what, from_flag ? 1 : LocalProcesses()));
  }

  Dataset d;
  MODELC_RETURN_IF_ERROR(LoadSourceDataset(r, &d));
  std::vector<float> base_params;  // fine-tuning: the start weights (every rank reads the base)
  if (r.base) MODELC_RETURN_IF_ERROR(LoadBaseWeights(r, d, &base_params));
  SetNumThreads(threads);

  // Resume from the newest good checkpoint of this source, if any (rank 0
  // finds it and, under MPI, sends its bytes to the others, so only rank 0
  // needs the build folder; any rank count can resume any checkpoint).
  TrainState resume;
  std::string resume_path, resume_bytes;
  std::vector<std::string> notes;
  const size_t P = ModelParamCount(ConfigFromRecipe(r));
  const bool found = root && FindResumePoint(build_dir, source_hash, P, &resume, &resume_path, &notes);
  if (found && comm.size() > 1) MODELC_RETURN_IF_ERROR(ReadFile(resume_path, &resume_bytes));
  comm.Broadcast(&resume_bytes);
  const bool resuming = root ? found : !resume_bytes.empty();
  if (resuming && !root) {
    std::string src;
    MODELC_RETURN_IF_ERROR(ParseCheckpoint(resume_bytes, "checkpoint from rank 0", &resume, &src));
  }
  std::string().swap(resume_bytes);  // the parsed state is all that is needed now
  if (cb.note && root) {
    for (const std::string& n : notes) cb.note(n);
    if (resuming)
      cb.note("resuming from step " + std::to_string(resume.step) + " (" + resume_path + ")");
  }
  if (cb.on_start && root) cb.on_start(r, d);

  TrainControl control;
  control.comm = &comm;
  control.resume_take = resuming ? &resume : nullptr;
  control.stop_requested = cb.stop_requested;
  control.initial_params = r.base ? &base_params : nullptr;
  control.checkpoint_every = o.checkpoint_every;
  control.on_checkpoint = [&](const TrainState& st) -> Status {
    if (!root) return Status::OK();
    std::error_code ec;
    fs::create_directories(build_dir, ec);
    if (ec) return Status::Error(build_dir + ": cannot create the build folder: " + ec.message());
    MODELC_RETURN_IF_ERROR(WriteCheckpoint(CheckpointPath(build_dir, st.step), source_hash, st));
    PruneCheckpoints(build_dir, r, o.keep_checkpoints);
    return Status::OK();
  };
  TrainResult t;
  MODELC_RETURN_IF_ERROR(Train(r, d, root ? cb.progress : ProgressFn(), control, &t));
  if (t.stopped) {  // Ctrl-C: the state is in the build folder, no output
    s.interrupted = true;
    s.interrupted_step = t.steps;
    s.checkpoint_step = t.saved_step;
    s.checkpoint_error = t.save_error;
    *out = s;
    return Status::OK();
  }
  if (root) {
    BaseModelRecord base;
    if (r.base) base = MakeBaseRecord(r, base_credits);
    MODELC_RETURN_IF_ERROR(WriteModelFile(output, r, d, TrainingRecordOf(t), r.base ? &base : nullptr));
    // The model is written; the work folder is no longer needed.
    if (!o.keep_checkpoints) RemoveBuildDir(build_dir);
    MODELC_RETURN_IF_ERROR(Sha256File(output, &s.sha256));
    // The in-toto/SLSA provenance statement, read back from the binary.
    MODELC_RETURN_IF_ERROR(WriteStatementForModel(output, &s.statement));
    // The build report (HTML), also read back from the binary (after the
    // statement, which its audit summary checks).
    MODELC_RETURN_IF_ERROR(WriteReportForModel(output, "", &s.report));
  }
  s.ranks = comm.size();
  s.threads = NumThreads();
  s.resumed_from = t.resumed_from;
  s.train_loss = t.train_loss;
  s.val_loss = t.val_loss;
  s.unigram_val_loss = UnigramBaseline(d.train, d.val, d.tokenizer.size());
  {
    const double ttpb = TokensPerByte(d.train.size(), d.train_bytes);
    const double vtpb = TokensPerByte(d.val.size(), d.val_bytes);
    s.train_nats_per_byte = s.train_loss * ttpb;
    s.val_nats_per_byte = s.val_loss * vtpb;
    s.unigram_val_nats_per_byte = s.unigram_val_loss * vtpb;
    s.val_bytes_per_token = 1.0 / vtpb;
  }
  s.steps = t.steps;
  s.tokens_seen = t.tokens_seen;
  s.params = (int64_t)t.params.size();
  s.wall_s = t.wall_s;
  const int64_t tokens_per_step = (int64_t)r.train.batch_size * r.arch.context;
  s.tokens_per_s = t.wall_s > 0 ? (double)((t.steps - t.resumed_from) * tokens_per_step) / t.wall_s : 0;
  s.steady_tokens_per_s = SteadyTokensPerSecond(t.step_s, tokens_per_step);
  *out = s;
  return Status::OK();
}

}  // namespace modelc
