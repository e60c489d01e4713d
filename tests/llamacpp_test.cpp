// llama.cpp runs modelc binaries: loads them through node-llama-cpp (its
// prebuilt CPU build of llama.cpp, installed by scripts/setup into
// tests/llamacpp/node_modules) and checks that llama.cpp tokenizes like
// `modelc tokenize` and that its greedy continuation of several prompts
// equals `modelc run --temperature 0`, token for token: byte and BPE
// tokenizers, f32 and q8_0 (`modelc quantize`) weights.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace modelc {
namespace testutil {
namespace {

const std::string kScriptDir = std::string(MODELC_SOURCE_DIR) + "/tests/llamacpp";

// Runs tests/llamacpp/llamacpp.mjs with `args`; returns its JSON output.
nlohmann::json LlamaCpp(const std::vector<std::string>& args) {
#ifdef MODELC_NODE_BIN
  const std::string node = MODELC_NODE_BIN;  // the Node.js CMake found or was given
#else
  const std::string node = "node";  // from PATH
#endif
  std::vector<std::string> a = {node, kScriptDir + "/llamacpp.mjs"};
  a.insert(a.end(), args.begin(), args.end());
  Spawned sp = SpawnProgram("/usr/bin/env", a, {});
  Proc p = WaitModelc(sp);
  EXPECT_TRUE(p.exited && p.code == 0) << "node llamacpp.mjs failed:\n" << p;
  if (!(p.exited && p.code == 0)) return nlohmann::json();
  return nlohmann::json::parse(p.out);
}

std::string Js(const std::string& s) { return nlohmann::json(s).dump(); }

class LlamaCppTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(kScriptDir + "/node_modules/node-llama-cpp"))
        << "node-llama-cpp is not installed: run ./scripts/setup (npm ci in tests/llamacpp)";
    dir_ = new TempDir();
    SourceSpec s;
    s.name = "llamacpp-byte";
    s.n_layer = 2;
    s.n_head = 2;
    s.n_embd = 48;
    s.context = 96;
    s.steps = 120;
    s.batch_size = 8;
    s.micro_batch_size = 4;
    s.learning_rate = "0.01";
    s.eval_every = 60;
    s.corpus_bytes = 60000;
    WriteSource(dir_->path() + "/src", s);
    Proc p = RunModelc({"build", dir_->path() + "/src", "-o", Model("byte.gguf")});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    // The same source with a 400-token BPE vocabulary trained by the build.
    const std::string bpe = dir_->path() + "/src-bpe";
    fs::create_directories(bpe);
    fs::copy_file(dir_->path() + "/src/corpus.txt", bpe + "/corpus.txt");
    std::string toml = Slurp(dir_->path() + "/src/model.toml");
    const std::string kind = "kind = \"byte\"\n";
    ASSERT_NE(toml.find(kind), std::string::npos);
    toml.replace(toml.find(kind), kind.size(), "kind = \"bpe\"\nvocab_size = 400\n");
    WriteText(bpe + "/model.toml", toml);
    p = RunModelc({"build", bpe, "-o", Model("bpe.gguf")});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    // The same two sources as llama models.
    for (const char* m : {"src", "src-bpe"}) {
      const std::string from = dir_->path() + "/" + m, to = from + "-llama";
      fs::create_directories(to);
      fs::copy_file(from + "/corpus.txt", to + "/corpus.txt");
      std::string t = Slurp(from + "/model.toml");
      const std::string fam = "family = \"gpt\"\n";
      ASSERT_NE(t.find(fam), std::string::npos);
      t.replace(t.find(fam), fam.size(),
                "family = \"llama\"\nn_head_kv = 1\nffn_hidden = 128\ntie_embeddings = false\n");
      t.replace(t.find("n_head = 2"), 10, "n_head = 4");
      WriteText(to + "/model.toml", t);
      p = RunModelc({"build", to, "-o", Model(std::string(m) == "src" ? "llama-byte.gguf" : "llama-bpe.gguf")});
      ASSERT_TRUE(p.exited && p.code == 0) << p;
    }
    for (const char* m : {"byte", "bpe", "llama-byte", "llama-bpe"}) {
      p = RunModelc({"quantize", Model(std::string(m) + ".gguf"), Model(std::string(m) + "-q8_0.gguf"),
                     "--type", "q8_0"});
      ASSERT_TRUE(p.exited && p.code == 0) << p;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Model(const std::string& name) { return dir_->path() + "/" + name; }

  // llama.cpp's tokens for each text equal modelc's.
  static void ExpectSameTokenization(const std::string& model, const std::vector<std::string>& texts) {
    std::vector<std::string> args = {model, "--tokenize"};
    for (const auto& t : texts) args.push_back(Js(t));
    const nlohmann::json j = LlamaCpp(args);
    ASSERT_TRUE(j.contains("tokens")) << j.dump();
    ASSERT_EQ(j["tokens"].size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      Proc p = RunModelc({"tokenize", model, texts[i], "--json"});
      ASSERT_TRUE(p.exited && p.code == 0) << p;
      const auto mine = nlohmann::json::parse(p.out)["tokens"].get<std::vector<int>>();
      EXPECT_EQ(j["tokens"][i].get<std::vector<int>>(), mine) << "text " << Js(texts[i]);
    }
  }

  // llama.cpp's greedy continuation (n tokens) of each prompt equals modelc's.
  static void ExpectSameGreedy(const std::string& model, const std::vector<std::string>& prompts, int n) {
    std::vector<std::string> args = {model, "--greedy", std::to_string(n)};
    for (const auto& prompt : prompts) args.push_back(Js(prompt));
    const nlohmann::json all = LlamaCpp(args);
    ASSERT_TRUE(all.contains("results") && all["results"].size() == prompts.size()) << all.dump();
    for (size_t i = 0; i < prompts.size(); ++i) {
      const std::string& prompt = prompts[i];
      const nlohmann::json& l = all["results"][i];
      ASSERT_TRUE(l.contains("tokens")) << l.dump();
      Proc p = RunModelc({"run", model, "--prompt", prompt, "-n", std::to_string(n),
                          "--temperature", "0", "--json"});
      ASSERT_TRUE(p.exited && p.code == 0) << p;
      const nlohmann::json m = nlohmann::json::parse(p.out);
      EXPECT_EQ(l["prompt_tokens"].get<std::vector<int>>(), m["prompt_tokens"].get<std::vector<int>>())
          << "prompt " << Js(prompt);
      const auto lt = l["tokens"].get<std::vector<int>>(), mt = m["tokens"].get<std::vector<int>>();
      ASSERT_EQ((int)mt.size(), n) << p;
      EXPECT_EQ(lt, mt) << "prompt " << Js(prompt) << "\nllama.cpp: " << l["text"].dump()
                        << "\nmodelc:    " << m["text"].dump();
    }
  }

  static TempDir* dir_;
};

TempDir* LlamaCppTest::dir_ = nullptr;

const std::vector<std::string> kTexts = {
    "The cat sat on the mat.", "don't they'll we've 123 4567 89",
    "  two  spaces\tand\ttabs\nand\n\nnewlines ", "naïve café — 日本語 ünïcödé ✓",
    "MixedCASE words, punctuation!? (parens) [brackets] {braces} \"quotes\""};
const std::vector<std::string> kPrompts = {"The ", "A man ", "and then\n", "It is a "};

TEST_F(LlamaCppTest, ByteModelTokenizesLikeModelc) { ExpectSameTokenization(Model("byte.gguf"), kTexts); }

TEST_F(LlamaCppTest, BpeModelTokenizesLikeModelc) {
  ExpectSameTokenization(Model("bpe.gguf"), kTexts);
  // Text of the kind it was trained on, where many merges apply.
  ExpectSameTokenization(Model("bpe.gguf"), {MakeCorpus(99, 2000), MakeCorpus(5, 300) + " 2024 x1 ''s"});
}

TEST_F(LlamaCppTest, LlamaModelsTokenizeLikeModelc) {
  ExpectSameTokenization(Model("llama-byte.gguf"), kTexts);
  ExpectSameTokenization(Model("llama-bpe.gguf"), kTexts);
}

TEST_F(LlamaCppTest, GreedyContinuationEqualsModelc) {
  for (const char* m : {"byte.gguf", "bpe.gguf", "byte-q8_0.gguf", "bpe-q8_0.gguf", "llama-byte.gguf",
                        "llama-bpe.gguf", "llama-byte-q8_0.gguf", "llama-bpe-q8_0.gguf"}) {
    SCOPED_TRACE(m);
    ExpectSameGreedy(Model(m), kPrompts, 40);
  }
}

}  // namespace
}  // namespace testutil
}  // namespace modelc
