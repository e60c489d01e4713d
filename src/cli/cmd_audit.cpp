// modelc audit MODEL.gguf [--source DIR] [--checkpoints DIR]
//                         [--verified-rebuild FILE | --rebuild] [--json]
//
// How open the model is, per component of the OSI Open Source AI Definition
// 1.0 and of the Model Openness Framework, computed from the binary and the
// source (provenance/audit.h; mapping: docs/openness.md). Exit 0 when the
// audit ran (whatever the verdict), 1 when the binary cannot be read.
#include <stdlib.h>
#include <time.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "compile/build.h"
#include "provenance/audit.h"

namespace modelc {

namespace {

struct AuditOpts {
  AuditInputs in;
  bool rebuild = false, json = false;
  int threads = 0;
};

std::string Today() {
  const time_t t = ::time(nullptr);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// --rebuild: build the source in a temporary folder and compare the bytes.
void Rebuild(const AuditOpts& o, AuditFacts* f) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/modelc-audit-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    f->rebuild_evidence = "rebuild could not run: cannot create a temporary folder";
    return;
  }
  BuildOptions b;
  b.dir = o.in.source;
  b.output = std::string(tmpl) + "/rebuilt.gguf";
  b.build_dir = std::string(tmpl) + "/build";
  b.threads = o.threads;
  b.force = true;
  std::fprintf(stderr, "modelc: rebuilding %s to check the binary (--rebuild)\n", o.in.source.c_str());
  BuildSummary s;
  Status st = BuildModel(b, BuildCallbacks{}, &s);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  if (!st.ok()) {
    f->rebuild_evidence = "rebuild could not run: " + st.message();
  } else if (s.sha256 == f->model_sha256) {
    f->rebuild = RebuildResult::kIdentical;
    f->rebuild_evidence = "verified rebuild on " + Today() + " matched (sha256 " + s.sha256 + ")";
  } else {
    f->rebuild = RebuildResult::kDifferent;
    f->rebuild_evidence = "rebuild on " + Today() + " did NOT match: rebuilt sha256 " + s.sha256;
  }
}

}  // namespace

void AddAuditCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "audit",
      "How open is a model? Each component of the OSI Open Source AI Definition 1.0 and of the Model "
      "Openness Framework, present / partial / absent with the evidence, computed from the binary and its "
      "source; prints the OSAID verdict and the MOF class");
  auto o = std::make_shared<AuditOpts>();
  cmd->add_option("MODEL", o->in.model, "Model binary (.gguf)")->required();
  cmd->add_option("--source", o->in.source, "Model source folder: check the data files against their pins");
  cmd->add_option("--checkpoints", o->in.checkpoints,
                  "Folder from `modelc checkpoint export`: check the intermediate states against the hash chain");
  auto* vr = cmd->add_option("--verified-rebuild", o->in.verified_rebuild,
                             "Output of `modelc verify MODEL --source DIR --json` to report as the reproducibility check");
  cmd->add_flag("--rebuild", o->rebuild, "Rebuild from --source now and compare the bytes (slow)")->excludes(vr);
  cmd->add_option("-t,--threads", o->threads, "Threads for --rebuild (default: all cores)")->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", o->json, "Print the audit as one JSON object");
  cmd->callback([o, exit_code] {
    if (o->rebuild && o->in.source.empty()) {
      PrintError("--rebuild needs --source DIR");
      *exit_code = 1;
      return;
    }
    AuditFacts f;
    Status st = GatherAuditFacts(o->in, &f);
    if (!st.ok()) {
      PrintError(st.message());
      *exit_code = 1;
      return;
    }
    if (o->rebuild) Rebuild(*o, &f);
    const AuditReport r = EvaluateAudit(f);
    if (o->json)
      std::printf("%s\n", AuditJson(f, r).dump(2).c_str());
    else
      std::printf("%s", AuditText(f, r).c_str());
  });
}

}  // namespace modelc
