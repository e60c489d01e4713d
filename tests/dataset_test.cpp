#include "source/dataset.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/sha256.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/dataset_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& contents) {
    std::ofstream f(dir_ + "/" + name, std::ios::binary);
    f << contents;
  }

  // [[data]] entries: {file, split-as-toml}.
  Status Load(const std::vector<std::pair<std::string, std::string>>& entries, int context, Recipe* r,
              Dataset* ds) {
    std::string t = "[model]\nname = \"m\"\nlicense = \"MIT\"\n[architecture]\nn_layer = 1\nn_head = 1\n"
                    "n_embd = 4\ncontext = " + std::to_string(context) + "\n";
    for (const auto& [file, split] : entries) {
      std::string contents;
      std::ifstream in(dir_ + "/" + file, std::ios::binary);
      contents.assign(std::istreambuf_iterator<char>(in), {});
      t += "[[data]]\npath = \"" + file + "\"\nsha256 = \"" + Sha256Hex(contents) + "\"\ntitle = \"T " + file +
           "\"\nsplit = " + split + "\n";
    }
    t += "[train]\nsteps = 1\nbatch_size = 1\nlearning_rate = 0.1\n";
    std::ofstream(dir_ + "/model.toml") << t;
    Status st = LoadRecipe(dir_, r);
    if (!st.ok()) return st;
    MODELC_RETURN_IF_ERROR(CheckDataHashes(*r));
    return LoadDataset(*r, ds);
  }

  std::string dir_;
};

std::string Str(const std::vector<uint16_t>& v) { return std::string(v.begin(), v.end()); }

TEST_F(DatasetTest, SplitsAndConcatenatesInOrder) {
  Write("a.txt", "AAAAAAAAAA");               // 10 bytes, fraction 0.25 -> floor(2.5) = 2 val
  Write("b.txt", "bbbbbbb");                  // train
  Write("c.txt", "cccc");                     // val
  Write("d.txt", std::string("\x00\xff" "dd", 4));  // fraction 0.5 -> 2 val
  Recipe r;
  Dataset ds;
  Status st = Load({{"a.txt", "0.25"}, {"b.txt", "\"train\""}, {"c.txt", "\"val\""}, {"d.txt", "0.5"}}, 4, &r, &ds);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(Str(ds.train), std::string("AAAAAAAA") + "bbbbbbb" + std::string("\x00\xff", 2));
  EXPECT_EQ(Str(ds.val), "AA" "cccc" "dd");
  ASSERT_EQ(ds.sources.size(), 4u);
  ASSERT_EQ(ds.train_offsets.size(), 4u);
  EXPECT_EQ(ds.train_offsets, (std::vector<uint64_t>{0, 8, 15, 15}));
  EXPECT_EQ(ds.val_offsets, (std::vector<uint64_t>{0, 2, 2, 6}));
  EXPECT_EQ(ds.sources[0].bytes, 10u);
  EXPECT_EQ(ds.sources[0].train_tokens, 8u);
  EXPECT_EQ(ds.sources[0].val_tokens, 2u);
  EXPECT_EQ(ds.sources[0].title, "T a.txt");
  EXPECT_EQ(ds.sources[0].path, "a.txt");
  EXPECT_EQ(ds.sources[0].sha256, Sha256Hex(std::string("AAAAAAAAAA")));
  EXPECT_EQ(ds.sources[1].train_tokens, 7u);
  EXPECT_EQ(ds.sources[1].val_tokens, 0u);
  EXPECT_EQ(ds.sources[2].train_tokens, 0u);
  EXPECT_EQ(ds.sources[2].val_tokens, 4u);
  EXPECT_EQ(ds.sources[3].train_tokens, 2u);
  EXPECT_EQ(ds.sources[3].val_tokens, 2u);
  // Byte tokens keep the full range.
  EXPECT_EQ(ds.train[15], 0u);
  EXPECT_EQ(ds.train[16], 255u);
}

TEST_F(DatasetTest, FractionFloors) {
  std::string text(1000, 'x');
  Write("big.txt", text);
  Recipe r;
  Dataset ds;
  ASSERT_TRUE(Load({{"big.txt", "0.1"}}, 8, &r, &ds).ok());
  EXPECT_EQ(ds.val.size(), 100u);
  EXPECT_EQ(ds.train.size(), 900u);
  DataSource d;
  d.split_is_fraction = true;
  d.val_fraction = 0.333;
  EXPECT_EQ(ValBytes(d, 10), 3u);
  EXPECT_EQ(ValBytes(d, 2), 0u);
  d.split_is_fraction = false;
  d.split = "val";
  EXPECT_EQ(ValBytes(d, 7), 7u);
  d.split = "train";
  EXPECT_EQ(ValBytes(d, 7), 0u);
}

TEST_F(DatasetTest, TooFewValidationTokens) {
  Write("t.txt", std::string(100, 't'));
  Write("v.txt", "short");
  Recipe r;
  Dataset ds;
  Status st = Load({{"t.txt", "\"train\""}, {"v.txt", "\"val\""}}, 8, &r, &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("the validation split has 5 tokens (t.txt (line "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("v.txt (line "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("): 5), fewer than [architecture] context + 1 = 9"), std::string::npos) << st.message();
}

TEST_F(DatasetTest, TooFewTrainingTokens) {
  Write("t.txt", "tiny");
  Write("v.txt", std::string(100, 'v'));
  Recipe r;
  Dataset ds;
  Status st = Load({{"t.txt", "\"train\""}, {"v.txt", "\"val\""}}, 8, &r, &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("the training split has 4 tokens (t.txt (line "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("fewer than [architecture] context + 1 = 9"), std::string::npos) << st.message();
}

TEST_F(DatasetTest, EmptyFileIsNamed) {
  Write("t.txt", std::string(100, 't'));
  Write("v.txt", "");
  Recipe r;
  Dataset ds;
  Status st = Load({{"t.txt", "\"train\""}, {"v.txt", "\"val\""}}, 8, &r, &ds);
  ASSERT_FALSE(st.ok());
  // file:line:column of the [[data]] table, the path as written and the file.
  EXPECT_NE(st.message().find("model.toml:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(": [[data]] (v.txt): "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("v.txt is empty (0 bytes)"), std::string::npos) << st.message();
}

TEST_F(DatasetTest, FileChangedAfterCheckIsCaught) {
  Write("t.txt", std::string(100, 't'));
  Write("v.txt", std::string(100, 'v'));
  Recipe r;
  Dataset ds;
  ASSERT_TRUE(Load({{"t.txt", "\"train\""}, {"v.txt", "\"val\""}}, 8, &r, &ds).ok());
  Write("v.txt", std::string(100, 'w'));
  Status st = LoadDataset(r, &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sha256 mismatch"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace modelc
