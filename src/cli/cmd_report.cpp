// modelc report MODEL.gguf [-o OUT.html] [--json]
//
// Writes the build report of a model binary (report/report.h): the page
// `modelc build` writes beside every binary, regenerated from the binary
// alone (and the files beside it, for the audit). Written atomically.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "report/report_inputs.h"

namespace modelc {

void AddReportCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "report",
      "Write the HTML build report of a model binary (loss curves, hyperparameters, credits, licence check, "
      "audit, hashes); the same page `modelc build` writes beside the binary");
  struct Opts {
    std::string model, output;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  cmd->add_option("-o,--output", o->output, "Output file (default: <model stem>.report.html beside the binary)");
  cmd->add_flag("--json", o->json, "Print {\"model\", \"report\"} as one JSON object");
  cmd->callback([o, exit_code] {
    std::string written;
    Status st = WriteReportForModel(o->model, o->output, &written);
    if (!st.ok()) {
      PrintError(st.message());
      *exit_code = 1;
      return;
    }
    if (o->json) {
      nlohmann::ordered_json j;
      j["model"] = o->model;
      j["report"] = written;
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("wrote %s\n", written.c_str());
    }
  });
}

}  // namespace modelc
