// modelc: the compiler toolchain for model sources.
#include <unistd.h>

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "kernels/isa.h"

namespace {

// libgomp's default is to spin for a long time at every barrier before
// sleeping. On a shared 2-core machine, when another process holds a core,
// that turns every small parallel region into a wait for the preempted
// thread (a build measured 8x slower). A short spin keeps the unloaded speed
// and stays fast under load. libgomp reads its settings before main() runs,
// so when the user has not chosen a policy, set one and re-execute once.
// Results never depend on this (threads only split work, see docs/design.md).
void TuneOpenMpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  ::setenv("GOMP_SPINCOUNT", "3000", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
}

}  // namespace

int main(int argc, char** argv) {
  TuneOpenMpWaitPolicy(argv);
  CLI::App app{"modelc " MODELC_VERSION
               ": compile a model source (model.toml + pinned data) into a reproducible GGUF "
               "model binary, run it, and inspect it."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::function<std::string()>([] {
    return std::string("modelc ") + MODELC_VERSION + " (" + modelc::KernelsDescription() + ")";
  }));
  int exit_code = 0;
  modelc::AddBuildCommand(app, &exit_code);
  modelc::AddRunCommand(app, &exit_code);
  modelc::AddInspectCommand(app, &exit_code);
  modelc::AddDiffCommand(app, &exit_code);
  modelc::AddVerifyCommand(app, &exit_code);
  modelc::AddCheckpointCommand(app, &exit_code);
  modelc::AddQuantizeCommand(app, &exit_code);
  modelc::AddEvalCommand(app, &exit_code);
  modelc::AddSignCommand(app, &exit_code);
  modelc::AddAuditCommand(app, &exit_code);
  modelc::AddTokenizeCommand(app, &exit_code);
  modelc::AddServeCommand(app, &exit_code);
  modelc::AddReportCommand(app, &exit_code);
  modelc::AddCreditsCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::bad_alloc&) {
    modelc::PrintError("out of memory (is the model or batch too large for this machine?)");
    return 1;
  } catch (const std::exception& e) {
    modelc::PrintError(std::string("internal error: ") + e.what());
    return 1;
  }
  return exit_code;
}
