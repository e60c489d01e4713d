// modelc verify MODEL.gguf --source DIR [--segment I --checkpoint PATH] [--json]
//
// Full check (rebuild and compare the bytes) or spot-check (--segment I:
// re-run one link of the hash chain from a published checkpoint): the logic
// is compile/verify.h; this file checks the arguments and prints the
// outcome and the progress. Exit status as diffoscope's: 0 identical,
// 1 different, 2 trouble.
//
// Signature check (--signature FILE --key PUB.pem): the DSSE envelope that
// `modelc sign` wrote must verify with the key, its payload must be a modelc
// provenance statement whose subject digest is the file's sha256 and whose
// source hash is the binary's modelc.source_hash. Exit 0 valid, 1 invalid,
// 2 trouble (a file or key that cannot be read, a malformed envelope).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "compile/verify.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

namespace {

constexpr int kIdentical = 0, kDifferent = 1, kTrouble = 2;

struct VerifyOpts {
  std::string model, source, checkpoint;
  std::string signature, key;  // --signature mode
  int64_t segment = -1;
  int threads = 0;
  bool json = false, quiet = false;
};

void Emit(const VerifyOpts& o, const VerifyOutcome& r) {
  if (o.json) {
    nlohmann::ordered_json j = r.json;
    j["result"] = r.code == kIdentical ? "identical" : r.code == kDifferent ? "different" : "trouble";
    j["message"] = r.verdict;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", r.verdict.c_str());
  }
}

// --signature FILE --key PUB.pem: 0 valid, 1 invalid, 2 trouble.
int VerifySignature(const VerifyOpts& o) {
  auto report = [&](int code, const std::string& msg, nlohmann::ordered_json j = {}) {
    if (o.json) {
      j["result"] = code == kIdentical ? "valid" : code == kDifferent ? "invalid" : "trouble";
      j["message"] = msg;
      std::printf("%s\n", j.dump(2).c_str());
    } else if (code == kTrouble) {
      PrintError(msg);
    } else {
      std::printf("%s\n", msg.c_str());
    }
    return code;
  };
  if (!o.source.empty() || o.segment >= 0 || !o.checkpoint.empty())
    return report(kTrouble, "--signature checks a signature; it does not take --source, --segment or --checkpoint");
  if (o.key.empty()) return report(kTrouble, "--signature needs --key PUB.pem (the signer's Ed25519 public key)");
  Ed25519Key key;
  Status st = Ed25519Key::Load(o.key, /*allow_public=*/true, &key);
  if (!st.ok()) return report(kTrouble, st.message());
  std::string text;
  st = ReadFile(o.signature, &text);
  if (!st.ok()) return report(kTrouble, st.message());
  DsseEnvelope env;
  st = ParseDsseEnvelope(text, o.signature, &env);
  if (!st.ok()) return report(kTrouble, st.message());
  std::string sha;
  st = Sha256File(o.model, &sha);
  if (!st.ok()) return report(kTrouble, st.message());
  nlohmann::ordered_json j;
  j["model"] = o.model;
  j["model_sha256"] = sha;
  j["signature"] = o.signature;
  j["keyid"] = key.KeyId();
  if (env.payload_type != kInTotoPayloadType)
    return report(kDifferent, "invalid: " + o.signature + " has payloadType \"" + env.payload_type + "\", expected \"" +
                                  kInTotoPayloadType + "\"", j);
  const int good = DsseVerify(env, key);
  if (good < 0) {
    std::string why = "the signed statement or the signature was changed";
    bool other_key = true;
    for (const DsseSignature& s : env.signatures) other_key &= !s.keyid.empty() && s.keyid != key.KeyId();
    if (other_key) why = "it was signed with another key (key id " + env.signatures[0].keyid + ", " + o.key + " is " + key.KeyId() + ")";
    return report(kDifferent, "invalid: no signature in " + o.signature + " verifies with " + o.key + ": " + why, j);
  }
  ParsedStatement ps;
  st = ParseStatement(env.payload, o.signature + " (signed payload)", &ps);
  if (!st.ok()) return report(kDifferent, "invalid: " + st.message(), j);
  j["statement_subject_sha256"] = ps.subject_sha256;
  if (ps.subject_sha256 != sha)
    return report(kDifferent, "invalid: " + o.model + " has sha256 " + sha + ", but the signed statement is about sha256 " +
                                  ps.subject_sha256 + " (the binary was changed, or the signature is for another file)", j);
  StatementInputs in;
  st = StatementInputsFromModel(o.model, &in);
  if (!st.ok()) return report(kTrouble, st.message());
  j["source_hash"] = in.source_hash;
  if (ps.source_hash != in.source_hash)
    return report(kDifferent, "invalid: " + o.model + " records source hash " + in.source_hash +
                                  ", the signed statement states " + ps.source_hash, j);
  st = CheckStatementMatchesModel(ps, in, "the signed statement", o.model);
  if (!st.ok()) return report(kDifferent, "invalid: " + st.message(), j);
  return report(kIdentical, "valid: " + o.signature + " is a good Ed25519 signature (key id " + key.KeyId() + ") of the provenance of " +
                                o.model + " (sha256 " + sha + ", source hash " + in.source_hash + ")", j);
}

int Verify(const VerifyOpts& o) {
  if (!o.signature.empty()) return VerifySignature(o);
  if (o.source.empty()) {
    PrintError("verify needs --source DIR (rebuild and compare) or --signature FILE --key PUB.pem (check a signature)");
    return kTrouble;
  }
  if (!o.key.empty()) {
    PrintError("--key is only used with --signature FILE");
    return kTrouble;
  }
  if (!o.checkpoint.empty() && o.segment < 0) {
    PrintError("--checkpoint is only used with --segment I");
    return kTrouble;
  }
  VerifyOptions vo;
  vo.model = o.model;
  vo.source = o.source;
  vo.segment = o.segment;
  vo.checkpoint = o.checkpoint;
  vo.threads = o.threads;
  VerifyInputs in;
  Status st = LoadVerifyInputs(vo, &in);
  if (!st.ok()) {
    PrintError(st.message());
    return kTrouble;
  }
  if (in.published.version != MODELC_VERSION)
    std::fprintf(stderr, "modelc: note: %s was built by modelc %s, this is %s; bytes may differ across versions\n",
                 o.model.c_str(), in.published.version.c_str(), MODELC_VERSION);
  ProgressPrinter printer(stderr, ::isatty(2));
  VerifyCallbacks cb;
  cb.note = [&](const std::string& s) {
    if (!o.quiet) std::fprintf(stderr, "%s\n", s.c_str());
  };
  cb.progress = [&](const StepInfo& s) {
    if (!o.quiet) printer.Update(s);
  };
  cb.progress_done = [&] { printer.Finish(); };
  const VerifyOutcome out = VerifyAgainstSource(vo, in, cb);
  if (out.code == kTrouble && !o.json) {
    PrintError(out.verdict.substr(std::string("trouble: ").size()));
    return kTrouble;
  }
  Emit(o, out);
  return out.code;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "verify",
      "Check a model binary against its source: rebuild it and compare the bytes, or (--segment) "
      "re-run one link of its hash chain from a published checkpoint, or (--signature) check a signed "
      "provenance statement. Exit status: 0 identical/valid, 1 different/invalid, 2 trouble");
  auto o = std::make_shared<VerifyOpts>();
  cmd->add_option("MODEL", o->model, "Model binary (.gguf) to check")->required();
  cmd->add_option("--source", o->source, "Model source folder it claims to be built from (rebuild check)");
  cmd->add_option("--signature", o->signature,
                  "DSSE envelope from `modelc sign` to check (with --key) instead of rebuilding");
  cmd->add_option("--key", o->key, "Signer's Ed25519 public key, PEM (openssl pkey -in KEY.pem -pubout)");
  cmd->add_option("--segment", o->segment,
                  "Spot-check chain link I -> I+1 only (needs --checkpoint), instead of a full rebuild")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--checkpoint", o->checkpoint,
                  "Checkpoint of link I (a file, or a folder from `modelc checkpoint export`)");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores); never changes the result")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", o->json, "Print the result as one JSON object");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress output");
  cmd->callback([o, exit_code] { *exit_code = Verify(*o); });
}

}  // namespace modelc
