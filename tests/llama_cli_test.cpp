// End-to-end tests of family = "llama" through the modelc binary:
//  - the same bytes for 1, 2, 3 and 8 threads, every ISA, MPI ranks 2 and 3,
//    and after kill -9 and resume (the determinism tests of the gpt family);
//  - every command on a llama binary: inspect, run (threads and ISA do not
//    change the text), serve (a completion equals run's), quantize and run
//    the Q8_0 file, eval, verify, diff, credits, audit, report;
//  - fine-tuning a llama base ([base]), byte and BPE (a BPE fine-tune
//    encodes its data with the base's vocabulary).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_util.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;
using namespace testutil;
using nlohmann::json;

// GQA (2 query heads per kv head), an untied output, a head size of 8, and
// steps of a few milliseconds (so that a kill lands mid-run).
SourceSpec LlamaSpec() {
  SourceSpec s;
  s.name = "tiny-llama";
  s.family = "llama";
  s.arch_extra = "n_head_kv = 2\nffn_hidden = 96\nrope_theta = 5000.0\ntie_embeddings = false\n";
  s.n_layer = 2;
  s.n_head = 4;
  s.n_embd = 32;
  s.context = 48;
  s.steps = 40;
  s.batch_size = 8;
  s.micro_batch_size = 4;
  s.eval_every = 10;
  s.corpus_bytes = 40000;
  return s;
}

class LlamaCli : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string src_, ref_, ref_hash_;

  void SetUp() override {
    src_ = tmp_ / "src";
    WriteSource(src_, LlamaSpec());
    ref_ = tmp_ / "ref.gguf";
    Proc p = RunModelc({"build", src_, "-o", ref_, "-q", "--threads", "1"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    ref_hash_ = FileSha(ref_);
  }
  void ExpectSameBytes(const std::vector<std::string>& extra, const std::map<std::string, std::string>& env,
                       const std::string& what) {
    const std::string out = tmp_ / "o.gguf";
    std::vector<std::string> args = {"build", src_, "-o", out, "-q", "--force"};
    args.insert(args.end(), extra.begin(), extra.end());
    Proc p = RunModelc(args, env);
    ASSERT_TRUE(p.exited && p.code == 0) << what << "\n" << p;
    EXPECT_EQ(FileSha(out), ref_hash_) << what << " changed the llama binary";
  }
};

TEST_F(LlamaCli, SameBytesForThreadsIsasAndRanks) {
  for (const char* t : {"2", "3", "8"}) ExpectSameBytes({"--threads", t}, {}, std::string("--threads ") + t);
  for (const char* isa : {"scalar", "avx2", "avx512"})
    ExpectSameBytes({"--threads", "2"}, {{"MODELC_ISA", isa}}, std::string("MODELC_ISA=") + isa);
  if (std::string(MODELC_MPIRUN).empty()) return;  // built without MPI
  for (int np : {2, 3}) {
    const std::string out = tmp_ / ("np" + std::to_string(np) + ".gguf");
    Spawned sp = SpawnProgram(MODELC_MPIRUN, MpirunArgs(np, {"build", src_, "-o", out, "--threads", "1", "-q"}),
                              MpirunEnv());
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_EQ(FileSha(out), ref_hash_) << np << " MPI ranks changed the llama binary";
  }
}

TEST_F(LlamaCli, KillNineThenResumeGivesTheSameBytes) {
  const std::string out = tmp_ / "k.gguf";
  for (int k : {6, 24}) {
    Spawned sp = SpawnModelc({"build", src_, "-o", out, "--threads", "1", "--checkpoint-every", "3"});
    ASSERT_GT(sp.pid, 0);
    const bool seen = WaitForStderr(sp, "step " + std::to_string(k) + "/");
    if (seen) ::kill(sp.pid, SIGKILL);
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
    ASSERT_FALSE(p.exited) << "finished before the kill at step " << k << "\n" << p;
    EXPECT_FALSE(fs::exists(out));
  }
  Proc p = RunModelc({"build", src_, "-o", out, "--threads", "2"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.err, "resuming from step")) << p;
  EXPECT_EQ(FileSha(out), ref_hash_) << "resumed llama build differs";
}

TEST_F(LlamaCli, EveryCommandWorks) {
  // inspect
  Proc ins = RunModelc({"inspect", ref_, "--json"});
  ASSERT_TRUE(ins.exited && ins.code == 0) << ins;
  const json j = json::parse(ins.out);
  EXPECT_EQ(j["architecture"]["family"], "llama");
  EXPECT_EQ(j["architecture"]["n_head_kv"], 2);
  EXPECT_EQ(j["architecture"]["ffn_hidden"], 96);
  EXPECT_EQ(j["architecture"]["tie_embeddings"], false);
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(j["metadata"]["llama.attention.head_count_kv"], 2);
  EXPECT_EQ(j["metadata"]["llama.rope.dimension_count"], 8);
  EXPECT_EQ(j["metadata"]["llama.rope.freq_base"], 5000.0);
  bool has_output = false;
  for (const auto& t : j["tensors"]) has_output |= t["name"] == "output.weight";
  EXPECT_TRUE(has_output);

  // run: threads and ISA do not change the text
  const std::vector<std::string> run = {"run", ref_, "--prompt", "The ", "-n", "30", "--seed", "3", "--temperature", "1"};
  Proc r1 = RunModelc(run);
  ASSERT_TRUE(r1.exited && r1.code == 0) << r1;
  EXPECT_GE(r1.out.size(), 30u);
  auto r2args = run;
  r2args.insert(r2args.end(), {"--threads", "2"});
  EXPECT_EQ(RunModelc(r2args).out, r1.out);
  EXPECT_EQ(RunModelc(run, {{"MODELC_ISA", "scalar"}}).out, r1.out);

  // serve: a greedy completion is run's greedy text
  {
    Proc g = RunModelc({"run", ref_, "--prompt", "The ", "-n", "20", "--temperature", "0", "--json"});
    ASSERT_TRUE(g.exited && g.code == 0) << g;
    Spawned sv = SpawnModelc({"serve", ref_, "--port", "0", "--json", "-q"});
    std::string line;
    for (int i = 0; i < 5000 && line.empty(); ++i) {
      const std::string o = PeekFd(sv.out_fd);
      if (o.find('\n') != std::string::npos) line = o.substr(0, o.find('\n'));
      else ::usleep(2000);
    }
    ASSERT_FALSE(line.empty()) << "serve printed no start-up line: " << PeekFd(sv.err_fd);
    httplib::Client cli("127.0.0.1", json::parse(line)["port"].get<int>());
    auto res = cli.Post("/v1/completions", R"({"prompt": "The ", "max_tokens": 20, "temperature": 0})",
                        "application/json");
    ::kill(sv.pid, SIGTERM);
    WaitModelc(sv);
    ASSERT_TRUE(res) << "no HTTP response";
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(json::parse(res->body)["choices"][0]["text"], json::parse(g.out)["text"]) << res->body;
  }

  // quantize, twice the same bytes, and run the Q8_0 binary
  const std::string q1 = tmp_ / "q1.gguf", q2 = tmp_ / "q2.gguf";
  for (const auto& q : {q1, q2}) {
    Proc p = RunModelc({"quantize", ref_, q, "--type", "q8_0"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }
  EXPECT_EQ(FileSha(q1), FileSha(q2));
  auto qrun = run;
  qrun[1] = q1;
  Proc rq = RunModelc(qrun);
  ASSERT_TRUE(rq.exited && rq.code == 0) << rq;
  auto qrun2 = qrun;
  qrun2.insert(qrun2.end(), {"--threads", "2"});
  EXPECT_EQ(RunModelc(qrun2).out, rq.out);

  // eval: the validation loss through the engine, as recorded
  Proc ev = RunModelc({"eval", ref_, "--source", src_, "--json"});
  ASSERT_TRUE(ev.exited && ev.code == 0) << ev;
  const json e = json::parse(ev.out);
  EXPECT_TRUE(e.dump().find("val_loss") != std::string::npos) << ev.out;

  // verify (a rebuild), diff, credits, audit, report
  Proc v = RunModelc({"verify", ref_, "--source", src_, "-q", "--threads", "2"});
  EXPECT_TRUE(v.exited && v.code == 0) << v;
  Proc d0 = RunModelc({"diff", ref_, ref_});
  EXPECT_TRUE(d0.exited && d0.code == 0) << d0;
  Proc d1 = RunModelc({"diff", ref_, q1});
  EXPECT_TRUE(d1.exited && d1.code == 1) << d1;
  EXPECT_TRUE(Contains(d1.out, "blk.0.attn_q.weight")) << d1;
  Proc c = RunModelc({"credits", ref_});
  EXPECT_TRUE(c.exited && c.code == 0) << c;
  EXPECT_TRUE(Contains(c.out, kDataTitle)) << c;
  Proc a = RunModelc({"audit", ref_, "--source", src_});
  EXPECT_TRUE(a.exited) << a;
  EXPECT_TRUE(Contains(a.out, "llama: 2 layers, 4 heads (2 kv)")) << a;
  Proc rep = RunModelc({"report", ref_, "-o", tmp_ / "r.html"});
  EXPECT_TRUE(rep.exited && rep.code == 0) << rep;
  EXPECT_TRUE(Contains(Slurp(tmp_ / "r.html"), "llama")) << "report does not name the family";
}

TEST_F(LlamaCli, FineTuneFromALlamaBase) {
  // The fine-tune: same architecture, its own data, [base] pinned.
  SourceSpec s = LlamaSpec();
  s.name = "tiny-llama-ft";
  s.steps = 6;
  s.corpus_seed = 99;
  const std::string ft = tmp_ / "ft";
  WriteSource(ft, s);
  std::string toml = Slurp(ft + "/model.toml");
  toml += "\n[base]\npath = \"" + ref_ + "\"\nsha256 = \"" + ref_hash_ + "\"\n";
  WriteText(ft + "/model.toml", toml);
  Proc p = RunModelc({"build", ft, "-o", tmp_ / "ft.gguf", "-q", "--threads", "2"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  Proc ins = RunModelc({"inspect", tmp_ / "ft.gguf", "--json"});
  const json j = json::parse(ins.out);
  EXPECT_EQ(j["metadata"]["general.base_model.0.name"], "tiny-llama");
  // Another architecture is refused by name.
  std::string bad = toml;
  bad.replace(bad.find("ffn_hidden = 96"), 15, "ffn_hidden = 64");
  WriteText(ft + "/model.toml", bad);
  Proc q = RunModelc({"build", ft, "-o", tmp_ / "ft2.gguf", "-q"});
  EXPECT_TRUE(q.exited && q.code == 1) << q;
  EXPECT_TRUE(Contains(q.err, "ffn_hidden 64 here, 96 in the base")) << q;
}

TEST_F(LlamaCli, BpeFineTuneReusesTheBaseVocabulary) {
  // A BPE base, then a fine-tune on other text: its data is encoded with the
  // base's 320 tokens (a vocabulary trained on the new text would differ).
  SourceSpec s = LlamaSpec();
  s.name = "bpe-base";
  s.steps = 6;
  s.tokenizer = "kind = \"bpe\"\nvocab_size = 320\n";
  const std::string base = tmp_ / "bpe-base";
  WriteSource(base, s);
  Proc b = RunModelc({"build", base, "-o", tmp_ / "base.gguf", "-q", "--threads", "2"});
  ASSERT_TRUE(b.exited && b.code == 0) << b;
  s.name = "bpe-ft";
  s.corpus_seed = 1234;
  const std::string ft = tmp_ / "bpe-ft";
  WriteSource(ft, s);
  const std::string with_base = Slurp(ft + "/model.toml") + "\n[base]\npath = \"" + (tmp_ / "base.gguf") +
                                "\"\nsha256 = \"" + FileSha(tmp_ / "base.gguf") + "\"\n";
  WriteText(ft + "/model.toml", with_base);
  Proc f = RunModelc({"build", ft, "-o", tmp_ / "ft.gguf", "-q", "--threads", "2"});
  ASSERT_TRUE(f.exited && f.code == 0) << f;
  const json a = json::parse(RunModelc({"inspect", tmp_ / "base.gguf", "--json"}).out);
  const json c = json::parse(RunModelc({"inspect", tmp_ / "ft.gguf", "--json"}).out);
  EXPECT_EQ(a["metadata"]["tokenizer.ggml.tokens"], c["metadata"]["tokenizer.ggml.tokens"]);
  EXPECT_EQ(a["metadata"]["tokenizer.ggml.merges"], c["metadata"]["tokenizer.ggml.merges"]);
  // The fine-tune rebuilds to the same bytes (verify loads the base's vocabulary too).
  Proc v = RunModelc({"verify", tmp_ / "ft.gguf", "--source", ft, "-q", "--threads", "2"});
  EXPECT_TRUE(v.exited && v.code == 0) << v;
  // A vocab_size that is not the base's: one clear error.
  std::string bad = with_base;
  bad.replace(bad.find("vocab_size = 320"), 16, "vocab_size = 400");
  WriteText(ft + "/model.toml", bad);
  Proc e = RunModelc({"build", ft, "-o", tmp_ / "ft2.gguf", "-q"});
  EXPECT_TRUE(e.exited && e.code == 1) << e;
  EXPECT_TRUE(Contains(e.err, "vocab_size = 400, but the base model's vocabulary has 320 tokens")) << e;
}

}  // namespace
}  // namespace modelc
