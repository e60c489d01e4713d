// The model.toml schema table (source/recipe_schema.h): docs/model-toml.md is
// its generated reference, its complete example parses, the parser accepts
// every key it lists and refuses every value outside it, and typos get
// "did you mean".
#include "source/recipe_schema.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "source/recipe.h"
#include "util/atomic_file.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The first line where a and b differ, for a readable failure.
std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0, line = 1;
  while (i < a.size() && i < b.size() && a[i] == b[i]) line += a[i++] == '\n';
  auto line_at = [&](const std::string& s) {
    size_t from = s.rfind('\n', i == 0 ? 0 : i - 1);
    from = from == std::string::npos || i == 0 ? 0 : from + 1;
    return s.substr(from, s.find('\n', from) - from);
  };
  return "line " + std::to_string(line) + ":\n  file:     " + line_at(a) + "\n  expected: " + line_at(b);
}

TEST(RecipeReference, DocMatchesSchema) {
  const std::string doc = std::string(MODELC_SOURCE_DIR) + "/docs/model-toml.md";
  const std::string expected = RecipeReferenceMarkdown();
  std::string actual;
  Status st = ReadFile(doc, &actual);
  if (st.ok() && actual == expected) return;
  // Leave the expected text next to the test binary (the build folder) and
  // say how to update the doc.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const std::string out = (ec ? fs::current_path() : exe.parent_path()).string() + "/model-toml.md.expected";
  Status wst = WriteFileAtomic(out, expected);
  ADD_FAILURE() << doc << " is not RecipeReferenceMarkdown() (src/source/recipe_schema.cpp)"
                << (st.ok() ? ", first difference at " + FirstDifference(actual, expected) : ": " + st.message())
                << "\n"
                << (wst.ok() ? "To update it:  cp " + out + " " + doc : "(could not write " + out + ": " +
                                                                               wst.message() + ")");
}

TEST(RecipeReference, DocHasOneTablePerSchemaTable) {
  const std::string md = RecipeReferenceMarkdown();
  for (const RecipeTable& t : RecipeSchema()) {
    EXPECT_TRUE(Contains(md, "\n## `" + t.Display() + "`")) << t.Display();
    for (const RecipeKey& k : t.keys) EXPECT_TRUE(Contains(md, "\n| `" + k.name + "` | ")) << t.name << " " << k.name;
  }
  EXPECT_TRUE(Contains(md, "| key | type | required or default | allowed | meaning |"));
  EXPECT_TRUE(Contains(md, "```toml\n" + RecipeExampleToml() + "```\n"));
  // A few cells, spelled out.
  EXPECT_TRUE(Contains(md, "| `n_layer` | integer | required | 1 to 256 |")) << md;
  EXPECT_TRUE(Contains(md, "| `beta2` | number | `0.95` | >= 0.0 and < 1.0 |")) << md;
  EXPECT_TRUE(Contains(md, "| `lr_schedule` | string | `\"cosine\"` | \"cosine\" or \"constant\" |")) << md;
  EXPECT_TRUE(Contains(md, "| `eps` | number | `1e-8` | > 0.0 |")) << md;
}

// A model folder (root/model) with corpus.txt and ../base.gguf, as the
// example expects; the base is not read by LoadRecipe, only stat()ed.
class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/recipe_reference_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = fs::path(tmpl).lexically_normal().string();
    dir_ = root_ + "/model";
    fs::create_directories(dir_);
    Put(dir_ + "/corpus.txt", "Some text to train on. Some text to validate on.\n");
    Put(root_ + "/base.gguf", "not read by LoadRecipe\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Put(const std::string& path, const std::string& s) {
    std::ofstream f(path, std::ios::binary);
    f << s;
  }
  std::string Toml() const { return dir_ + "/model.toml"; }

  // A change to the example: the value of table.key (nullopt: remove the key).
  struct Edit {
    std::string table, key;
    std::optional<std::string> value;
  };

  // The example built from the schema (independently of RecipeExampleToml),
  // with edits applied; an edit of a key not in the schema adds it. *line
  // receives the line of the first edit's key (or of its table when removed).
  static std::string Build(const std::vector<Edit>& edits, int* line = nullptr) {
    std::string o;
    int n = 0;
    auto add = [&](const std::string& s) {
      o += s + "\n";
      ++n;
    };
    for (const RecipeTable& t : RecipeSchema()) {
      add(t.Display());
      const int table_line = n;
      std::vector<std::string> keys = t.KeyNames();
      for (const Edit& e : edits)
        if (e.table == t.name && !t.Find(e.key)) keys.push_back(e.key);
      for (const std::string& key : keys) {
        const RecipeKey* k = t.Find(key);
        std::optional<std::string> value;
        if (k && k->unsupported.empty()) value = k->example;
        bool first_edit = false;
        for (size_t i = 0; i < edits.size(); ++i)
          if (edits[i].table == t.name && edits[i].key == key) {
            value = edits[i].value;
            first_edit = i == 0;
          }
        if (value) add(key + " = " + *value);
        if (first_edit && line) *line = value ? n : table_line;
      }
      add("");
    }
    return o;
  }

  Status Load(const std::string& toml, Recipe* r) {
    Put(Toml(), toml);
    return LoadRecipe(dir_, r);
  }
  std::string LoadError(const std::vector<Edit>& edits, int* line = nullptr) {
    Recipe r;
    const std::string toml = Build(edits, line);
    Status st = Load(toml, &r);
    EXPECT_FALSE(st.ok()) << toml;
    return st.message();
  }
  // Edits that keep the file valid when `key` of `t` is set to `value`:
  // keys that exist only for another value of `key` are removed.
  static std::vector<Edit> With(const RecipeTable& t, const std::string& key, const std::string& value) {
    std::vector<Edit> edits = {{t.name, key, value}};
    for (const RecipeKey& k : t.keys)
      if (k.only_when_key == key && "\"" + k.only_when_value + "\"" != value) edits.push_back({t.name, k.name, {}});
    return edits;
  }

  std::string root_, dir_;
};

TEST_F(SchemaTest, ExampleParses) {
  Recipe r;
  Status st = Load(RecipeExampleToml(), &r);
  ASSERT_TRUE(st.ok()) << st.message() << "\n" << RecipeExampleToml();
  EXPECT_EQ(r.model.name, "tiny-example");
  EXPECT_EQ(r.model.authors.size(), 2u);
  EXPECT_EQ(r.tokenizer.kind, "bpe");
  EXPECT_EQ(r.tokenizer.vocab_size, 320);
  ASSERT_EQ(r.data.size(), 1u);
  EXPECT_EQ(r.data[0].resolved, dir_ + "/corpus.txt");
  EXPECT_TRUE(r.data[0].split_is_fraction);
  EXPECT_FALSE(r.data[0].license_acknowledgement.empty());
  ASSERT_TRUE(r.base.has_value());
  EXPECT_EQ(r.base->resolved, root_ + "/base.gguf");
  EXPECT_EQ(r.train.chain_every, 100);
  EXPECT_DOUBLE_EQ(r.train.eps, 1e-8);
  // The example sets every supported key, each inside its own table.
  const std::string ex = RecipeExampleToml();
  for (const RecipeTable& t : RecipeSchema()) {
    size_t at = ex.find("\n" + t.Display() + "\n");
    ASSERT_NE(at, std::string::npos) << t.Display();
    size_t end = ex.find("\n[", at + 1);
    const std::string section = ex.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (const RecipeKey& k : t.keys) {
      EXPECT_EQ(Contains(section, "\n" + k.name + " = "), k.unsupported.empty()) << t.Display() << " " << k.name;
      EXPECT_EQ(k.example.empty(), !k.unsupported.empty()) << t.Display() << " " << k.name;
    }
  }
  // The test's own builder writes the same file.
  Recipe b;
  st = Load(Build({}), &b);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.NormalizedJson(), b.NormalizedJson());
}

TEST_F(SchemaTest, EveryKeyAcceptsItsBoundsAndAllowedValues) {
  int checked = 0;
  for (const RecipeTable& t : RecipeSchema()) {
    for (const RecipeKey& k : t.keys) {
      if (!k.unsupported.empty()) continue;
      std::vector<std::string> good;
      // Bounds are values on their own; a key with a rule relating it to
      // others may refuse them for that reason.
      if (k.rule.empty() && k.type == RecipeKeyType::kInteger) {
        if (k.int_min != std::numeric_limits<int64_t>::min()) good.push_back(std::to_string(k.int_min));
        if (k.int_max != std::numeric_limits<int64_t>::max()) good.push_back(std::to_string(k.int_max));
      }
      if (k.rule.empty() && k.type == RecipeKeyType::kNumber && std::isfinite(k.lo) && !k.lo_open)
        good.push_back(TomlNumberText(k.lo));
      if (k.type == RecipeKeyType::kString)
        for (const std::string& a : k.allowed) good.push_back("\"" + a + "\"");
      for (const std::string& v : good) {
        Recipe r;
        const std::string toml = Build(With(t, k.name, v));
        Status st = Load(toml, &r);
        EXPECT_TRUE(st.ok()) << t.Display() << " " << k.name << " = " << v << ": " << st.message();
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST_F(SchemaTest, EveryKeyRefusesValuesOutsideTheTable) {
  int checked = 0;
  for (const RecipeTable& t : RecipeSchema()) {
    for (const RecipeKey& k : t.keys) {
      if (!k.unsupported.empty()) continue;
      std::vector<std::string> bad;
      switch (k.type) {
        case RecipeKeyType::kString: bad = {"1", "[\"x\"]"}; break;
        case RecipeKeyType::kInteger: bad = {"\"1\"", "1.5", "true"}; break;
        case RecipeKeyType::kNumber: bad = {"\"1\"", "true", "nan", "inf", "-inf"}; break;
        case RecipeKeyType::kStringArray: bad = {"\"x\"", "[1]", "[\"x\", 2]"}; break;
        case RecipeKeyType::kSplit: bad = {"true", "\"test\"", "nan"}; break;
        case RecipeKeyType::kBoolean: bad = {"1", "\"true\"", "0.0"}; break;
      }
      if (k.type == RecipeKeyType::kInteger) {
        if (k.int_min != std::numeric_limits<int64_t>::min()) bad.push_back(std::to_string(k.int_min - 1));
        if (k.int_max != std::numeric_limits<int64_t>::max()) bad.push_back(std::to_string(k.int_max + 1));
      }
      if (k.type == RecipeKeyType::kNumber || k.type == RecipeKeyType::kSplit) {
        if (std::isfinite(k.lo)) bad.push_back(TomlNumberText(k.lo_open ? k.lo : k.lo - 1));
        if (std::isfinite(k.hi)) bad.push_back(TomlNumberText(k.hi_open ? k.hi : k.hi + 1));
      }
      if (k.type == RecipeKeyType::kString && !k.allowed.empty()) bad.push_back("\"" + k.allowed[0] + "x\"");
      if (k.nonempty) bad.push_back("\"\"");
      if (k.check == RecipeCheck::kPlainName)
        for (const char* v : {"\"../up\"", "\".hidden\"", "\"a b\"", "\"a/b\""}) bad.push_back(v);
      if (k.check == RecipeCheck::kPlainName) bad.push_back("\"" + std::string(129, 'a') + "\"");
      if (k.check == RecipeCheck::kSha256) {
        bad.push_back("\"abc\"");
        bad.push_back("\"" + std::string(64, 'A') + "\"");
        bad.push_back("\"" + std::string(63, 'a') + "g\"");
      }
      for (const std::string& v : bad) {
        int line = 0;
        std::string msg = LoadError(With(t, k.name, v), &line);
        EXPECT_EQ(msg.rfind(Toml() + ":" + std::to_string(line) + ":", 0), 0u) << k.name << " = " << v << ": " << msg;
        EXPECT_TRUE(Contains(msg, t.Display() + " " + k.name + ": ")) << k.name << " = " << v << ": " << msg;
        ++checked;
      }
      if (k.required) {
        int line = 0;
        std::string msg = LoadError({{t.name, k.name, {}}}, &line);
        EXPECT_EQ(msg, Toml() + ":" + std::to_string(line) + ":1: " + t.Display() + " " + k.name +
                           ": missing required key");
        ++checked;
      }
      if (!k.only_when_key.empty()) {
        // Given with the other value of the key it depends on.
        const RecipeKey* on = t.Find(k.only_when_key);
        ASSERT_NE(on, nullptr);
        for (const std::string& other : on->allowed) {
          if (other == k.only_when_value) continue;
          // This key alone of those that depend on the same key stays.
          std::vector<Edit> edits = {{t.name, k.only_when_key, "\"" + other + "\""}};
          for (const RecipeKey& k2 : t.keys)
            if (k2.only_when_key == k.only_when_key && k2.name != k.name) edits.push_back({t.name, k2.name, {}});
          std::string msg = LoadError(edits);
          EXPECT_TRUE(Contains(msg, t.Display() + " " + k.name + ": only for " + k.only_when_key + " = \"" +
                                        k.only_when_value + "\""))
              << msg;
          ++checked;
        }
        // Required with the value it depends on (the example's), unless optional.
        if (!k.only_when_optional) {
          std::string msg = LoadError({{t.name, k.name, {}}});
          EXPECT_TRUE(Contains(msg, t.Display() + " " + k.name + ": missing required key")) << msg;
        }
      }
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_F(SchemaTest, UnsupportedKeysAreRefusedWithTheirReason) {
  for (const RecipeTable& t : RecipeSchema())
    for (const RecipeKey& k : t.keys) {
      if (k.unsupported.empty()) continue;
      std::string msg = LoadError({{t.name, k.name, "\"x\""}});
      EXPECT_TRUE(Contains(msg, t.Display() + " " + k.name + ": " + k.unsupported)) << msg;
    }
}

TEST_F(SchemaTest, KeysNotInTheTableAreRefused) {
  for (const RecipeTable& t : RecipeSchema()) {
    int line = 0;
    std::string msg = LoadError({{t.name, "zz_not_a_key", "1"}}, &line);
    EXPECT_EQ(msg, Toml() + ":" + std::to_string(line) + ":1: " + t.Display() + " zz_not_a_key: unknown key");
  }
}

TEST_F(SchemaTest, DefaultsAreWhatTheTableSays) {
  Recipe full;
  ASSERT_TRUE(Load(Build({}), &full).ok());
  int checked = 0;
  for (const RecipeTable& t : RecipeSchema()) {
    for (const RecipeKey& k : t.keys) {
      using D = RecipeKey::Default;
      if (k.required || !k.unsupported.empty() || !k.only_when_key.empty()) continue;
      if (k.default_kind == D::kNone || k.default_kind == D::kComputed) continue;
      // Alone, a [[data]] source with the default split = "train" leaves no
      // validation data; the default itself is checked in tests/recipe_test.cpp.
      if (k.type == RecipeKeyType::kSplit) continue;
      std::string text = RecipeKeyDefaultText(k);
      ASSERT_GE(text.size(), 2u);
      text = text.substr(1, text.size() - 2);  // `...`
      std::vector<Edit> absent_edits = With(t, k.name, text);  // keys that depend on this one go too
      absent_edits[0].value.reset();
      Recipe absent, explicit_default;
      Status st = Load(Build(absent_edits), &absent);
      ASSERT_TRUE(st.ok()) << k.name << ": " << st.message();
      if (k.example != text) {
        EXPECT_NE(absent.NormalizedJson(), full.NormalizedJson()) << t.Display() << " " << k.name;
      }
      ++checked;
      // "" written out is refused where the key must not be empty.
      if (k.nonempty) continue;
      st = Load(Build(With(t, k.name, text)), &explicit_default);
      ASSERT_TRUE(st.ok()) << k.name << " = " << text << ": " << st.message();
      EXPECT_EQ(absent.NormalizedJson(), explicit_default.NormalizedJson()) << t.Display() << " " << k.name;
    }
  }
  EXPECT_GT(checked, 15);

  // The computed defaults.
  Recipe r;
  ASSERT_TRUE(
      Load(Build({{"train", "micro_batch_size", {}}, {"train", "chain_every", {}}, {"train", "steps", "95"}}), &r).ok());
  EXPECT_EQ(r.train.micro_batch_size, r.train.batch_size);
  EXPECT_EQ(r.train.chain_every, 10);
  // Without [tokenizer]: a byte tokenizer.
  std::string toml = Build({{"tokenizer", "kind", {}}, {"tokenizer", "vocab_size", {}}});
  toml.replace(toml.find("[tokenizer]\n"), 12, "");
  ASSERT_TRUE(Load(toml, &r).ok()) << toml;
  EXPECT_EQ(r.tokenizer.kind, "byte");
  EXPECT_EQ(r.tokenizer.vocab_size, 256);
}

TEST_F(SchemaTest, DidYouMeanForAMisspeltKeyInEveryTable) {
  int checked = 0;
  for (const RecipeTable& t : RecipeSchema()) {
    for (const RecipeKey& k : t.keys) {
      if (!k.unsupported.empty()) continue;
      // The last character dropped, and one in the middle doubled.
      for (const std::string& typo :
           {k.name.substr(0, k.name.size() - 1), k.name.substr(0, 2) + k.name.substr(1)}) {
        std::vector<Edit> edits = {{t.name, k.name, {}}, {t.name, typo, k.example}};
        std::string msg = LoadError(edits);
        const std::string head = t.Display() + " " + typo + ": unknown key (did you mean ";
        size_t at = msg.find(head);
        ASSERT_NE(at, std::string::npos) << msg;
        EXPECT_TRUE(Contains(msg.substr(at + head.size()), "\"" + k.name + "\"")) << msg;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 50);
}

TEST_F(SchemaTest, DidYouMeanExamples) {
  int line = 0;
  std::string msg = LoadError({{"architecture", "n_layers", "4"}, {"architecture", "n_layer", {}}}, &line);
  EXPECT_EQ(msg, Toml() + ":" + std::to_string(line) +
                     ":1: [architecture] n_layers: unknown key (did you mean \"n_layer\"?)");
  msg = LoadError({{"train", "beta", "0.9"}});
  EXPECT_TRUE(Contains(msg, "[train] beta: unknown key (did you mean \"beta1\" or \"beta2\"?)")) << msg;
  msg = LoadError({{"train", "Learning_Rate", "0.1"}});
  EXPECT_TRUE(Contains(msg, "[train] Learning_Rate: unknown key (did you mean \"learning_rate\"?)")) << msg;
  // A key of another table.
  msg = LoadError({{"train", "n_embd", "64"}});
  EXPECT_TRUE(Contains(msg, "[train] n_embd: unknown key (n_embd belongs in [architecture])")) << msg;
  // Far from everything: no suggestion.
  msg = LoadError({{"train", "momentum", "0.9"}});
  EXPECT_TRUE(Contains(msg, "[train] momentum: unknown key") && !Contains(msg, "did you mean")) << msg;
}

TEST_F(SchemaTest, DidYouMeanForAMisspeltTable) {
  const std::string good = Build({});
  for (const RecipeTable& t : RecipeSchema()) {
    const std::string typo = t.name.substr(0, t.name.size() - 1);
    const std::string shown = t.array ? "[[" + typo + "]]" : "[" + typo + "]";
    Recipe r;
    Status st = Load(good + shown + "\nx = 1\n", &r);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(Contains(st.message(), shown + ": unknown table (did you mean \"" + t.Display() + "\"?)"))
        << st.message();
    EXPECT_EQ(st.message().rfind(Toml() + ":", 0), 0u) << st.message();
  }
  Recipe r;
  std::string toml = good;
  toml.replace(toml.find("[train]\n"), 8, "[trian]\n");
  Status st = Load(toml, &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "[trian]: unknown table (did you mean \"[train]\"?)")) << st.message();
  // No near table: the list of tables instead.
  st = Load(good + "[optimizer]\nx = 1\n", &r);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "[optimizer]: unknown table (expected " + RecipeTableList() + ")"))
      << st.message();
  // A key written above every table.
  st = Load("steps = 10\n" + good, &r);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            Toml() + ":1:1: steps: unknown top-level key (keys go inside a table: steps belongs in [train])");
}

TEST(RecipeSchemaText, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("same", "same"), 0u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("sitting", "kitten"), 3u);
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(EditDistance("n_layers", "n_layer"), 1u);
  EXPECT_EQ(EditDistance("trian", "train"), 2u);  // a transposition is two edits
  EXPECT_EQ(EditDistance("abc", "xyz"), 3u);
}

TEST(RecipeSchemaText, ClosestNamesAndDidYouMean) {
  const std::vector<std::string> keys = {"beta1", "beta2", "eps", "seed", "steps", "n_layer"};
  EXPECT_EQ(ClosestNames("beta", keys), (std::vector<std::string>{"beta1", "beta2"}));
  EXPECT_EQ(ClosestNames("step", keys), (std::vector<std::string>{"steps"}));
  EXPECT_EQ(ClosestNames("ep", keys), (std::vector<std::string>{"eps"}));
  EXPECT_TRUE(ClosestNames("eps", keys).empty());       // known: nothing to suggest
  EXPECT_TRUE(ClosestNames("sed", {"seed", "eps"}).size() == 1);
  EXPECT_TRUE(ClosestNames("abcd", {"abxy"}).empty());  // two edits is too many for 4 characters
  EXPECT_EQ(ClosestNames("n_layrs", keys), (std::vector<std::string>{"n_layer"}));
  EXPECT_TRUE(ClosestNames("n_lyrs", keys).empty());    // three edits
  EXPECT_TRUE(ClosestNames("x", {"y"}).empty());        // as long as the name itself
  EXPECT_EQ(ClosestNames("N_LAYER", keys), (std::vector<std::string>{"n_layer"}));
  EXPECT_EQ(DidYouMean("beta", keys), " (did you mean \"beta1\" or \"beta2\"?)");
  EXPECT_EQ(DidYouMean("n_layers", keys), " (did you mean \"n_layer\"?)");
  EXPECT_EQ(DidYouMean("momentum", keys), "");
  EXPECT_EQ(DidYouMeanTable("trian"), " (did you mean \"[train]\"?)");
  EXPECT_EQ(DidYouMeanTable("dat"), " (did you mean \"[[data]]\"?)");
  EXPECT_EQ(DidYouMeanTable("optimizer"), "");
  EXPECT_EQ(QuotedAlternatives({"a", "b", "c"}), "\"a\", \"b\" or \"c\"");
}

TEST(RecipeSchemaText, TomlNumberText) {
  EXPECT_EQ(TomlNumberText(0), "0.0");
  EXPECT_EQ(TomlNumberText(1), "1.0");
  EXPECT_EQ(TomlNumberText(0.9), "0.9");
  EXPECT_EQ(TomlNumberText(0.95), "0.95");
  EXPECT_EQ(TomlNumberText(1e-8), "1e-8");
  EXPECT_EQ(TomlNumberText(3e-4), "0.0003");
  EXPECT_EQ(TomlNumberText(-1), "-1.0");
}

}  // namespace
}  // namespace modelc
