// modelc credits MODEL.gguf [--json | --markdown]
//
// Every data source the binary was trained on (its base models' sources
// too), with title, author, licence, source URL, sha256, training tokens
// used and share of training, sorted by share (provenance/credits.h).
#include <cstdio>

#include "cli/commands.h"
#include "provenance/credits.h"

namespace modelc {

void AddCreditsCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("credits", "List the data sources a model binary was trained on, with their share of training");
  struct Opts {
    std::string model;
    bool json = false, markdown = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  auto* j = cmd->add_flag("--json", o->json, "One JSON object (model, license, total_tokens, sources, base_models)");
  cmd->add_flag("--markdown", o->markdown, "A Markdown section ready for a model card")->excludes(j);
  cmd->callback([o, exit_code] {
    Credits c;
    Status st = CreditsFromFile(o->model, &c);
    if (!st.ok()) {
      PrintError(st.message());
      *exit_code = 1;
      return;
    }
    if (o->json)
      std::printf("%s\n", CreditsJson(c).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else if (o->markdown)
      std::printf("%s", CreditsMarkdown(c).c_str());
    else
      std::printf("%s", CreditsText(c).c_str());
  });
}

}  // namespace modelc
