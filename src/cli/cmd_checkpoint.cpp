// modelc checkpoint list MODEL.gguf [--build-dir D] [--json]
// modelc checkpoint export MODEL.gguf DEST [--build-dir D]
//
// The checkpoints of a model's hash chain, as kept by
// `modelc build --keep-checkpoints`. export copies every checkpoint that
// matches a chain link (state hash checked) into DEST, for a publisher to
// ship beside the model so that anyone can spot-check one segment of the run
// (`modelc verify --segment`).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "cli/commands.h"
#include "compile/build.h"
#include "compile/checkpoint.h"
#include "util/atomic_file.h"

namespace modelc {

namespace {

struct CkptOpts {
  std::string model, dest, build_dir;
  bool json = false;
};

struct LinkStatus {
  ChainLink link;
  std::string path;     // matching checkpoint, "" if none
  std::string problem;  // why a file that exists does not match
};

// Loads the chain of `model` and matches every link to a checkpoint in the build folder.
Status MatchLinks(const CkptOpts& o, std::vector<LinkStatus>* out, std::string* dir) {
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(o.model, &f));
  std::string text, source_hash;
  if (!f->GetString("modelc.hash_chain", &text).ok() || !f->GetString("modelc.source_hash", &source_hash).ok())
    return Status::Error(o.model + ": no modelc.hash_chain: not built by a modelc with hash chains");
  std::vector<ChainLink> chain;
  Status st = ChainFromJson(text, &chain);
  if (!st.ok()) return Status::Error(o.model + ": modelc.hash_chain: " + st.message());
  *dir = o.build_dir.empty() ? DefaultBuildDir(o.model) : o.build_dir;
  namespace fs = std::filesystem;
  for (const ChainLink& l : chain) {
    LinkStatus s;
    s.link = l;
    const std::string p = CheckpointPath(*dir, l.step);
    std::error_code ec;
    if (fs::exists(p, ec)) {
      TrainState t;
      std::string src;
      Status rs = ReadCheckpoint(p, &t, &src);
      if (!rs.ok())
        s.problem = rs.message();
      else if (src != source_hash)
        s.problem = p + ": made from another source";
      else if (TrainStateHash(t) != l.state_sha256)
        s.problem = p + ": state hash does not match the chain";
      else
        s.path = p;
    }
    out->push_back(s);
  }
  return Status::OK();
}

int List(const CkptOpts& o) {
  std::vector<LinkStatus> links;
  std::string dir;
  Status st = MatchLinks(o, &links, &dir);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["build_dir"] = dir;
    for (size_t i = 0; i < links.size(); ++i)
      j["links"].push_back({{"link", i},
                            {"step", links[i].link.step},
                            {"state_sha256", links[i].link.state_sha256},
                            {"chain_sha256", links[i].link.chain_sha256},
                            {"checkpoint", links[i].path},
                            {"problem", links[i].problem}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("hash chain of %s (%zu links; checkpoints looked up in %s)\n", o.model.c_str(), links.size(),
              dir.c_str());
  std::printf("%4s %10s  %-16s  %-16s  %s\n", "link", "step", "state sha256", "chain sha256", "checkpoint");
  for (size_t i = 0; i < links.size(); ++i) {
    const LinkStatus& s = links[i];
    std::printf("%4zu %10lld  %.16s  %.16s  %s\n", i, (long long)s.link.step, s.link.state_sha256.c_str(),
                s.link.chain_sha256.c_str(),
                !s.path.empty() ? s.path.c_str() : !s.problem.empty() ? ("BAD: " + s.problem).c_str() : "-");
  }
  return 0;
}

int Export(const CkptOpts& o) {
  namespace fs = std::filesystem;
  std::vector<LinkStatus> links;
  std::string dir;
  Status st = MatchLinks(o, &links, &dir);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  std::error_code ec;
  fs::create_directories(o.dest, ec);
  if (ec || !fs::is_directory(o.dest, ec)) {
    PrintError(o.dest + ": cannot create the destination folder");
    return 1;
  }
  size_t exported = 0;
  for (size_t i = 0; i < links.size(); ++i) {
    const LinkStatus& s = links[i];
    if (s.path.empty()) {
      std::fprintf(stderr, "modelc: link %zu (step %lld): %s\n", i, (long long)s.link.step,
                   s.problem.empty() ? "no checkpoint in the build folder" : s.problem.c_str());
      continue;
    }
    std::string bytes;
    st = ReadFile(s.path, &bytes);
    if (st.ok()) st = WriteFileAtomic(CheckpointPath(o.dest, s.link.step), bytes);
    if (!st.ok()) {
      PrintError(st.message());
      return 1;
    }
    ++exported;
  }
  std::printf("exported %zu of %zu chain-link checkpoints to %s\n", exported, links.size(), o.dest.c_str());
  if (exported < links.size()) {
    std::printf("(build with --keep-checkpoints to keep every link's checkpoint)\n");
    return 1;
  }
  return 0;
}

}  // namespace

void AddCheckpointCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "checkpoint", "List or export the checkpoints of a model's hash chain (see modelc verify --segment)");
  cmd->require_subcommand(1);
  auto o = std::make_shared<CkptOpts>();
  auto* list = cmd->add_subcommand("list", "Show the hash chain and which links have a checkpoint");
  list->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  list->add_option("--build-dir", o->build_dir, "Build folder (default: <model without .gguf>.build)");
  list->add_flag("--json", o->json, "Print as JSON");
  list->callback([o, exit_code] { *exit_code = List(*o); });
  auto* exp = cmd->add_subcommand(
      "export", "Copy the checkpoint of every chain link (state hash checked) into DEST, to publish beside the model");
  exp->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  exp->add_option("DEST", o->dest, "Destination folder")->required();
  exp->add_option("--build-dir", o->build_dir, "Build folder (default: <model without .gguf>.build)");
  exp->callback([o, exit_code] { *exit_code = Export(*o); });
}

}  // namespace modelc
