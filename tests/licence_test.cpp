// The licence check (source/licence_check.h): every category pair of data
// licence x model licence, versions, expressions, messages, the recipe's
// license_acknowledgement, and `modelc build` refusing / accepting.
#include <gtest/gtest.h>

#include <set>

#include "cli_util.h"
#include "compile/base_model.h"
#include "source/licence_check.h"
#include "source/recipe.h"

namespace modelc {
namespace {

using namespace testutil;

// Conflict rules as letters: U unknown, D no-derivatives, N non-commercial, S share-alike.
std::string Rules(const std::string& data, const std::string& model) {
  std::string s;
  for (const LicenceConflict& c : LicenceConflicts(data, model)) {
    if (c.rule == "unknown") s += 'U';
    else if (c.rule == "no-derivatives") s += 'D';
    else if (c.rule == "non-commercial") s += 'N';
    else if (c.rule == "share-alike") s += 'S';
    else s += '?';
    EXPECT_FALSE(c.explanation.empty());
  }
  return s;
}

// One representative of each category.
const std::vector<std::string> kIds = {"CC0-1.0", "MIT", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0",
                                       "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "GPL-3.0-only", "proprietary"};

TEST(Licence, EveryCategoryPair) {
  // kExpected[data][model], models in kIds order.
  const std::vector<std::vector<std::string>> kExpected = {
      /* CC0-1.0         */ {"", "", "", "", "", "", "", "", ""},
      /* MIT             */ {"", "", "", "", "", "", "", "", ""},
      /* CC-BY-4.0       */ {"", "", "", "", "", "", "", "", ""},
      /* CC-BY-SA-4.0    */ {"S", "S", "S", "", "S", "S", "S", "", "S"},
      /* CC-BY-NC-4.0    */ {"N", "N", "N", "N", "", "", "N", "N", "N"},
      /* CC-BY-NC-SA-4.0 */ {"NS", "NS", "NS", "NS", "S", "", "NS", "NS", "NS"},
      /* CC-BY-ND-4.0    */ {"D", "D", "D", "D", "D", "D", "D", "D", "D"},
      /* GPL-3.0-only    */ {"S", "S", "S", "S", "S", "S", "S", "", "S"},
      /* proprietary     */ {"U", "U", "U", "U", "U", "U", "U", "U", "U"},
  };
  for (size_t d = 0; d < kIds.size(); ++d)
    for (size_t m = 0; m < kIds.size(); ++m)
      EXPECT_EQ(Rules(kIds[d], kIds[m]), kExpected[d][m]) << "data " << kIds[d] << " under model " << kIds[m];
}

TEST(Licence, NonCommercialNoDerivativesIsBoth) {
  EXPECT_EQ(Rules("CC-BY-NC-ND-4.0", "MIT"), "DN");
  EXPECT_EQ(Rules("CC-BY-NC-ND-4.0", "CC-BY-NC-4.0"), "D");
}

TEST(Licence, ShareAlikeVersions) {
  EXPECT_EQ(Rules("CC-BY-SA-3.0", "CC-BY-SA-4.0"), "");   // later version allowed (2.0+)
  EXPECT_EQ(Rules("CC-BY-SA-4.0", "CC-BY-SA-3.0"), "S");  // not an earlier one
  EXPECT_EQ(Rules("CC-BY-SA-1.0", "CC-BY-SA-2.0"), "S");  // 1.0 has no later-version clause
  EXPECT_EQ(Rules("CC-BY-SA-1.0", "CC-BY-SA-1.0"), "");
  EXPECT_EQ(Rules("CC-BY-SA-3.0", "GPL-3.0-only"), "S");  // only 4.0 is GPLv3-compatible
  EXPECT_EQ(Rules("CC-BY-SA-4.0", "GPL-3.0-or-later"), "");
  EXPECT_EQ(Rules("GPL-2.0-only", "GPL-3.0-only"), "S");
  EXPECT_EQ(Rules("GPL-2.0-only", "GPL-2.0-or-later"), "S");
  EXPECT_EQ(Rules("GPL-2.0-only", "GPL-2.0-only"), "");
  EXPECT_EQ(Rules("GPL-2.0-or-later", "GPL-3.0-only"), "");
  EXPECT_EQ(Rules("GPL-2.0+", "GPL-3.0-or-later"), "");
  EXPECT_EQ(Rules("GPL-3.0-or-later", "GPL-2.0-only"), "S");
  EXPECT_EQ(Rules("AGPL-3.0-only", "GPL-3.0-only"), "S");
  EXPECT_EQ(Rules("ODbL-1.0", "ODbL-1.0"), "");
  EXPECT_EQ(Rules("ODbL-1.0", "CC-BY-4.0"), "S");
  EXPECT_EQ(Rules("CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0"), "");
  // The explanation says which versions are allowed.
  EXPECT_TRUE(Contains(LicenceConflicts("GPL-2.0-only", "MIT")[0].explanation, "under GPL 2.0 only, but"));
  EXPECT_TRUE(Contains(LicenceConflicts("GPL-2.0+", "MIT")[0].explanation, "under GPL 2.0 or a later version"));
  EXPECT_TRUE(Contains(LicenceConflicts("CC-BY-SA-3.0", "MIT")[0].explanation, "under CC-BY-SA 3.0 or a later version"));
  EXPECT_TRUE(Contains(LicenceConflicts("CC-BY-SA-1.0", "MIT")[0].explanation, "under CC-BY-SA 1.0 only"));
}

TEST(Licence, IdsAndExpressions) {
  EXPECT_EQ(Rules("cc-by-nc-4.0", "mit"), "N");  // SPDX ids match case-insensitively
  EXPECT_EQ(Rules("public domain", "MIT"), "");
  EXPECT_EQ(Rules("LicenseRef-public-domain", "MIT"), "");
  EXPECT_EQ(Rules("NOASSERTION", "MIT"), "U");
  EXPECT_EQ(Rules("", "MIT"), "U");
  EXPECT_EQ(Rules("MIT OR CC-BY-NC-4.0", "MIT"), "");      // the licensee picks MIT
  EXPECT_EQ(Rules("MIT AND CC-BY-NC-4.0", "MIT"), "N");    // both apply
  EXPECT_EQ(Rules("CC-BY-NC-4.0", "LicenseRef-my-own"), "N");  // unknown model licence may allow commercial use
  EXPECT_TRUE(ClassifyLicence("BSD-3-Clause").known);
  EXPECT_FALSE(ClassifyLicence("LicenseRef-my-own").known);
  EXPECT_EQ(ClassifyLicence("CC-BY-SA-2.5").version, 25);
}

TEST(Licence, Attribution) {
  for (const char* id : {"MIT", "BSD-3-Clause", "BSD-2-Clause", "Apache-2.0", "CC-BY-4.0", "CC-BY-SA-4.0",
                         "CC-BY-NC-4.0", "GPL-3.0-only", "ODC-By-1.0", "proprietary", "MIT OR CC0-1.0"})
    EXPECT_TRUE(RequiresAttribution(id)) << id;
  for (const char* id : {"CC0-1.0", "PDDL-1.0", "public domain", "MIT-0", "0BSD", "Unlicense"})
    EXPECT_FALSE(RequiresAttribution(id)) << id;
}

TEST(Licence, VerdictsAndMessage) {
  std::vector<LicenceInput> in = {
      {"m.toml:10:1: [[data]] 'A' (a.txt)", "data source 'A'", "CC-BY-NC-4.0", "", "this [[data]] entry"},
      {"m.toml:20:1: [[data]] 'B' (b.txt)", "data source 'B'", "CC-BY-ND-4.0", "Written permission from the author, 2024-05-01", "this [[data]] entry"},
      {"m.toml:30:1: [[data]] 'C' (c.txt)", "data source 'C'", "BSD-3-Clause", "", "this [[data]] entry"},
  };
  auto v = CheckLicences("MIT", in);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].status, "conflict");
  EXPECT_EQ(v[1].status, "acknowledged");
  EXPECT_EQ(v[2].status, "ok");
  EXPECT_TRUE(v[2].attribution);
  Status st = LicenceCheckStatus("MIT", v);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.message();
  EXPECT_TRUE(Contains(m, "1 source in conflict")) << m;
  EXPECT_TRUE(Contains(m, "m.toml:10:1: [[data]] 'A' (a.txt): licence conflict")) << m;
  EXPECT_TRUE(Contains(m, "\"CC-BY-NC-4.0\"")) << m;
  EXPECT_TRUE(Contains(m, "\"MIT\"")) << m;
  EXPECT_TRUE(Contains(m, "non-commercial: ")) << m;
  EXPECT_TRUE(Contains(m, "license_acknowledgement = ")) << m;
  EXPECT_FALSE(Contains(m, "'B'")) << "acknowledged sources are not errors\n" << m;
  v.erase(v.begin());
  EXPECT_TRUE(LicenceCheckStatus("MIT", v).ok());
}

// --- model.toml: license_acknowledgement -----------------------------------

class LicenceRecipe : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string Write(const std::string& data_license, const std::string& extra) {
    const std::string dir = tmp_ / "src";
    WriteText(dir + "/corpus.txt", MakeCorpus(42, 30000));
    std::string t = ModelToml(SourceSpec{}, "sha256 = \"" + Sha256Hex(MakeCorpus(42, 30000)) + "\"", extra);
    const std::string from = "license = \"CC0-1.0\"";
    t.replace(t.find(from), from.size(), "license = \"" + data_license + "\"");
    WriteText(dir + "/model.toml", t);
    return dir;
  }
};

TEST_F(LicenceRecipe, AcknowledgementIsParsedAndPartOfTheSourceHash) {
  Recipe plain, ack;
  ASSERT_TRUE(LoadRecipe(Write("CC-BY-NC-4.0", ""), &plain).ok());
  EXPECT_FALSE(Contains(plain.NormalizedJson(), "license_acknowledgement"));
  ASSERT_TRUE(LoadRecipe(Write("CC-BY-NC-4.0", "license_acknowledgement = \"Licensed to us commercially\"\n"), &ack).ok());
  EXPECT_EQ(ack.data[0].license_acknowledgement, "Licensed to us commercially");
  EXPECT_TRUE(Contains(ack.NormalizedJson(), "\"license_acknowledgement\":\"Licensed to us commercially\""));
  EXPECT_NE(plain.SourceHash(), ack.SourceHash());

  Status st = CheckRecipeLicences(plain, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), plain.toml_path + ":" + std::to_string(plain.data[0].line) + ":1: [[data]] 'Generated words' (corpus.txt)"))
      << st.message();
  std::vector<LicenceVerdict> v;
  EXPECT_TRUE(CheckRecipeLicences(ack, nullptr, &v).ok());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].status, "acknowledged");
}

TEST_F(LicenceRecipe, AcknowledgementErrors) {
  Recipe r;
  const std::string dir = Write("CC-BY-NC-4.0", "license_acknowledgement = \"\"\n");
  Status st = LoadRecipe(dir, &r);
  ASSERT_FALSE(st.ok());
  const std::string toml = Slurp(dir + "/model.toml");
  EXPECT_TRUE(Contains(st.message(), ":" + std::to_string(LineOf(toml, "license_acknowledgement")) +
                                         ":27: [[data]] license_acknowledgement: must not be empty"))
      << st.message();
  st = LoadRecipe(Write("CC-BY-NC-4.0", "license_acknowledgement = 3\n"), &r);
  EXPECT_TRUE(Contains(st.message(), "license_acknowledgement: expected a string, got an integer")) << st.message();
  st = LoadRecipe(Write("CC-BY-NC-4.0", "licence_acknowledgement = \"x\"\n"), &r);
  EXPECT_TRUE(Contains(st.message(), "[[data]] licence_acknowledgement: unknown key")) << st.message();
}

// --- modelc build ------------------------------------------------------------

TEST_F(LicenceRecipe, BuildRefusesAConflictAndRecordsAnAcknowledgement) {
  const std::string out = tmp_ / "m.gguf";
  std::string dir = Write("CC-BY-NC-SA-4.0", "");
  Proc p = RunModelc({"build", dir, "-o", out, "-q"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: licence check failed")) << p;
  EXPECT_TRUE(Contains(p.err, dir + "/model.toml:")) << p;
  EXPECT_TRUE(Contains(p.err, "'Generated words'")) << p;
  EXPECT_TRUE(Contains(p.err, "non-commercial: \"CC-BY-NC-SA-4.0\" is a NonCommercial licence")) << p;
  EXPECT_TRUE(Contains(p.err, "share-alike: ")) << p;
  EXPECT_TRUE(Contains(p.err, "the model's licence \"MIT\"")) << p;
  EXPECT_TRUE(Contains(p.err, "add license_acknowledgement")) << p;
  EXPECT_FALSE(Contains(p.err, "step ")) << "the check runs before training\n" << p;
  EXPECT_FALSE(fs::exists(out));

  dir = Write("CC-BY-NC-SA-4.0", "license_acknowledgement = \"The rights holder licensed it to us under MIT\"\n");
  p = RunModelc({"build", dir, "-o", out, "-q", "--threads", "1"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  p = RunModelc({"credits", out});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "acknowledged licence conflict: The rights holder licensed it to us under MIT")) << p;
  p = RunModelc({"inspect", out});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "licence conflict acknowledged: The rights holder licensed it to us under MIT")) << p;
  // verify rebuilds through the same check.
  p = RunModelc({"verify", out, "--source", dir, "--threads", "1"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
}

}  // namespace
}  // namespace modelc
