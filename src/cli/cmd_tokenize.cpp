// modelc tokenize MODEL.gguf TEXT [--json]: the token ids modelc (and so
// llama.cpp, which reads the same tokenizer keys) gives a text.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "binary/model_file.h"
#include "cli/commands.h"
#include "runtime/tokenizer.h"

namespace modelc {

namespace {

struct TokenizeOpts {
  std::string model, text;
  bool json = false;
};

int Tokenize(const TokenizeOpts& o) {
  LoadedModel m;
  Status st = LoadModelFile(o.model, &m);
  Tokenizer tok;
  if (st.ok()) st = Tokenizer::FromModel(m, &tok);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  const std::vector<int> ids = tok.Encode(o.text);
  if (o.json) {
    nlohmann::ordered_json j;
    j["tokens"] = ids;
    // Each token's bytes; invalid UTF-8 (a token may hold part of a
    // character) is shown as U+FFFD.
    nlohmann::json pieces = nlohmann::json::array();
    for (int id : ids) pieces.push_back(tok.TokenBytes(id));
    j["pieces"] = pieces;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void AddTokenizeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text under a model's tokenizer");
  auto o = std::make_shared<TokenizeOpts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf)")->required();
  cmd->add_option("TEXT", o->text, "Text to tokenize")->required();
  cmd->add_flag("--json", o->json, "Print {\"tokens\": [...], \"pieces\": [...]}");
  cmd->callback([o, exit_code] { *exit_code = Tokenize(*o); });
}

}  // namespace modelc
