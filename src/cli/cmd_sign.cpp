// modelc sign MODEL.gguf --key KEY.pem [-o OUT] [--statement FILE] [--json]
//
// Wraps the model's provenance statement (in-toto Statement v1, SLSA
// Provenance v1; see provenance/statement.h) in a DSSE envelope signed with
// an Ed25519 key. The statement is the one `modelc build` wrote beside the
// binary (MODEL.gguf.intoto.json, or --statement FILE), checked against the
// binary first: its subject digest must be the binary's sha256 and the rest
// must be what the binary records. Without one, it is regenerated from the
// binary's embedded provenance (the statement is a pure function of the
// binary and SOURCE_DATE_EPOCH). Output: MODEL.gguf.dsse.json, atomically.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"
#include "util/atomic_file.h"

namespace modelc {

namespace {

struct SignOpts {
  std::string model, key, output, statement;
  bool json = false;
};

Status Sign(const SignOpts& o, nlohmann::ordered_json* report) {
  Ed25519Key key;
  MODELC_RETURN_IF_ERROR(Ed25519Key::Load(o.key, /*allow_public=*/false, &key));
  StatementInputs in;
  MODELC_RETURN_IF_ERROR(StatementInputsFromModel(o.model, &in));
  std::string statement_path = o.statement.empty() ? StatementPath(o.model) : o.statement;
  std::string payload;
  std::error_code ec;
  const bool have_file = std::filesystem::exists(statement_path, ec);
  if (!o.statement.empty() && !have_file) return Status::Error(o.statement + ": no such file");
  if (have_file) {
    MODELC_RETURN_IF_ERROR(ReadFile(statement_path, &payload));
    ParsedStatement st;
    MODELC_RETURN_IF_ERROR(ParseStatement(payload, statement_path, &st));
    Status m = CheckStatementMatchesModel(st, in, statement_path, o.model);
    if (!m.ok())
      return Status::Error("refusing to sign: " + m.message() +
                           (o.statement.empty() ? "; remove " + statement_path +
                                                      " to sign the statement regenerated from the binary"
                                                : ""));
  } else {
    MODELC_RETURN_IF_ERROR(SourceDateEpochFromEnv(&in.source_date_epoch));
    payload = StatementJson(in);
    statement_path.clear();
  }
  DsseEnvelope env;
  MODELC_RETURN_IF_ERROR(DsseSign(kInTotoPayloadType, payload, key, &env));
  const std::string out = o.output.empty() ? o.model + ".dsse.json" : o.output;
  MODELC_RETURN_IF_ERROR(WriteFileAtomic(out, DsseEnvelopeJson(env)));
  (*report)["model"] = o.model;
  (*report)["sha256"] = in.subject_sha256;
  (*report)["statement"] = statement_path.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(statement_path);
  (*report)["envelope"] = out;
  (*report)["keyid"] = env.signatures[0].keyid;
  return Status::OK();
}

}  // namespace

void AddSignCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "sign",
      "Sign a model's provenance statement (in-toto/SLSA) with an Ed25519 key into a DSSE envelope "
      "(check it with `modelc verify MODEL --signature FILE --key PUB.pem`)");
  auto o = std::make_shared<SignOpts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf) built by modelc")->required();
  cmd->add_option("--key", o->key,
                  "Ed25519 private key, PEM (make one: openssl genpkey -algorithm ed25519 -out KEY.pem)")
      ->required();
  cmd->add_option("-o,--output", o->output, "Envelope to write (default: MODEL.dsse.json)");
  cmd->add_option("--statement", o->statement,
                  "Statement to sign (default: MODEL.intoto.json if it exists, else regenerated from MODEL)");
  cmd->add_flag("--json", o->json, "Print the result as one JSON object");
  cmd->callback([o, exit_code] {
    nlohmann::ordered_json r;
    Status st = Sign(*o, &r);
    if (!st.ok()) {
      PrintError(st.message());
      *exit_code = 1;
      return;
    }
    if (o->json) {
      std::printf("%s\n", r.dump(2).c_str());
      return;
    }
    const std::string from = r["statement"].is_null() ? "the statement regenerated from the binary"
                                                      : r["statement"].get<std::string>();
    std::printf("signed %s (sha256 %s)\n  statement  %s\n  key id     %s\n  envelope   %s\n", o->model.c_str(),
                r["sha256"].get<std::string>().c_str(), from.c_str(), r["keyid"].get<std::string>().c_str(),
                r["envelope"].get<std::string>().c_str());
  });
}

}  // namespace modelc
