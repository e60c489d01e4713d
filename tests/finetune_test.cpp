// Fine-tuning ([base] in model.toml): training starts from the base's
// weights, the output records the base (keys, credits, licence chain,
// statement), the reproducibility guarantees hold (threads, kill/resume,
// MPI, verify), and every way a base can be wrong is a clear error.
#include <gtest/gtest.h>

#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "cli_util.h"
#include "compile/checkpoint.h"
#include "provenance/credits.h"

namespace modelc {
namespace {

using namespace testutil;

std::string Meta(const std::string& path, const std::string& key) {
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::Open(path, &f);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return "";
  const GgufValue* v = f->Find(key);
  if (!v) return "<absent>";
  return v->type() == gguf_type::kString ? v->AsString() : v->ToDisplayString();
}

class FineTune : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string base_, ft_;  // base binary, fine-tune source folder

  // Builds the base model (licence `base_licence`) at tmp/base.gguf.
  void BuildBase(const std::string& base_licence = "MIT") {
    SourceSpec s;
    s.name = "tiny-base";
    s.license = base_licence;
    s.steps = 16;
    WriteSource(tmp_ / "base-src", s);
    base_ = tmp_ / "base.gguf";
    Proc p = RunModelc({"build", tmp_ / "base-src", "-o", base_, "-q", "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }

  // Writes the fine-tune source: other text, [base] path = "../base.gguf".
  // `base_extra` goes into [base]; `spec` may change the architecture.
  void WriteFineTune(SourceSpec s = {}, const std::string& base_extra = "", bool pin = true,
                     const std::string& dir = "ft", const std::string& base_rel = "../base.gguf") {
    s.name = s.name == "tiny-cli" ? "tiny-ft" : s.name;
    if (s.steps == SourceSpec{}.steps) s.steps = 9;
    s.corpus_seed = 99;
    s.eval_every = 3;
    ft_ = tmp_ / dir;
    WriteText(ft_ + "/corpus.txt", MakeCorpus(s.corpus_seed, s.corpus_bytes));
    WriteText(ft_ + "/model.toml", ModelToml(s, "", "\n[base]\npath = \"" + base_rel + "\"\n" + base_extra));
    if (!pin) return;
    Proc p = RunModelc({"build", "--pin", ft_});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_TRUE(Contains(p.out, "pinned " + base_rel + " ")) << p;
  }

  Proc Build(const std::string& out, const std::vector<std::string>& extra = {"--threads", "2"}) {
    std::vector<std::string> a = {"build", ft_, "-o", out, "-q"};
    a.insert(a.end(), extra.begin(), extra.end());
    return RunModelc(a);
  }
};

TEST_F(FineTune, StartsFromTheBaseWeightsAndRecordsTheBase) {
  BuildBase();
  WriteFineTune();
  const std::string toml = Slurp(ft_ + "/model.toml");
  EXPECT_TRUE(Contains(toml, "sha256 = \"" + FileSha(base_) + "\"")) << "--pin pins the base\n" << toml;
  const std::string out = tmp_ / "ft.gguf";
  Proc p = Build(out);
  ASSERT_TRUE(p.exited && p.code == 0) << p;

  // Link 0 of the hash chain is the start state: the base's weights, zero moments.
  LoadedModel base;
  ASSERT_TRUE(LoadModelFile(base_, &base).ok());
  TrainState start;
  start.params = base.params;
  start.m.assign(base.params.size(), 0.0f);
  start.v.assign(base.params.size(), 0.0f);
  std::vector<ChainLink> chain;
  ASSERT_TRUE(ChainFromJson(Meta(out, "modelc.hash_chain"), &chain).ok());
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(chain[0].step, 0);
  EXPECT_EQ(chain[0].state_sha256, TrainStateHash(start)) << "training did not start from the base weights";
  LoadedModel ft;
  ASSERT_TRUE(LoadModelFile(out, &ft).ok());
  EXPECT_NE(ft.params, base.params) << "the fine-tune trained";

  // What the output records.
  EXPECT_EQ(Meta(out, "general.base_model.count"), "1");
  EXPECT_EQ(Meta(out, "general.base_model.0.name"), "tiny-base");
  EXPECT_EQ(Meta(out, "general.base_model.0.author"), "cli_test");
  EXPECT_EQ(Meta(out, "modelc.base_model.0.sha256"), FileSha(base_));
  EXPECT_EQ(Meta(out, "modelc.base_model.0.source_hash"), Meta(base_, "modelc.source_hash"));
  EXPECT_EQ(Meta(out, "modelc.base_model.0.license"), "MIT");
  EXPECT_TRUE(Contains(Meta(out, "modelc.recipe"), "\"base\":{\"path\":\"../base.gguf\",\"sha256\":\"" + FileSha(base_)))
      << "the base's hash is part of the source";

  // Credits: this build's source and the base's, with exact token counts.
  Credits c;
  ASSERT_TRUE(CreditsFromFile(out, &c).ok());
  ASSERT_EQ(c.rows.size(), 2u);
  ASSERT_EQ(c.bases.size(), 1u);
  EXPECT_EQ(c.bases[0].name, "tiny-base");
  EXPECT_EQ(c.bases[0].sha256, FileSha(base_));
  const uint64_t base_tokens = 16 * 4 * 32, ft_tokens = 9 * 4 * 32;
  EXPECT_EQ(c.total_tokens, base_tokens + ft_tokens);
  EXPECT_EQ(c.rows[0].tokens_used, base_tokens);
  EXPECT_EQ(c.rows[0].via_base, std::vector<std::string>{"tiny-base"});
  EXPECT_EQ(c.rows[1].tokens_used, ft_tokens);
  EXPECT_TRUE(c.rows[1].via_base.empty());
  p = RunModelc({"credits", out});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "fine-tuned from tiny-base (MIT), sha256 " + FileSha(base_))) << p;
  EXPECT_TRUE(Contains(p.out, "from     base model tiny-base")) << p;
  p = RunModelc({"inspect", out});
  EXPECT_TRUE(Contains(p.out, "base model   tiny-base (MIT), sha256 " + FileSha(base_))) << p;

  // The provenance statement lists the base as a resolved dependency.
  const std::string st = Slurp(out + ".intoto.json");
  EXPECT_TRUE(Contains(st, "\"sha256\": \"" + FileSha(base_) + "\"")) << st;
  EXPECT_TRUE(Contains(st, "\"role\": \"base model\"")) << st;

  // Same bytes on one thread, and verify rebuilds it.
  const std::string out1 = tmp_ / "ft1.gguf";
  p = Build(out1, {"--threads", "1"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(out1), FileSha(out));
  p = RunModelc({"verify", out, "--source", ft_, "--threads", "2"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
}

TEST_F(FineTune, KillAndResumeGiveTheSameBytes) {
  BuildBase();
  SourceSpec s;
  s.steps = 40;
  WriteFineTune(s);
  const std::string ref = tmp_ / "ref.gguf";
  Proc p = Build(ref);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  for (int k : {3, 17}) {
    SCOPED_TRACE("killed at step " + std::to_string(k));
    const std::string out = tmp_ / ("k" + std::to_string(k) + ".gguf");
    Spawned sp = SpawnModelc({"build", ft_, "-o", out, "--threads", "1", "--checkpoint-every", "1"});
    ASSERT_GT(sp.pid, 0);
    // Progress lines are rate-limited: any step from k on.
    const bool seen = WaitForStderr(sp, k == 3 ? "step ([3-9]|[1-2][0-9])/" : "step (1[7-9]|2[0-9])/");
    if (seen) ::kill(sp.pid, SIGKILL);
    p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
    ASSERT_FALSE(p.exited) << "finished before it was killed\n" << p;
    p = RunModelc({"build", ft_, "-o", out, "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_TRUE(Contains(p.err, "resuming from step")) << p;
    EXPECT_EQ(FileSha(out), FileSha(ref)) << "a resumed fine-tune differs from an uninterrupted one";
  }
}

TEST_F(FineTune, TwoMpiRanksGiveTheSameBytes) {
  if (std::string(MODELC_MPIRUN).empty()) GTEST_SKIP() << "modelc was built without MPI";
  BuildBase();
  WriteFineTune();
  const std::string ref = tmp_ / "ref.gguf", out = tmp_ / "np2.gguf";
  Proc p = Build(ref);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  Spawned sp = SpawnProgram(MODELC_MPIRUN,
                            {"--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "btl", "self,vader",
                             MODELC_BIN, "build", ft_, "-o", out, "-q", "--threads", "1"},
                            {{"OMPI_MCA_rmaps_base_oversubscribe", "1"}, {"OMP_WAIT_POLICY", "passive"}});
  p = WaitModelc(sp);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(out), FileSha(ref));
}

TEST_F(FineTune, BaseErrors) {
  BuildBase();
  const std::string out = tmp_ / "x.gguf";
  // Another architecture.
  {
    SourceSpec s;
    s.n_embd = 64;
    s.context = 16;
    WriteFineTune(s);
    Proc p = Build(out);
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.err, ft_ + "/model.toml:")) << p;
    EXPECT_TRUE(Contains(p.err, "[base] (../base.gguf): [architecture] differs from the base model's: "
                                "n_embd 64 here, 32 in the base, context 16 here, 32 in the base")) << p;
    EXPECT_FALSE(fs::exists(out));
  }
  // Not pinned, then pinned to the wrong hash.
  {
    WriteFineTune({}, "", /*pin=*/false);
    Proc p = Build(out);
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.err, "[base] (../base.gguf): no sha256 pinned; actual sha256 is " + FileSha(base_))) << p;
    WriteFineTune({}, "sha256 = \"" + std::string(64, '0') + "\"\n", false);
    p = Build(out);
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.err, "sha256 mismatch: model.toml pins " + std::string(64, '0') + ", the base model has " +
                                FileSha(base_))) << p;
  }
  // Missing file, unknown key, quantized base.
  {
    WriteFineTune({}, "", false, "ft", "../nope.gguf");
    Proc p = Build(out);
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.err, "[base] path: base model not found: " + tmp_.path() + "/nope.gguf")) << p;
    WriteFineTune({}, "url = \"https://example.invalid\"\n", false);
    p = Build(out);
    EXPECT_TRUE(Contains(p.err, "[base] url: unknown key")) << p;
    p = RunModelc({"quantize", base_, tmp_ / "q.gguf", "--type", "q8_0"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    WriteFineTune({}, "", true, "ft", "../q.gguf");
    p = Build(out);
    EXPECT_TRUE(p.exited && p.code == 1) << p;
    EXPECT_TRUE(Contains(p.err, "the base model is quantized")) << p;
  }
}

TEST_F(FineTune, LicenceOfTheBaseIsChecked) {
  BuildBase("CC-BY-NC-4.0");  // its data is CC0-1.0; the model itself is NonCommercial
  WriteFineTune();            // the fine-tune is MIT
  const std::string out = tmp_ / "ft.gguf";
  Proc p = Build(out);
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "[base] (../base.gguf): licence conflict: base model 'tiny-base' is licensed "
                              "\"CC-BY-NC-4.0\" and the model \"MIT\"")) << p;
  EXPECT_TRUE(Contains(p.err, "add license_acknowledgement = \"<why this use is allowed>\" to [base]")) << p;
  WriteFineTune({}, "license_acknowledgement = \"The base's authors relicensed it to us under MIT\"\n");
  p = Build(out);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(Meta(out, "modelc.base_model.0.license_acknowledgement"), "The base's authors relicensed it to us under MIT");
  p = RunModelc({"credits", out});
  EXPECT_TRUE(Contains(p.out, "licence acknowledgement: The base's authors relicensed it to us under MIT")) << p;
}

TEST_F(FineTune, AFineTuneOfAFineTuneCreditsTheWholeChain) {
  BuildBase();
  WriteFineTune();
  const std::string mid = tmp_ / "mid.gguf";
  Proc p = Build(mid);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  SourceSpec s;
  s.name = "tiny-top";
  WriteFineTune(s, "", true, "top", "../mid.gguf");
  const std::string top = tmp_ / "top.gguf";
  p = Build(top);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  Credits c;
  ASSERT_TRUE(CreditsFromFile(top, &c).ok());
  ASSERT_EQ(c.bases.size(), 2u);
  EXPECT_EQ(c.bases[0].name, "tiny-ft");
  EXPECT_EQ(c.bases[0].sha256, FileSha(mid));
  EXPECT_EQ(c.bases[1].name, "tiny-base");
  EXPECT_EQ(c.bases[1].sha256, FileSha(base_));
  ASSERT_EQ(c.rows.size(), 3u);
  EXPECT_EQ(c.rows[0].via_base, (std::vector<std::string>{"tiny-ft", "tiny-base"}));
  EXPECT_EQ(c.total_tokens, (uint64_t)(16 + 9 + 9) * 4 * 32);
  p = RunModelc({"credits", top});
  EXPECT_TRUE(Contains(p.out, "which is fine-tuned from tiny-base (MIT)")) << p;
  EXPECT_TRUE(Contains(p.out, "from     base model tiny-base (via tiny-ft)")) << p;
}

}  // namespace
}  // namespace modelc
