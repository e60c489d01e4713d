// modelc: the compiler toolchain for model sources.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"modelc " MODELC_VERSION
               ": compile a model source (model.toml + pinned data) into a reproducible GGUF "
               "model binary, run it, and inspect it."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("modelc ") + MODELC_VERSION);
  int exit_code = 0;
  modelc::AddBuildCommand(app, &exit_code);
  modelc::AddRunCommand(app, &exit_code);
  modelc::AddInspectCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
