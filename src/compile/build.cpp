#include "compile/build.h"

#include <omp.h>
#include <unistd.h>

#include <filesystem>

#include "binary/model_file.h"
#include "kernels/isa.h"
#include "kernels/mathfn.h"
#include "util/sha256.h"

namespace modelc {

double UnigramBaseline(const std::vector<uint8_t>& train, const std::vector<uint8_t>& val) {
  std::vector<double> count(256, 1.0);
  for (uint8_t b : train) count[b] += 1;
  const double total = (double)train.size() + 256;
  std::vector<double> nll(256);
  for (int i = 0; i < 256; ++i) nll[i] = -mathfn::log(count[i] / total);
  double s = 0;
  for (uint8_t b : val) s += nll[b];
  return val.empty() ? 0 : s / (double)val.size();
}

Status BuildModel(const BuildOptions& o, const BuildStartFn& on_start, const ProgressFn& progress,
                  BuildSummary* out) {
  Recipe r;
  MODELC_RETURN_IF_ERROR(LoadRecipe(o.dir, &r));
  MODELC_RETURN_IF_ERROR(CheckDataHashes(r));
  Dataset d;
  MODELC_RETURN_IF_ERROR(LoadDataset(r, &d));
  SetNumThreads(o.threads > 0 ? o.threads : omp_get_num_procs());
  const std::string output = o.output.empty() ? r.model.name + ".gguf" : o.output;
  // Fail before training, not after, when the output cannot be written.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path out(output);
    const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    if (fs::is_directory(out, ec))
      return Status::Error(output + ": output path is a directory");
    if (!fs::is_directory(dir, ec))
      return Status::Error(output + ": output folder " + dir.string() + " does not exist");
    if (::access(dir.c_str(), W_OK) != 0)
      return Status::Error(output + ": output folder " + dir.string() + " is not writable");
  }
  if (on_start) on_start(r, d);
  TrainResult t = Train(r, d, progress);
  MODELC_RETURN_IF_ERROR(WriteModelFile(output, r, d, t));
  BuildSummary s;
  s.name = r.model.name;
  s.output = output;
  s.source_hash = r.SourceHash();
  s.threads = NumThreads();
  MODELC_RETURN_IF_ERROR(Sha256File(output, &s.sha256));
  s.train_loss = t.train_loss;
  s.val_loss = t.val_loss;
  s.unigram_val_loss = UnigramBaseline(d.train, d.val);
  s.steps = t.steps;
  s.tokens_seen = t.tokens_seen;
  s.params = (int64_t)t.params.size();
  s.wall_s = t.wall_s;
  s.tokens_per_s = t.wall_s > 0 ? (double)t.tokens_seen / t.wall_s : 0;
  s.steady_tokens_per_s =
      SteadyTokensPerSecond(t.step_s, (int64_t)r.train.batch_size * r.arch.context);
  *out = s;
  return Status::OK();
}

}  // namespace modelc
