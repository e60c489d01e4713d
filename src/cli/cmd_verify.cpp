// modelc verify MODEL.gguf --source DIR [--segment I --checkpoint PATH] [--json]
//
// Full check: rebuild the model from its source in a temporary folder and
// compare the bytes. Spot-check (--segment I): start from the publisher's
// checkpoint of hash-chain link I (checked against the chain first), re-run
// only the steps to link I+1 and compare the state hash with the chain.
// Exit status as diffoscope's: 0 identical, 1 different, 2 trouble.
//
// Signature check (--signature FILE --key PUB.pem): the DSSE envelope that
// `modelc sign` wrote must verify with the key, its payload must be a modelc
// provenance statement whose subject digest is the file's sha256 and whose
// source hash is the binary's modelc.source_hash. Exit 0 valid, 1 invalid,
// 2 trouble (a file or key that cannot be read, a malformed envelope).
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "compile/build.h"
#include "compile/checkpoint.h"
#include "compile/trainer.h"
#include "kernels/isa.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"
#include "source/dataset.h"
#include "source/recipe.h"
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

// What the published model says about itself.
struct Published {
  std::string source_hash, version, sha256;
  std::vector<ChainLink> chain;
};

Status ReadPublished(const std::string& path, Published* p) {
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

struct Outcome {
  int code = kTrouble;
  std::string verdict;  // one line
  nlohmann::ordered_json json;
};

void Emit(const VerifyOpts& o, const Outcome& r) {
  if (o.json) {
    nlohmann::ordered_json j = r.json;
    j["result"] = r.code == kIdentical ? "identical" : r.code == kDifferent ? "different" : "trouble";
    j["message"] = r.verdict;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", r.verdict.c_str());
  }
}

Outcome Trouble(const std::string& msg) {
  Outcome r;
  r.code = kTrouble;
  r.verdict = "trouble: " + msg;
  return r;
}

Outcome FullRebuild(const VerifyOpts& o, const Published& pub, const Recipe& r) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/modelc-verify-XXXXXX";
  if (!::mkdtemp(tmpl)) return Trouble("cannot create a temporary folder");
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
  ProgressPrinter printer(stderr, ::isatty(2));
  cb.on_start = [&](const Recipe& rr, const Dataset&) {
    if (!o.quiet)
      std::fprintf(stderr, "rebuilding %s from %s (%lld steps)\n", rr.model.name.c_str(), o.source.c_str(),
                   (long long)rr.train.steps);
  };
  cb.progress = [&](const StepInfo& s) {
    if (!o.quiet) printer.Update(s);
  };
  BuildSummary s;
  Status st = BuildModel(b, cb, &s);
  printer.Finish();
  if (!st.ok()) return Trouble(st.message());

  Outcome out;
  out.json["model"] = o.model;
  out.json["model_sha256"] = pub.sha256;
  out.json["rebuilt_sha256"] = s.sha256;
  if (s.sha256 == pub.sha256) {
    out.code = kIdentical;
    out.verdict = "identical: rebuilding " + o.source + " gives the same bytes (sha256 " + pub.sha256 + ")";
    return out;
  }
  out.code = kDifferent;
  out.verdict = "different: rebuilt sha256 " + s.sha256 + ", published " + pub.sha256;
  // Where did the runs part? Compare the hash chains.
  Published rebuilt;
  if (ReadPublished(b.output, &rebuilt).ok() && !pub.chain.empty()) {
    size_t i = 0;
    while (i < pub.chain.size() && i < rebuilt.chain.size() &&
           pub.chain[i].step == rebuilt.chain[i].step &&
           pub.chain[i].state_sha256 == rebuilt.chain[i].state_sha256)
      ++i;
    if (i == pub.chain.size() && i == rebuilt.chain.size()) {
      out.verdict += "; the training run agrees at every chain link, so the difference is in the file "
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

Outcome Segment(const VerifyOpts& o, const Published& pub, const Recipe& r) {
  namespace fs = std::filesystem;
  const int64_t I = o.segment;
  if (pub.chain.size() < 2) return Trouble(o.model + ": the model has no hash chain to spot-check");
  if (I < 0 || I + 1 >= (int64_t)pub.chain.size())
    return Trouble("--segment must be between 0 and " + std::to_string(pub.chain.size() - 2) + " for this model (" +
                   std::to_string(pub.chain.size()) + " chain links)");
  if (o.checkpoint.empty()) return Trouble("--segment needs --checkpoint (the state of link " + std::to_string(I) + ")");
  const ChainLink& from = pub.chain[I];
  const ChainLink& to = pub.chain[I + 1];
  std::error_code ec;
  const std::string path = fs::is_directory(o.checkpoint, ec) ? CheckpointPath(o.checkpoint, from.step) : o.checkpoint;
  TrainState state;
  std::string ck_source;
  Status st = ReadCheckpoint(path, &state, &ck_source);
  if (!st.ok()) return Trouble(st.message());
  // Trust nothing in the checkpoint that the chain does not vouch for.
  if (ck_source != pub.source_hash)
    return Trouble(path + ": checkpoint is for another source (" + ck_source.substr(0, 12) + ")");
  if (state.step != from.step)
    return Trouble(path + ": checkpoint is at step " + std::to_string(state.step) + ", link " + std::to_string(I) +
                   " is at step " + std::to_string(from.step));
  const std::string h = TrainStateHash(state);
  if (h != from.state_sha256)
    return Trouble(path + ": checkpoint state hash " + h + " is not the one chain link " + std::to_string(I) +
                   " records (" + from.state_sha256 + ")");
  state.chain.assign(pub.chain.begin(), pub.chain.begin() + I + 1);

  Dataset d;
  st = LoadDataset(r, &d);
  if (!st.ok()) return Trouble(st.message());
  if (state.tokens_per_source.size() != d.sources.size()) state.tokens_per_source.assign(d.sources.size(), 0);
  SetNumThreads(o.threads > 0 ? o.threads : omp_get_num_procs());
  if (!o.quiet)
    std::fprintf(stderr, "re-running steps %lld..%lld of %s (chain link %lld -> %lld)\n", (long long)from.step + 1,
                 (long long)to.step, r.model.name.c_str(), (long long)I, (long long)I + 1);
  ProgressPrinter printer(stderr, ::isatty(2));
  TrainControl c;
  c.resume = &state;
  c.stop_after = to.step;
  TrainResult t;
  st = Train(r, d, [&](const StepInfo& s) { if (!o.quiet) printer.Update(s); }, c, &t);
  printer.Finish();
  if (!st.ok()) return Trouble(st.message());
  if (t.chain.empty() || t.chain.back().step != to.step)
    return Trouble("internal error: the re-run did not end at a chain link");
  Outcome out;
  out.json["segment"] = I;
  out.json["from_step"] = from.step;
  out.json["to_step"] = to.step;
  out.json["expected_state_sha256"] = to.state_sha256;
  out.json["rebuilt_state_sha256"] = t.chain.back().state_sha256;
  const std::string range = "segment " + std::to_string(I) + " (steps " + std::to_string(from.step + 1) + ".." +
                            std::to_string(to.step) + ")";
  if (t.chain.back().state_sha256 == to.state_sha256) {
    out.code = kIdentical;
    out.verdict = "identical: " + range + " re-runs to the recorded state " + to.state_sha256;
    if (I + 2 == (int64_t)pub.chain.size()) {
      // The last link: the weights in the file must be the ones it ends with.
      LoadedModel m;
      st = LoadModelFile(o.model, &m);
      if (!st.ok()) return Trouble(st.message());
      const bool same = m.params.size() == t.params.size() &&
                        std::memcmp(m.params.data(), t.params.data(), t.params.size() * sizeof(float)) == 0;
      out.json["file_weights_match"] = same;
      if (same) {
        out.verdict += ", and the file holds exactly those weights";
      } else {
        out.code = kDifferent;
        out.verdict = "different: " + range + " re-runs to the recorded state, but the weights in " + o.model +
                      " are not that state's weights";
      }
    }
  } else {
    out.code = kDifferent;
    out.verdict = "different: " + range + " re-runs to state " + t.chain.back().state_sha256 + ", the chain records " +
                  to.state_sha256;
  }
  return out;
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
  Published pub;
  Status st = ReadPublished(o.model, &pub);
  if (!st.ok()) {
    PrintError(st.message());
    return kTrouble;
  }
  Recipe r;
  st = LoadRecipe(o.source, &r);
  if (st.ok()) st = CheckDataHashes(r);
  if (!st.ok()) {
    PrintError(st.message());
    return kTrouble;
  }
  if (pub.version != MODELC_VERSION)
    std::fprintf(stderr, "modelc: note: %s was built by modelc %s, this is %s; bytes may differ across versions\n",
                 o.model.c_str(), pub.version.c_str(), MODELC_VERSION);
  Outcome out;
  if (r.SourceHash() != pub.source_hash) {
    out.code = kDifferent;
    out.verdict = "different: " + o.source + " has source hash " + r.SourceHash() + ", the model was built from " +
                  pub.source_hash;
    out.json["source_hash"] = r.SourceHash();
    out.json["model_source_hash"] = pub.source_hash;
  } else {
    out = o.segment >= 0 ? Segment(o, pub, r) : FullRebuild(o, pub, r);
  }
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
