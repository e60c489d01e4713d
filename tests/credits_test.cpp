// Credits (provenance/credits.h, modelc credits): tokens per source are
// exact (recomputed here from the deterministic data order), rows sorted by
// share with ties by title, the three renderings, and errors.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "cli_util.h"
#include "compile/trainer.h"
#include "provenance/credits.h"
#include "source/dataset.h"
#include "source/recipe.h"

namespace modelc {
namespace {

using namespace testutil;

CreditRow Row(const std::string& title, uint64_t tokens, const std::string& licence = "MIT") {
  CreditRow r;
  r.title = title;
  r.author = "author of " + title;
  r.licence = licence;
  r.sha256 = std::string(64, 'a');
  r.tokens_used = tokens;
  return r;
}

TEST(Credits, SortedByShareTiesByTitle) {
  Credits c;
  c.rows = {Row("b", 10), Row("c", 30), Row("a", 10), Row("d", 0)};
  FinishCredits(&c);
  ASSERT_EQ(c.rows.size(), 4u);
  EXPECT_EQ(c.total_tokens, 50u);
  EXPECT_EQ(c.rows[0].title, "c");
  EXPECT_EQ(c.rows[1].title, "a");
  EXPECT_EQ(c.rows[2].title, "b");
  EXPECT_EQ(c.rows[3].title, "d");
  EXPECT_DOUBLE_EQ(c.rows[0].share, 0.6);
  EXPECT_DOUBLE_EQ(c.rows[1].share, 0.2);
  EXPECT_DOUBLE_EQ(c.rows[3].share, 0.0);
}

TEST(Credits, Renderings) {
  Credits c;
  c.model_name = "m";
  c.model_licence = "MIT";
  c.rows = {Row("Public | data", 25, "CC0-1.0"), Row("Credited data", 75, "CC-BY-4.0")};
  c.rows[1].source_url = "https://example.invalid/x";
  c.rows[0].licence_acknowledgement = "ok by us";
  c.rows[0].via_base = {"base-b", "base-a"};
  for (auto& r : c.rows) r.attribution_required = r.licence != "CC0-1.0";
  FinishCredits(&c);
  const std::string text = CreditsText(c);
  EXPECT_TRUE(Contains(text, "credits for m (MIT): 2 sources, 100 training tokens")) << text;
  EXPECT_TRUE(Contains(text, " 1.  75.00%  75 tokens  Credited data")) << text;
  EXPECT_TRUE(Contains(text, "licence  CC-BY-4.0  (attribution required)")) << text;
  EXPECT_TRUE(Contains(text, "licence  CC0-1.0\n")) << text;
  EXPECT_TRUE(Contains(text, "from     base model base-a (via base-b)")) << text;
  EXPECT_TRUE(Contains(text, "acknowledged licence conflict: ok by us")) << text;
  const std::string md = CreditsMarkdown(c);
  EXPECT_TRUE(Contains(md, "| [Credited data](https://example.invalid/x) | author of Credited data | CC-BY-4.0 \\* | 75 | 75.00% | `aaaaaaaaaaaa` |"))
      << md;
  EXPECT_TRUE(Contains(md, "| Public \\| data (base model base-a (via base-b)) |")) << md;
  EXPECT_TRUE(Contains(md, "\\* attribution required")) << md;
  EXPECT_TRUE(Contains(md, "- Public \\| data: ok by us")) << md;
  const auto j = CreditsJson(c);
  EXPECT_EQ(j["total_tokens"], 100);
  EXPECT_EQ(j["sources"][0]["title"], "Credited data");
  EXPECT_EQ(j["sources"][1]["via_base"].size(), 2u);
  // The JSON rows read back (what a fine-tune stores for its base).
  std::vector<CreditRow> back;
  ASSERT_TRUE(CreditRowsFromJson(nlohmann::json::parse(j["sources"].dump()), "x", &back).ok());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].licence_acknowledgement, "ok by us");
  EXPECT_EQ(back[1].via_base, c.rows[1].via_base);
  EXPECT_TRUE(back[0].attribution_required);
  EXPECT_FALSE(back[1].attribution_required);
  EXPECT_FALSE(CreditRowsFromJson(nlohmann::json::parse("[{\"title\": \"x\"}]"), "where", &back).ok());
}

// A source of three data files of different sizes; tokens counted per file.
class CreditsBuild : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string dir_, out_;
  void SetUp() override {
    dir_ = tmp_ / "src";
    SourceSpec s;
    s.steps = 12;
    s.eval_every = 0;
    WriteText(dir_ + "/corpus.txt", MakeCorpus(42, 30000));
    WriteText(dir_ + "/small.txt", MakeCorpus(5, 4000));
    WriteText(dir_ + "/other.txt", MakeCorpus(6, 12000));
    std::string extra;
    for (const char* f : {"small.txt", "other.txt"})
      extra += std::string("\n[[data]]\npath = \"") + f + "\"\ntitle = \"" + f + "\"\nauthor = \"someone\"\n" +
               "license = \"" + (std::string(f) == "small.txt" ? "CC-BY-4.0" : "CC0-1.0") + "\"\nsplit = \"train\"\n";
    WriteText(dir_ + "/model.toml", ModelToml(s, "", extra));
    Proc p = RunModelc({"build", "--pin", dir_});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    out_ = tmp_ / "m.gguf";
    p = RunModelc({"build", dir_, "-o", out_, "-q", "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }
};

TEST_F(CreditsBuild, TokensPerSourceAreExact) {
  // Recompute independently: every input token of every training window,
  // located in the stream token by token.
  Recipe r;
  ASSERT_TRUE(LoadRecipe(dir_, &r).ok());
  Dataset d;
  ASSERT_TRUE(LoadDataset(r, &d).ok());
  std::vector<uint64_t> expect(d.sources.size(), 0);
  const int T = r.arch.context;
  for (int64_t step = 0; step < r.train.steps; ++step)
    for (int b = 0; b < r.train.batch_size; ++b) {
      const uint64_t s = WindowStart(r.train.seed, kStreamTrainWindows, (uint64_t)step * r.train.batch_size + b,
                                     d.train.size(), T);
      for (int t = 0; t < T; ++t) {
        size_t src = 0;
        while (src + 1 < d.train_offsets.size() && d.train_offsets[src + 1] <= s + t) ++src;
        ++expect[src];
      }
    }
  Credits c;
  ASSERT_TRUE(CreditsFromFile(out_, &c).ok());
  ASSERT_EQ(c.rows.size(), 3u);
  uint64_t total = 0;
  for (size_t i = 0; i < d.sources.size(); ++i) {
    bool found = false;
    for (const CreditRow& row : c.rows)
      if (row.sha256 == d.sources[i].sha256) {
        EXPECT_EQ(row.tokens_used, expect[i]) << d.sources[i].path;
        found = true;
      }
    EXPECT_TRUE(found) << d.sources[i].path;
    total += expect[i];
    EXPECT_GT(expect[i], 0u) << "each source should be drawn from in this test";
  }
  EXPECT_EQ(total, (uint64_t)r.train.steps * r.train.batch_size * T);
  EXPECT_EQ(c.total_tokens, total);
  for (size_t i = 1; i < c.rows.size(); ++i) EXPECT_GE(c.rows[i - 1].share, c.rows[i].share);
}

TEST_F(CreditsBuild, Cli) {
  Proc p = RunModelc({"credits", out_});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "credits for tiny-cli (MIT): 3 sources, " + std::to_string(12 * 4 * 32) +
                                  " training tokens")) << p;
  EXPECT_TRUE(Contains(p.out, "licence  CC-BY-4.0  (attribution required)")) << p;
  EXPECT_TRUE(Contains(p.out, "source   " + std::string(kDataUrl))) << p;
  p = RunModelc({"credits", out_, "--markdown"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "| Source | Author | Licence | Tokens | Share | sha256 |")) << p;
  EXPECT_EQ(std::count(p.out.begin(), p.out.end(), '\n'), 11) << p;
  p = RunModelc({"credits", out_, "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["model"], "tiny-cli");
  ASSERT_EQ(j["sources"].size(), 3u);
  double share = 0;
  uint64_t tokens = 0;
  for (const auto& s : j["sources"]) share += s["share"].get<double>(), tokens += s["tokens_used"].get<uint64_t>();
  EXPECT_NEAR(share, 1.0, 1e-12);
  EXPECT_EQ(tokens, j["total_tokens"].get<uint64_t>());
  EXPECT_TRUE(j["base_models"].empty());
  p = RunModelc({"credits", out_, "--json", "--markdown"});
  EXPECT_TRUE(p.exited && p.code != 0) << p;
  p = RunModelc({"credits", "--help"});
  EXPECT_TRUE(p.exited && p.code == 0 && Contains(p.out, "--markdown")) << p;
}

TEST(CreditsErrors, MissingAndForeignFiles) {
  TempDir tmp;
  Proc p = RunModelc({"credits", tmp / "nope.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: ") && Contains(p.err, "nope.gguf")) << p;
  // A GGUF file without modelc provenance.
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  ASSERT_TRUE(w.Write(tmp / "foreign.gguf").ok());
  p = RunModelc({"credits", tmp / "foreign.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "no modelc.data_manifest")) << p;
  GgufWriter w2;
  w2.SetString("modelc.data_manifest", "{not json");
  ASSERT_TRUE(w2.Write(tmp / "bad.gguf").ok());
  p = RunModelc({"credits", tmp / "bad.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "bad.gguf: modelc.data_manifest: credits are not a JSON array")) << p;
}

}  // namespace
}  // namespace modelc
