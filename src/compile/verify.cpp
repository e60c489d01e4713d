#include "compile/verify.h"

#include <omp.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "compile/base_model.h"
#include "compile/build.h"
#include "kernels/isa.h"
#include "source/dataset.h"
#include "util/sha256.h"

namespace modelc {

Status ReadPublishedModel(const std::string& path, PublishedModel* p) {
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(path, &f));
  if (!f->GetString("modelc.source_hash", &p->source_hash).ok())
    return Status::Error(path + ": no modelc.source_hash: not a modelc build, nothing to verify against");
  f->GetString("modelc.version", &p->version);
  std::string chain;
  if (f->GetString("modelc.hash_chain", &chain).ok()) {
    Status st = ChainFromJson(chain, &p->chain);
    if (!st.ok()) return Status::Error(path + ": modelc.hash_chain: " + st.message());
  }
  return Sha256File(path, &p->sha256);
}

Status LoadVerifyInputs(const VerifyOptions& o, VerifyInputs* in) {
  MODELC_RETURN_IF_ERROR(ReadPublishedModel(o.model, &in->published));
  MODELC_RETURN_IF_ERROR(LoadRecipe(o.source, &in->recipe));
  return CheckDataHashes(in->recipe);
}

namespace {

VerifyOutcome VerifyTrouble(const std::string& msg) {
  VerifyOutcome r;
  r.code = kVerifyTrouble;
  r.verdict = "trouble: " + msg;
  return r;
}

void Note(const VerifyCallbacks& cb, const std::string& s) {
  if (cb.note) cb.note(s);
}

void ProgressDone(const VerifyCallbacks& cb) {
  if (cb.progress_done) cb.progress_done();
}

VerifyOutcome FullRebuild(const VerifyOptions& o, const PublishedModel& pub, const VerifyCallbacks& vcb) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/modelc-verify-XXXXXX";
  if (!::mkdtemp(tmpl)) return VerifyTrouble("cannot create a temporary folder");
  const std::string tmp = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};

  BuildOptions b;
  b.dir = o.source;
  b.output = tmp + "/rebuilt.gguf";
  b.threads = o.threads;
  b.force = true;
  b.build_dir = tmp + "/build";
  BuildCallbacks cb;
  cb.on_start = [&](const Recipe& rr, const Dataset&) {
    Note(vcb, "rebuilding " + rr.model.name + " from " + o.source + " (" + std::to_string(rr.train.steps) +
                  " steps)");
  };
  cb.progress = [&](const StepInfo& s) {
    if (vcb.progress) vcb.progress(s);
  };
  BuildSummary s;
  Status st = BuildModel(b, cb, &s);
  ProgressDone(vcb);
  if (!st.ok()) return VerifyTrouble(st.message());

  VerifyOutcome out;
  out.json["model"] = o.model;
  out.json["model_sha256"] = pub.sha256;
  out.json["rebuilt_sha256"] = s.sha256;
  if (s.sha256 == pub.sha256) {
    out.code = kVerifyIdentical;
    out.verdict = "identical: rebuilding " + o.source + " gives the same bytes (sha256 " + pub.sha256 + ")";
    return out;
  }
  out.code = kVerifyDifferent;
  out.verdict = "different: rebuilt sha256 " + s.sha256 + ", published " + pub.sha256;
  // Where did the runs part? Compare the hash chains.
  PublishedModel rebuilt;
  if (ReadPublishedModel(b.output, &rebuilt).ok() && !pub.chain.empty()) {
    size_t i = 0;
    while (i < pub.chain.size() && i < rebuilt.chain.size() && pub.chain[i].step == rebuilt.chain[i].step &&
           pub.chain[i].state_sha256 == rebuilt.chain[i].state_sha256)
      ++i;
    if (i == pub.chain.size() && i == rebuilt.chain.size()) {
      out.verdict +=
          "; the training run agrees at every chain link, so the difference is in the file "
          "itself (see modelc diff)";
    } else if (i == 0) {
      out.verdict += "; the states differ already at the first chain link (initialization)";
    } else {
      out.verdict += "; the training states agree up to step " + std::to_string(pub.chain[i - 1].step) +
                     " (chain link " + std::to_string(i - 1) + ") and differ after it";
    }
    out.json["first_differing_link"] = i;
  }
  return out;
}

VerifyOutcome Segment(const VerifyOptions& o, const PublishedModel& pub, const Recipe& r,
                      const VerifyCallbacks& vcb) {
  namespace fs = std::filesystem;
  const int64_t I = o.segment;
  if (pub.chain.size() < 2) return VerifyTrouble(o.model + ": the model has no hash chain to spot-check");
  if (I < 0 || I + 1 >= (int64_t)pub.chain.size())
    return VerifyTrouble("--segment must be between 0 and " + std::to_string(pub.chain.size() - 2) +
                         " for this model (" + std::to_string(pub.chain.size()) + " chain links)");
  if (o.checkpoint.empty())
    return VerifyTrouble("--segment needs --checkpoint (the state of link " + std::to_string(I) + ")");
  const ChainLink& from = pub.chain[I];
  const ChainLink& to = pub.chain[I + 1];
  std::error_code ec;
  const std::string path =
      fs::is_directory(o.checkpoint, ec) ? CheckpointPath(o.checkpoint, from.step) : o.checkpoint;
  TrainState state;
  std::string ck_source;
  Status st = ReadCheckpoint(path, &state, &ck_source);
  if (!st.ok()) return VerifyTrouble(st.message());
  // Trust nothing in the checkpoint that the chain does not vouch for.
  if (ck_source != pub.source_hash)
    return VerifyTrouble(path + ": checkpoint is for another source (" + ck_source.substr(0, 12) + ")");
  if (state.step != from.step)
    return VerifyTrouble(path + ": checkpoint is at step " + std::to_string(state.step) + ", link " +
                         std::to_string(I) + " is at step " + std::to_string(from.step));
  const std::string h = TrainStateHash(state);
  if (h != from.state_sha256)
    return VerifyTrouble(path + ": checkpoint state hash " + h + " is not the one chain link " + std::to_string(I) +
                         " records (" + from.state_sha256 + ")");
  state.chain.assign(pub.chain.begin(), pub.chain.begin() + I + 1);

  Dataset d;
  st = LoadSourceDataset(r, &d);
  if (!st.ok()) return VerifyTrouble(st.message());
  if (state.tokens_per_source.size() != d.sources.size()) state.tokens_per_source.assign(d.sources.size(), 0);
  SetNumThreads(o.threads > 0 ? o.threads : omp_get_num_procs());
  Note(vcb, "re-running steps " + std::to_string(from.step + 1) + ".." + std::to_string(to.step) + " of " +
                r.model.name + " (chain link " + std::to_string(I) + " -> " + std::to_string(I + 1) + ")");
  TrainControl c;
  c.resume = &state;
  c.stop_after = to.step;
  TrainResult t;
  st = Train(
      r, d,
      [&](const StepInfo& s) {
        if (vcb.progress) vcb.progress(s);
      },
      c, &t);
  ProgressDone(vcb);
  if (!st.ok()) return VerifyTrouble(st.message());
  if (t.chain.empty() || t.chain.back().step != to.step)
    return VerifyTrouble("internal error: the re-run did not end at a chain link");
  VerifyOutcome out;
  out.json["segment"] = I;
  out.json["from_step"] = from.step;
  out.json["to_step"] = to.step;
  out.json["expected_state_sha256"] = to.state_sha256;
  out.json["rebuilt_state_sha256"] = t.chain.back().state_sha256;
  const std::string range = "segment " + std::to_string(I) + " (steps " + std::to_string(from.step + 1) + ".." +
                            std::to_string(to.step) + ")";
  if (t.chain.back().state_sha256 == to.state_sha256) {
    out.code = kVerifyIdentical;
    out.verdict = "identical: " + range + " re-runs to the recorded state " + to.state_sha256;
    if (I + 2 == (int64_t)pub.chain.size()) {
      // The last link: the weights in the file must be the ones it ends with.
      LoadedModel m;
      st = LoadModelFile(o.model, &m);
      if (!st.ok()) return VerifyTrouble(st.message());
      const bool same = m.params.size() == t.params.size() &&
                        std::memcmp(m.params.data(), t.params.data(), t.params.size() * sizeof(float)) == 0;
      out.json["file_weights_match"] = same;
      if (same) {
        out.verdict += ", and the file holds exactly those weights";
      } else {
        out.code = kVerifyDifferent;
        out.verdict = "different: " + range + " re-runs to the recorded state, but the weights in " + o.model +
                      " are not that state's weights";
      }
    }
  } else {
    out.code = kVerifyDifferent;
    out.verdict = "different: " + range + " re-runs to state " + t.chain.back().state_sha256 +
                  ", the chain records " + to.state_sha256;
  }
  return out;
}

}  // namespace

VerifyOutcome VerifyAgainstSource(const VerifyOptions& o, const VerifyInputs& in, const VerifyCallbacks& cb) {
  const PublishedModel& pub = in.published;
  const Recipe& r = in.recipe;
  if (r.SourceHash() != pub.source_hash) {
    VerifyOutcome out;
    out.code = kVerifyDifferent;
    out.verdict = "different: " + o.source + " has source hash " + r.SourceHash() + ", the model was built from " +
                  pub.source_hash;
    out.json["source_hash"] = r.SourceHash();
    out.json["model_source_hash"] = pub.source_hash;
    return out;
  }
  return o.segment >= 0 ? Segment(o, pub, r, cb) : FullRebuild(o, pub, cb);
}

}  // namespace modelc
