#include "source/recipe.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/recipe_test_XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return fs::path(tmpl).lexically_normal().string();
}

void Write(const std::string& path, const std::string& contents) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << contents;
}

std::string Slurp(const std::string& path) {
  std::string s;
  EXPECT_TRUE(ReadFile(path, &s).ok());
  return s;
}

const char kTrainText[] = "the quick brown fox jumps over the lazy dog\n";
const char kValText[] = "pack my box with five dozen liquor jugs\n";

class RecipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Write(dir_ + "/data/train.txt", kTrainText);
    Write(dir_ + "/val.txt", kValText);
    train_sha_ = Sha256Hex(std::string(kTrainText));
    val_sha_ = Sha256Hex(std::string(kValText));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Toml() const { return dir_ + "/model.toml"; }
  void WriteToml(const std::string& s) { Write(Toml(), s); }

  // A minimal valid file with `extra_train` appended to [train].
  std::string Minimal(const std::string& arch = "n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                      const std::string& train = "steps = 10\nbatch_size = 4\nlearning_rate = 0.001\n",
                      const std::string& data_extra = "") const {
    return "[model]\nname = \"m\"\nlicense = \"MIT\"\n\n[architecture]\n" + arch +
           "\n[[data]]\npath = \"data/train.txt\"\nsha256 = \"" + train_sha_ + "\"\n" + data_extra +
           "\n[[data]]\npath = \"val.txt\"\nsha256 = \"" + val_sha_ + "\"\nsplit = \"val\"\n\n[train]\n" + train;
  }

  // Loads and expects an error; returns the message.
  std::string LoadError(const std::string& toml) {
    WriteToml(toml);
    Recipe r;
    Status st = LoadRecipe(dir_, &r);
    EXPECT_FALSE(st.ok()) << toml;
    return st.message();
  }

  std::string dir_, train_sha_, val_sha_;
};

TEST_F(RecipeTest, ParsesFullFile) {
  WriteToml(R"(# A full model source.
[model]
name = "tiny"
description = "a tiny model"
license = "Apache-2.0"
authors = ["Ada", "Bob"]

[architecture]
family = "gpt"
n_layer = 4
n_head = 4
n_embd = 64
context = 128

[tokenizer]
kind = "byte"

[[data]]
path = "data/train.txt"
sha256 = ")" + train_sha_ + R"("
title = "Fox"
author = "Anon"
license = "CC0-1.0"
source_url = "https://example.com/fox"
split = "train"

[[data]]
path = "val.txt"
sha256 = ")" + val_sha_ + R"("
split = 0.25

[train]
steps = 1000
batch_size = 32
micro_batch_size = 8
learning_rate = 3e-4
warmup_steps = 100
lr_schedule = "constant"
min_lr = 0
weight_decay = 0.1
beta1 = 0.8
beta2 = 0.99
eps = 1e-6
grad_clip = 0.5
seed = 42
eval_every = 50
eval_batches = 4
)");
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.dir, fs::path(dir_).lexically_normal().string());
  EXPECT_EQ(r.toml_path, r.dir + "/model.toml");
  EXPECT_EQ(r.model.name, "tiny");
  EXPECT_EQ(r.model.description, "a tiny model");
  EXPECT_EQ(r.model.license, "Apache-2.0");
  ASSERT_EQ(r.model.authors.size(), 2u);
  EXPECT_EQ(r.model.authors[1], "Bob");
  EXPECT_EQ(r.arch.family, "gpt");
  EXPECT_EQ(r.arch.n_layer, 4);
  EXPECT_EQ(r.arch.n_head, 4);
  EXPECT_EQ(r.arch.n_embd, 64);
  EXPECT_EQ(r.arch.context, 128);
  EXPECT_EQ(r.tokenizer.kind, "byte");
  ASSERT_EQ(r.data.size(), 2u);
  EXPECT_EQ(r.data[0].path, "data/train.txt");
  EXPECT_EQ(r.data[0].resolved, r.dir + "/data/train.txt");
  EXPECT_EQ(r.data[0].sha256, train_sha_);
  EXPECT_EQ(r.data[0].title, "Fox");
  EXPECT_EQ(r.data[0].author, "Anon");
  EXPECT_EQ(r.data[0].license, "CC0-1.0");
  EXPECT_EQ(r.data[0].source_url, "https://example.com/fox");
  EXPECT_EQ(r.data[0].split, "train");
  EXPECT_FALSE(r.data[0].split_is_fraction);
  EXPECT_EQ(r.data[0].line, 18);
  EXPECT_TRUE(r.data[1].split_is_fraction);
  EXPECT_DOUBLE_EQ(r.data[1].val_fraction, 0.25);
  EXPECT_EQ(r.train.steps, 1000);
  EXPECT_EQ(r.train.batch_size, 32);
  EXPECT_EQ(r.train.micro_batch_size, 8);
  EXPECT_DOUBLE_EQ(r.train.learning_rate, 3e-4);
  EXPECT_EQ(r.train.warmup_steps, 100);
  EXPECT_EQ(r.train.lr_schedule, "constant");
  EXPECT_DOUBLE_EQ(r.train.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(r.train.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(r.train.beta1, 0.8);
  EXPECT_DOUBLE_EQ(r.train.beta2, 0.99);
  EXPECT_DOUBLE_EQ(r.train.eps, 1e-6);
  EXPECT_DOUBLE_EQ(r.train.grad_clip, 0.5);
  EXPECT_EQ(r.train.seed, 42u);
  EXPECT_EQ(r.train.eval_every, 50);
  EXPECT_EQ(r.train.eval_batches, 4);
  EXPECT_TRUE(CheckDataHashes(r).ok());
}

TEST_F(RecipeTest, Defaults) {
  WriteToml(Minimal());
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.model.description, "");
  EXPECT_TRUE(r.model.authors.empty());
  EXPECT_EQ(r.arch.family, "gpt");
  EXPECT_EQ(r.tokenizer.kind, "byte");
  EXPECT_EQ(r.data[0].split, "train");
  EXPECT_EQ(r.data[1].split, "val");
  EXPECT_EQ(r.train.micro_batch_size, 4);  // defaults to batch_size
  EXPECT_EQ(r.train.warmup_steps, 0);
  EXPECT_EQ(r.train.lr_schedule, "cosine");
  EXPECT_DOUBLE_EQ(r.train.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(r.train.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(r.train.beta1, 0.9);
  EXPECT_DOUBLE_EQ(r.train.beta2, 0.95);
  EXPECT_DOUBLE_EQ(r.train.eps, 1e-8);
  EXPECT_DOUBLE_EQ(r.train.grad_clip, 1.0);
  EXPECT_EQ(r.train.seed, 0u);
  EXPECT_EQ(r.train.eval_every, 0);
  EXPECT_EQ(r.train.eval_batches, 1);
  EXPECT_TRUE(CheckDataHashes(r).ok());
}

TEST_F(RecipeTest, LlamaKeysDefaultsAndRules) {
  const std::string llama = "family = \"llama\"\nn_layer = 2\nn_head = 4\nn_embd = 32\ncontext = 16\n";
  WriteToml(Minimal(llama));
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.arch.n_head_kv, 4);     // default n_head
  EXPECT_EQ(r.arch.ffn_hidden, 96);   // 8/3 * 32 = 85.3 -> 96
  EXPECT_EQ(r.arch.rope_theta, 10000.0);
  EXPECT_TRUE(r.arch.tie_embeddings);
  EXPECT_TRUE(r.NormalizedJson().find("\"n_head_kv\":4") != std::string::npos) << r.NormalizedJson();
  // gpt sources hash as before: no llama keys in their JSON.
  WriteToml(Minimal());
  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  EXPECT_EQ(r.NormalizedJson().find("n_head_kv"), std::string::npos);
  // Rules between keys, and values that f32 (the binary's type) cannot hold.
  EXPECT_NE(LoadError(Minimal(llama + "n_head_kv = 3\n")).find("n_head_kv (3) does not divide n_head (4)"),
            std::string::npos);
  EXPECT_NE(LoadError(Minimal("family = \"llama\"\nn_layer = 1\nn_head = 4\nn_embd = 12\ncontext = 4\n"))
                .find("must be even for llama"),
            std::string::npos);
  EXPECT_NE(LoadError(Minimal(llama + "rope_theta = 1.00000001\n")).find("after rounding to f32"), std::string::npos);
  EXPECT_NE(LoadError(Minimal(llama + "rms_eps = 1e-50\n")).find("after rounding to f32"), std::string::npos);
  EXPECT_NE(LoadError(Minimal("n_layer = 1\nn_head = 1\nn_embd = 4\ncontext = 4\ntie_embeddings = false\n"))
                .find("only for family = \"llama\""),
            std::string::npos);
}

TEST_F(RecipeTest, IntegerAcceptedForFloat) {
  WriteToml(Minimal("n_layer = 1\nn_head = 1\nn_embd = 4\ncontext = 4\n",
                    "steps = 1\nbatch_size = 1\nlearning_rate = 1\ngrad_clip = 0\n"));
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_DOUBLE_EQ(r.train.learning_rate, 1.0);
  EXPECT_DOUBLE_EQ(r.train.grad_clip, 0.0);
}

TEST_F(RecipeTest, MissingModelToml) {
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/model.toml: cannot open: "), std::string::npos) << st.message();
}

TEST_F(RecipeTest, SyntaxErrorHasLineAndColumn) {
  std::string msg = LoadError("[model]\nname = \"m\"\nlicense = = \"MIT\"\n");
  EXPECT_EQ(msg.rfind(Toml() + ":3:", 0), 0u) << msg;
  EXPECT_GT(msg.size(), Toml().size() + 6);
}

TEST_F(RecipeTest, UnknownKey) {
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\nn_layers = 3\n"));
  EXPECT_EQ(msg, Toml() + ":10:1: [architecture] n_layers: unknown key (did you mean \"n_layer\"?)");
  // Nothing close: no suggestion.
  msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\ndepth = 3\n"));
  EXPECT_EQ(msg, Toml() + ":10:1: [architecture] depth: unknown key");
}

TEST_F(RecipeTest, UnknownTable) {
  std::string msg = LoadError(Minimal() + "\n[optimizer]\nx = 1\n");
  EXPECT_NE(msg.find("[optimizer]: unknown table (expected [model], "), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind(Toml() + ":", 0), 0u) << msg;
  msg = LoadError(Minimal() + "\n[trian]\nx = 1\n");
  EXPECT_EQ(msg, Toml() + ":25:2: [trian]: unknown table (did you mean \"[train]\"?)");
}

TEST_F(RecipeTest, WrongType) {
  std::string msg = LoadError(Minimal("n_layer = \"two\"\nn_head = 2\nn_embd = 8\ncontext = 16\n"));
  EXPECT_EQ(msg, Toml() + ":6:11: [architecture] n_layer: expected an integer, got a string");
  msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                          "steps = 10\nbatch_size = 4\nlearning_rate = \"fast\"\n"));
  EXPECT_NE(msg.find("[train] learning_rate: expected a number, got a string"), std::string::npos) << msg;
}

TEST_F(RecipeTest, NEmbdNotDivisibleByNHead) {
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 3\nn_embd = 100\ncontext = 16\n"));
  EXPECT_EQ(msg, Toml() + ":7:10: [architecture] n_head: n_embd (100) is not divisible by n_head (3)");
}

TEST_F(RecipeTest, ContextBelowOne) {
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 0\n"));
  EXPECT_EQ(msg, Toml() + ":9:11: [architecture] context: must be >= 1 (got 0)");
}

TEST_F(RecipeTest, UpperBound) {
  std::string msg = LoadError(Minimal("n_layer = 1000\nn_head = 2\nn_embd = 8\ncontext = 16\n"));
  EXPECT_NE(msg.find("[architecture] n_layer: must be <= 256 (got 1000)"), std::string::npos) << msg;
}

TEST_F(RecipeTest, MicroBatchMustDivideBatch) {
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                                      "steps = 10\nbatch_size = 6\nmicro_batch_size = 4\nlearning_rate = 0.1\n"));
  EXPECT_NE(msg.find("[train] micro_batch_size: micro_batch_size (4) does not divide batch_size (6)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.rfind(Toml() + ":23:20:", 0), 0u) << msg;
}

TEST_F(RecipeTest, OtherTrainRanges) {
  auto arch = "n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n";
  std::string msg = LoadError(Minimal(arch, "steps = 0\nbatch_size = 4\nlearning_rate = 0.1\n"));
  EXPECT_NE(msg.find("[train] steps: must be >= 1 (got 0)"), std::string::npos) << msg;
  msg = LoadError(Minimal(arch, "steps = 1\nbatch_size = 4\nlearning_rate = 0\n"));
  EXPECT_NE(msg.find("[train] learning_rate: must be > 0"), std::string::npos) << msg;
  msg = LoadError(Minimal(arch, "steps = 1\nbatch_size = 4\nlearning_rate = 0.1\nbeta2 = 1.0\n"));
  EXPECT_NE(msg.find("[train] beta2: must be < 1"), std::string::npos) << msg;
  msg = LoadError(Minimal(arch, "steps = 1\nbatch_size = 4\nlearning_rate = 0.1\nmin_lr = 0.5\n"));
  EXPECT_NE(msg.find("[train] min_lr: must be <= learning_rate"), std::string::npos) << msg;
  msg = LoadError(Minimal(arch, "steps = 1\nbatch_size = 4\nlearning_rate = 0.1\nlr_schedule = \"linear\"\n"));
  EXPECT_NE(msg.find("[train] lr_schedule: must be \"cosine\" or \"constant\""), std::string::npos) << msg;
  msg = LoadError(Minimal(arch, "steps = 1\nbatch_size = 4\nlearning_rate = 0.1\neps = 0\n"));
  EXPECT_NE(msg.find("[train] eps: must be > 0"), std::string::npos) << msg;
}

TEST_F(RecipeTest, MissingRequiredKey) {
  // [architecture] is on line 5; n_embd is missing.
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 2\ncontext = 16\n"));
  EXPECT_EQ(msg, Toml() + ":5:1: [architecture] n_embd: missing required key");
  msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                          "batch_size = 4\nlearning_rate = 0.1\n"));
  EXPECT_NE(msg.find("[train] steps: missing required key"), std::string::npos) << msg;
}

TEST_F(RecipeTest, MissingTable) {
  std::string msg = LoadError("[model]\nname = \"m\"\nlicense = \"MIT\"\n");
  EXPECT_EQ(msg, Toml() + ":1:1: [architecture]: missing required table");
}

TEST_F(RecipeTest, UrlRejected) {
  std::string t = Minimal();
  t.replace(t.find("path = \"data/train.txt\""), std::string("path = \"data/train.txt\"").size(),
            "url = \"https://example.com/a.txt\"");
  std::string msg = LoadError(t);
  EXPECT_NE(msg.find("[[data]] url: fetching URLs is not supported yet; download the file"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("path ="), std::string::npos) << msg;
}

TEST_F(RecipeTest, MissingDataFile) {
  std::string t = Minimal();
  t.replace(t.find("data/train.txt"), std::string("data/train.txt").size(), "data/nope.txt");
  std::string msg = LoadError(t);
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: data file not found: " +
                     fs::path(dir_).lexically_normal().string() + "/data/nope.txt");
}

TEST_F(RecipeTest, AbsoluteDataPath) {
  std::string other = MakeTempDir();
  Write(other + "/abs.txt", kTrainText);
  std::string t = Minimal();
  t.replace(t.find("data/train.txt"), std::string("data/train.txt").size(), other + "/abs.txt");
  WriteToml(t);
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.data[0].resolved, other + "/abs.txt");
  EXPECT_TRUE(CheckDataHashes(r).ok());
  fs::remove_all(other);
}

TEST_F(RecipeTest, TokenizerBpeNeedsVocabSize) {
  // More [tokenizer] cases: tests/tokenizer_test.cpp (TokenizerRecipe.*).
  std::string msg = LoadError(Minimal() + "\n[tokenizer]\nkind = \"bpe\"\n");
  EXPECT_NE(msg.find("[tokenizer] vocab_size: missing required key"), std::string::npos) << msg;
}

TEST_F(RecipeTest, SplitValidation) {
  std::string msg = LoadError(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                                      "steps = 10\nbatch_size = 4\nlearning_rate = 0.001\n", "split = 1.5\n"));
  EXPECT_NE(msg.find("[[data]] split: a fraction must be in (0, 1) (got 1.5)"), std::string::npos) << msg;
  // Only training data: no validation.
  std::string t = "[model]\nname = \"m\"\nlicense = \"MIT\"\n[architecture]\nn_layer = 1\nn_head = 1\n"
                  "n_embd = 4\ncontext = 4\n[[data]]\npath = \"val.txt\"\n[train]\nsteps = 1\nbatch_size = 1\n"
                  "learning_rate = 0.1\n";
  msg = LoadError(t);
  EXPECT_NE(msg.find("no validation data"), std::string::npos) << msg;
  // A fraction gives both.
  t.replace(t.find("[train]"), 7, "split = 0.1\n[train]");
  WriteToml(t);
  Recipe r;
  EXPECT_TRUE(LoadRecipe(dir_, &r).ok());
}

TEST_F(RecipeTest, BadSha256Format) {
  std::string t = Minimal();
  t.replace(t.find(train_sha_), 64, "ABC");
  std::string msg = LoadError(t);
  EXPECT_NE(msg.find("[[data]] sha256: must be 64 lowercase hex digits"), std::string::npos) << msg;
}

TEST_F(RecipeTest, MissingSha256PrintsActualHash) {
  WriteToml(R"([model]
name = "m"
license = "MIT"

[architecture]
n_layer = 1
n_head = 1
n_embd = 4
context = 4

[[data]]
path = "data/train.txt"
title = "Fortunes"

[[data]]
path = "val.txt"
sha256 = ")" + val_sha_ + R"("
split = "val"

[train]
steps = 1
batch_size = 1
learning_rate = 0.1
)");
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  st = CheckDataHashes(r);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), Toml() + ":11:1: [[data]] 'Fortunes' (data/train.txt): no sha256 pinned; actual sha256 is " +
                              train_sha_ + ". Run `modelc build --pin " + r.dir + "` to pin it.");
}

TEST_F(RecipeTest, WrongSha256) {
  std::string bad(64, '0');
  std::string t = Minimal();
  t.replace(t.find(val_sha_), 64, bad);
  WriteToml(t);
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  st = CheckDataHashes(r);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("[[data]] (val.txt): sha256 mismatch: model.toml pins " + bad + ", file has " + val_sha_),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().rfind(Toml() + ":17:10:", 0), 0u) << st.message();
}

TEST_F(RecipeTest, PinInsertsAndReplaces) {
  const std::string original = R"(# My model.
[model]
name = "m"   # the name
license = "MIT"

[architecture]
n_layer = 1
n_head = 1
n_embd = 4
context = 4

# Training text, not yet pinned.
[[data]]
  path = "data/train.txt"   # relative to this folder
  title = "Fox"

[[data]]
path = "val.txt"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000" # stale
split = "val"

[train]
steps = 1
batch_size = 1
learning_rate = 0.1
)";
  WriteToml(original);
  Recipe r;
  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  EXPECT_FALSE(CheckDataHashes(r).ok());

  std::string report;
  Status st = PinDataHashes(dir_, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(report, "pinned data/train.txt " + train_sha_ + "\npinned val.txt " + val_sha_ + "\n");

  std::string expected = original;
  expected.replace(expected.find(std::string(64, '0')), 64, val_sha_);
  const std::string path_line = "  path = \"data/train.txt\"   # relative to this folder\n";
  expected.insert(expected.find(path_line) + path_line.size(), "  sha256 = \"" + train_sha_ + "\"\n");
  EXPECT_EQ(Slurp(Toml()), expected);

  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  st = CheckDataHashes(r);
  EXPECT_TRUE(st.ok()) << st.message();

  // Pinning again changes nothing.
  st = PinDataHashes(dir_, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(report, "");
  EXPECT_EQ(Slurp(Toml()), expected);

  // A changed file gets re-pinned in place.
  Write(dir_ + "/val.txt", "different validation text\n");
  ASSERT_TRUE(PinDataHashes(dir_, &report).ok());
  std::string new_sha = Sha256Hex(std::string("different validation text\n"));
  EXPECT_EQ(report, "pinned val.txt " + new_sha + "\n");
  std::string after = Slurp(Toml());
  EXPECT_NE(after.find("sha256 = \"" + new_sha + "\" # stale\n"), std::string::npos) << after;
  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  EXPECT_TRUE(CheckDataHashes(r).ok());
}

TEST_F(RecipeTest, PinWithoutTrailingNewlineAndMalformedHash) {
  std::string t = Minimal();
  t.replace(t.find(train_sha_), 64, "XYZ");
  // Drop the val sha256 line; put the val entry last without a final newline.
  t = "[model]\nname = \"m\"\nlicense = \"MIT\"\n[architecture]\nn_layer = 1\nn_head = 1\nn_embd = 4\n"
      "context = 4\n[train]\nsteps = 1\nbatch_size = 1\nlearning_rate = 0.1\n"
      "[[data]]\npath = \"data/train.txt\"\nsha256 = 'XYZ'\n[[data]]\nsplit = \"val\"\npath = \"val.txt\"";
  WriteToml(t);
  std::string report;
  Status st = PinDataHashes(dir_, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  std::string after = Slurp(Toml());
  EXPECT_NE(after.find("sha256 = \"" + train_sha_ + "\"\n"), std::string::npos) << after;
  EXPECT_NE(after.find("path = \"val.txt\"\nsha256 = \"" + val_sha_ + "\""), std::string::npos) << after;
  EXPECT_NE(after.back(), '\n');
  Recipe r;
  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  EXPECT_TRUE(CheckDataHashes(r).ok());
}

TEST_F(RecipeTest, NormalizedJsonIgnoresFormatting) {
  WriteToml(Minimal());
  Recipe a;
  ASSERT_TRUE(LoadRecipe(dir_, &a).ok());
  // Same content: comments, whitespace, key order, explicit defaults, int for float.
  WriteToml(R"(
# comment
[train]
learning_rate   =   1e-3   # lr
batch_size = 4
steps = 10
beta1 = 0.9

[architecture]
context = 16
n_embd = 8
n_head = 2
n_layer = 2
family = "gpt"

[model]
license = "MIT"
name = "m"
authors = []

[tokenizer]
kind = "byte"

[[data]]
sha256 = ")" + train_sha_ + R"("
split = "train"
path = "data/train.txt"

[[data]]
split = "val"
sha256 = ")" + val_sha_ + R"("
path = "val.txt"
)");
  Recipe b;
  Status st = LoadRecipe(dir_, &b);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(a.NormalizedJson(), b.NormalizedJson());
  EXPECT_EQ(a.SourceHash(), b.SourceHash());
  EXPECT_EQ(a.SourceHash().size(), 64u);
  // No absolute paths in the normalized form.
  EXPECT_EQ(a.NormalizedJson().find(dir_), std::string::npos);
  EXPECT_NE(a.NormalizedJson().find("\"path\":\"data/train.txt\""), std::string::npos) << a.NormalizedJson();
  EXPECT_NE(a.NormalizedJson().find("\"grad_clip\":1.0"), std::string::npos) << a.NormalizedJson();

  Recipe c = a;
  c.train.learning_rate = 2e-3;
  EXPECT_NE(a.SourceHash(), c.SourceHash());
  c = a;
  c.train.seed = 1;
  EXPECT_NE(a.SourceHash(), c.SourceHash());
  c = a;
  c.data[1].sha256 = std::string(64, 'f');
  EXPECT_NE(a.SourceHash(), c.SourceHash());
  c = a;
  c.dir = "/elsewhere";
  c.toml_path = "/elsewhere/model.toml";
  c.data[0].resolved = "/elsewhere/data/train.txt";
  EXPECT_EQ(a.SourceHash(), c.SourceHash());

  // A hyperparameter change in the file changes the hash.
  WriteToml(Minimal("n_layer = 2\nn_head = 2\nn_embd = 8\ncontext = 16\n",
                    "steps = 11\nbatch_size = 4\nlearning_rate = 0.001\n"));
  Recipe d;
  ASSERT_TRUE(LoadRecipe(dir_, &d).ok());
  EXPECT_NE(a.SourceHash(), d.SourceHash());
}

}  // namespace
}  // namespace modelc

namespace modelc {
namespace {

TEST_F(RecipeTest, NameMustBeAPlainFileName) {
  for (const char* bad : {"../escaped", "a b/c", ".hidden", "x\\\\y"}) {
    std::string toml = Minimal();
    toml.replace(toml.find("name = \"m\""), 10, std::string("name = \"") + bad + "\"");
    std::string msg = LoadError(toml);
    EXPECT_NE(msg.find(Toml() + ":2:8: [model] name: must be a plain name"), std::string::npos)
        << bad << ": " << msg;
  }
}

TEST_F(RecipeTest, MicroBatchTimesContextBounded) {
  std::string msg = LoadError(Minimal("n_layer = 1\nn_head = 1\nn_embd = 8\ncontext = 65536\n",
                                      "steps = 1\nbatch_size = 512\nlearning_rate = 0.1\n"));
  EXPECT_NE(msg.find("[train] micro_batch_size: micro_batch_size x context (512 x 65536) must be at "
                     "most 16777216 tokens"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace modelc

namespace modelc {
namespace {

// Data and base paths that exist but are not regular files are refused by
// name, and never opened: reading a FIFO would block until a writer comes and
// a device like /dev/zero never ends.
class RecipeFileKindTest : public RecipeTest {
 protected:
  std::string WithDataPath(const std::string& path) const {
    std::string t = Minimal();
    t.replace(t.find("data/train.txt"), std::string("data/train.txt").size(), path);
    return t;
  }
  std::string WithBase(const std::string& path) const {
    return Minimal() + "\n[base]\npath = \"" + path + "\"\n";
  }
  // Loads a valid recipe, then turns the training file into something else.
  Status CheckAfter(const std::function<void(const std::string&)>& replace) {
    WriteToml(Minimal());
    Recipe r;
    Status st = LoadRecipe(dir_, &r);
    EXPECT_TRUE(st.ok()) << st.message();
    fs::remove(dir_ + "/data/train.txt");
    replace(dir_ + "/data/train.txt");
    return CheckDataHashes(r);
  }
  std::string D() const { return fs::path(dir_).lexically_normal().string(); }
};

TEST_F(RecipeFileKindTest, CharacterDevice) {
  std::string msg = LoadError(WithDataPath("/dev/zero"));
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: /dev/zero is a character device, not a regular file");
}

TEST_F(RecipeFileKindTest, Fifo) {
  ASSERT_EQ(::mkfifo((dir_ + "/pipe").c_str(), 0600), 0);
  std::string msg = LoadError(WithDataPath("pipe"));
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: " + D() + "/pipe is a FIFO (named pipe), not a regular file");
  // Checked again before hashing.
  Status st = CheckAfter([](const std::string& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), Toml() + ":11:1: [[data]] (data/train.txt): " + D() +
                              "/data/train.txt is a FIFO (named pipe), not a regular file");
}

TEST_F(RecipeFileKindTest, Directory) {
  std::string msg = LoadError(WithDataPath("data"));
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: " + D() + "/data is a directory, not a regular file");
  Status st = CheckAfter([](const std::string& p) { fs::create_directory(p); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            Toml() + ":11:1: [[data]] (data/train.txt): " + D() + "/data/train.txt is a directory, not a regular file");
}

TEST_F(RecipeFileKindTest, Socket) {
  const std::string path = dir_ + "/sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) GTEST_SKIP() << "temp path too long for a socket: " << path;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string msg = LoadError(WithDataPath("sock"));
  ::close(fd);
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: " + D() + "/sock is a socket, not a regular file");
}

TEST_F(RecipeFileKindTest, SymlinkToRegularFileIsFine) {
  fs::create_symlink(dir_ + "/data/train.txt", dir_ + "/link.txt");
  WriteToml(WithDataPath("link.txt"));
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  st = CheckDataHashes(r);
  EXPECT_TRUE(st.ok()) << st.message();
  // A link to nothing is a missing file.
  fs::create_symlink(dir_ + "/nothing.txt", dir_ + "/dangling.txt");
  std::string msg = LoadError(WithDataPath("dangling.txt"));
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: data file not found: " + D() +
                     "/dangling.txt (a symbolic link to a file that does not exist)");
  // A link to a device is the device.
  fs::create_symlink("/dev/zero", dir_ + "/zero.txt");
  msg = LoadError(WithDataPath("zero.txt"));
  EXPECT_EQ(msg, Toml() + ":12:8: [[data]] path: " + D() + "/zero.txt is a character device, not a regular file");
}

TEST_F(RecipeFileKindTest, MissingStaysNotFound) {
  Status st = CheckAfter([](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), Toml() + ":11:1: [[data]] (data/train.txt): data file not found: " + D() + "/data/train.txt");
}

TEST_F(RecipeFileKindTest, Base) {
  std::string msg = LoadError(WithBase("/dev/zero"));
  EXPECT_EQ(msg, Toml() + ":26:8: [base] path: /dev/zero is a character device, not a regular file");
  ASSERT_EQ(::mkfifo((dir_ + "/base.gguf").c_str(), 0600), 0);
  msg = LoadError(WithBase("base.gguf"));
  EXPECT_EQ(msg, Toml() + ":26:8: [base] path: " + D() + "/base.gguf is a FIFO (named pipe), not a regular file");
  msg = LoadError(WithBase("nope.gguf"));
  EXPECT_EQ(msg, Toml() + ":26:8: [base] path: base model not found: " + D() +
                     "/nope.gguf (build the base model first)");
  // Before hashing: the base became a directory after parsing.
  Write(dir_ + "/b2.gguf", "x");
  WriteToml(WithBase("b2.gguf"));
  Recipe r;
  Status st = LoadRecipe(dir_, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  fs::remove(dir_ + "/b2.gguf");
  fs::create_directory(dir_ + "/b2.gguf");
  st = CheckDataHashes(r);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), Toml() + ":25:1: [base] (b2.gguf): " + D() + "/b2.gguf is a directory, not a regular file");
}

}  // namespace
}  // namespace modelc
