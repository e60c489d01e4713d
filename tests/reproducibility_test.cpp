// End-to-end checks of issue 4's promises on the real binary: kill -9 at any
// step and resume gives the same bytes; corrupt checkpoints are skipped;
// the up-to-date check; the hash chain in the binary; verify (full and one
// segment); checkpoint export.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "binary/gguf.h"
#include "cli_util.h"
#include "compile/checkpoint.h"

namespace modelc {
namespace {

using namespace testutil;
using nlohmann::json;

// A source whose steps take a few milliseconds each, so that a kill lands
// in the middle of the run.
SourceSpec ResumeSpec() {
  SourceSpec s;
  s.name = "resume";
  s.n_layer = 2;
  s.n_head = 2;
  s.n_embd = 48;
  s.context = 48;
  s.steps = 40;
  s.batch_size = 8;
  s.micro_batch_size = 4;
  s.eval_every = 10;
  s.corpus_bytes = 40000;
  return s;
}

class Repro : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string src_, ref_hash_;

  void SetUp() override {
    src_ = tmp_ / "src";
    WriteSource(src_, ResumeSpec());
    const std::string ref = tmp_ / "ref.gguf";
    Proc p = RunModelc({"build", src_, "-o", ref, "-q", "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    ref_hash_ = FileSha(ref);
    EXPECT_FALSE(fs::exists(tmp_ / "ref.build")) << "build folder left behind after success";
  }

  // Starts a build of src_ into `out` and kills it with SIGKILL once its
  // progress shows step `k` (it is killed somewhere at or after step k).
  void KillAt(const std::string& out, int k, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"build", src_, "-o", out, "--threads", "1", "--checkpoint-every", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    Spawned sp = SpawnModelc(args);
    ASSERT_GT(sp.pid, 0);
    const bool seen = WaitForStderr(sp, "step " + std::to_string(k) + "/");
    if (seen) ::kill(sp.pid, SIGKILL);
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
    ASSERT_FALSE(p.exited) << "build finished before it could be killed at step " << k << "\n" << p;
    ASSERT_EQ(p.signal, SIGKILL) << p;
    EXPECT_FALSE(fs::exists(out)) << "a killed build left an output file";
  }

  // Runs the build to completion and checks it resumed and gave the reference bytes.
  void ResumeAndCompare(const std::string& out, const std::string& must_say = "resuming from step") {
    Proc p = RunModelc({"build", src_, "-o", out, "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_TRUE(Contains(p.err, must_say)) << p;
    EXPECT_EQ(FileSha(out), ref_hash_) << "resumed build differs from an uninterrupted one\n" << p;
  }
};

TEST_F(Repro, KillNineAtSeveralStepsThenResumeGivesTheSameBytes) {
  for (int k : {2, 14, 26, 36}) {  // progress lines come every 2 steps
    SCOPED_TRACE("killed at step " + std::to_string(k));
    const std::string out = tmp_ / ("k" + std::to_string(k) + ".gguf");
    KillAt(out, k);
    ResumeAndCompare(out);
    EXPECT_FALSE(fs::exists(tmp_ / ("k" + std::to_string(k) + ".build"))) << "build folder left after success";
  }
  // Killed twice, resumed twice.
  const std::string out = tmp_ / "twice.gguf";
  KillAt(out, 8);
  KillAt(out, 24);
  ResumeAndCompare(out);
}

TEST_F(Repro, CorruptNewestCheckpointIsSkippedNotTrusted) {
  const std::string out = tmp_ / "c.gguf";
  KillAt(out, 20);
  const auto files = ListCheckpoints(tmp_ / "c.build");
  ASSERT_GE(files.size(), 2u);
  std::string bytes = Slurp(files.back());
  bytes[bytes.size() / 2] ^= 0x01;  // one bit, in the weights
  WriteText(files.back(), bytes);
  ResumeAndCompare(out, "checksum mismatch");
  // And a truncated newest file (as a full disk might leave with a
  // non-atomic writer).
  const std::string out2 = tmp_ / "t.gguf";
  KillAt(out2, 20);
  const auto files2 = ListCheckpoints(tmp_ / "t.build");
  ASSERT_GE(files2.size(), 2u);
  WriteText(files2.back(), Slurp(files2.back()).substr(0, 100));
  ResumeAndCompare(out2, "corrupt checkpoint");
}

TEST_F(Repro, UpToDateCheckAndForce) {
  const std::string out = tmp_ / "ref.gguf";
  const auto mtime = fs::last_write_time(out);
  Proc p = RunModelc({"build", src_, "-o", out});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "is up to date")) << p;
  EXPECT_TRUE(fs::last_write_time(out) == mtime) << "an up-to-date output was rewritten";
  p = RunModelc({"build", src_, "-o", out, "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const json j = json::parse(p.out, nullptr, false);
  EXPECT_EQ(j.value("up_to_date", false), true) << p.out;
  EXPECT_EQ(j.value("sha256", ""), ref_hash_);

  p = RunModelc({"build", src_, "-o", out, "--force", "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "built resume")) << p;
  EXPECT_EQ(FileSha(out), ref_hash_);

  // A changed source is not up to date.
  SourceSpec s = ResumeSpec();
  s.seed = 8;
  WriteSource(src_, s);
  p = RunModelc({"build", src_, "-o", out, "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "built resume")) << p;
  EXPECT_NE(FileSha(out), ref_hash_);
  // Neither is a file that is not a model (it is replaced).
  WriteText(out, "not a gguf");
  p = RunModelc({"build", src_, "-o", out, "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "built resume")) << p;
}

TEST_F(Repro, HashChainInTheBinaryFollowsTheDocumentedFormula) {
  std::unique_ptr<GgufFile> f;
  ASSERT_TRUE(GgufFile::Open(tmp_ / "ref.gguf", &f).ok());
  std::string text, source_hash;
  ASSERT_TRUE(f->GetString("modelc.hash_chain", &text).ok());
  ASSERT_TRUE(f->GetString("modelc.source_hash", &source_hash).ok());
  uint64_t every = 0;
  ASSERT_TRUE(f->GetU64("modelc.chain_every", &every).ok());
  EXPECT_EQ(every, 4u);  // default: steps / 10, rounded up
  std::vector<ChainLink> chain;
  ASSERT_TRUE(ChainFromJson(text, &chain).ok()) << text;
  ASSERT_EQ(chain.size(), 11u);
  std::string prev = source_hash;
  for (size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(chain[i].step, (int64_t)(4 * i));
    EXPECT_EQ(chain[i].chain_sha256, NextChainHash(prev, chain[i].step, chain[i].state_sha256)) << "link " << i;
    prev = chain[i].chain_sha256;
  }
}

TEST_F(Repro, VerifyFullRebuild) {
  const std::string model = tmp_ / "ref.gguf";
  Proc p = RunModelc({"verify", model, "--source", src_, "-q"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "identical")) << p;
  p = RunModelc({"verify", model, "--source", src_, "-q", "--json"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  json j = json::parse(p.out, nullptr, false);
  EXPECT_EQ(j.value("result", ""), "identical") << p.out;
  EXPECT_EQ(j.value("rebuilt_sha256", ""), ref_hash_);

  // One float of one tensor changed: different (exit 1), and the training
  // run itself agrees at every link.
  std::string bytes = Slurp(model);
  bytes[bytes.size() - 5] ^= 0x01;
  const std::string tampered = tmp_ / "tampered.gguf";
  WriteText(tampered, bytes);
  p = RunModelc({"verify", tampered, "--source", src_, "-q"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "different")) << p;
  EXPECT_TRUE(Contains(p.out, "every chain link")) << p;

  // Another source: different without rebuilding.
  SourceSpec s = ResumeSpec();
  s.seed = 9;
  const std::string other = tmp_ / "other";
  WriteSource(other, s);
  p = RunModelc({"verify", model, "--source", other});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "source hash")) << p;

  // Trouble: exit 2 with one clear error.
  p = RunModelc({"verify", tmp_ / "missing.gguf", "--source", src_});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "missing.gguf")) << p;
  p = RunModelc({"verify", model, "--source", tmp_ / "nowhere"});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
}

TEST_F(Repro, VerifyOneSegmentFromExportedCheckpoints) {
  const std::string model = tmp_ / "pub.gguf";
  Proc p = RunModelc({"build", src_, "-o", model, "-q", "--keep-checkpoints"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(model), ref_hash_) << "--keep-checkpoints changed the output";
  const std::string shipped = tmp_ / "shipped";
  p = RunModelc({"checkpoint", "export", model, shipped});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(ListCheckpoints(shipped).size(), 11u);
  p = RunModelc({"checkpoint", "list", model, "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  json j = json::parse(p.out, nullptr, false);
  ASSERT_TRUE(j.contains("links") && j["links"].size() == 11) << p.out;
  for (const auto& l : j["links"]) EXPECT_FALSE(l["checkpoint"].get<std::string>().empty()) << l;

  // Spot-check link 3 -> 4 (steps 13..16) from the shipped folder, and from one file.
  p = RunModelc({"verify", model, "--source", src_, "--segment", "3", "--checkpoint", shipped, "-q"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "identical: segment 3 (steps 13..16)")) << p;
  p = RunModelc({"verify", model, "--source", src_, "--segment", "9", "--checkpoint",
                 CheckpointPath(shipped, 36), "-q", "--json"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  j = json::parse(p.out, nullptr, false);
  EXPECT_EQ(j.value("result", ""), "identical") << p.out;
  EXPECT_EQ(j.value("file_weights_match", false), true) << p.out;  // the last segment ties the file to the chain
  {
    std::string w = Slurp(model);
    w[w.size() - 5] ^= 0x01;  // one weight bit
    const std::string bad = tmp_ / "badweights.gguf";
    WriteText(bad, w);
    p = RunModelc({"verify", bad, "--source", src_, "--segment", "9", "--checkpoint", shipped, "-q"});
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.out, "not that state's weights")) << p;
  }

  // A checkpoint that is not link 3's state is refused (trouble), never used.
  p = RunModelc({"verify", model, "--source", src_, "--segment", "3", "--checkpoint", CheckpointPath(shipped, 16)});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  EXPECT_TRUE(Contains(p.err, "step 16")) << p;

  // A binary whose chain records another state at link 4: different.
  std::unique_ptr<GgufFile> f;
  ASSERT_TRUE(GgufFile::Open(model, &f).ok());
  std::string text;
  ASSERT_TRUE(f->GetString("modelc.hash_chain", &text).ok());
  std::vector<ChainLink> chain;
  ASSERT_TRUE(ChainFromJson(text, &chain).ok());
  std::string bytes = Slurp(model);
  const std::string h = chain[4].state_sha256;
  const size_t pos = bytes.find(h);
  ASSERT_NE(pos, std::string::npos);
  bytes[pos] = h[0] == '0' ? '1' : '0';
  const std::string forged = tmp_ / "forged.gguf";
  WriteText(forged, bytes);
  p = RunModelc({"verify", forged, "--source", src_, "--segment", "3", "--checkpoint", shipped, "-q"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "different: segment 3")) << p;

  // Out-of-range segment and missing --checkpoint: trouble.
  p = RunModelc({"verify", model, "--source", src_, "--segment", "10", "--checkpoint", shipped});
  EXPECT_TRUE(p.exited && p.code == 2) << p;
  p = RunModelc({"verify", model, "--source", src_, "--segment", "1"});
  EXPECT_TRUE(p.exited && p.code == 2) << p;

  // Without --keep-checkpoints there is nothing to export.
  p = RunModelc({"checkpoint", "export", tmp_ / "ref.gguf", tmp_ / "none"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "--keep-checkpoints")) << p;
}

}  // namespace
}  // namespace modelc
