// The model.toml schema: every table and key the parser accepts, with its
// type, whether it is required or its default, the allowed range or values
// and its meaning.
//
// This is the one table the parser (source/recipe.cpp) validates against:
// unknown keys, wrong types, out-of-range values, values not allowed,
// missing required keys and defaults all come from here. Rules that relate
// two keys (n_embd divisible by n_head, min_lr <= learning_rate, ...) are
// checked in recipe.cpp next to the code that uses them; `rule` documents
// them. docs/model-toml.md is RecipeReferenceMarkdown() (a test keeps the two
// equal: tests/recipe_reference_test.cpp).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace modelc {

enum class RecipeKeyType {
  kString,
  kInteger,
  kNumber,       // a float; an integer is accepted too
  kStringArray,  // an array of strings
  kSplit,        // [[data]] split: one of `allowed` (strings) or a number in (lo, hi)
  kBoolean,      // true or false
};

// Value checks beyond type and range.
enum class RecipeCheck {
  kNone,
  kPlainName,  // letters, digits, '-', '_', '.'; not starting with '.'; at most 128 characters
  kSha256,     // 64 lowercase hex digits (not checked by `modelc build --pin`)
};

struct RecipeKey {
  std::string name;
  RecipeKeyType type = RecipeKeyType::kString;
  bool required = false;

  // Default when the key is absent (and not required). For kComputed the
  // parser computes it from other keys and `default_text` says how.
  enum class Default { kNone, kInt, kNumber, kString, kEmptyArray, kComputed, kBool };
  Default default_kind = Default::kNone;
  int64_t default_int = 0;
  double default_number = 0;
  std::string default_string;
  bool default_bool = false;
  std::string default_text;

  // kInteger: int_min <= v <= int_max.
  int64_t int_min = std::numeric_limits<int64_t>::min();
  int64_t int_max = std::numeric_limits<int64_t>::max();
  // kNumber, kSplit: v > lo (lo_open) or v >= lo; v < hi (hi_open) or v <= hi.
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  // kString, kSplit: the allowed strings (empty: any string).
  std::vector<std::string> allowed;
  // The problem reported for a string not in `allowed`; "{}" stands for the
  // value. Empty: `must be "a" or "b" (got "x")`.
  std::string bad_value;
  bool nonempty = false;  // kString: "" is an error
  RecipeCheck check = RecipeCheck::kNone;

  // Only with another key of the same table: allowed when `only_when_key`
  // (a string key read before this one) equals `only_when_value` (and then
  // required, unless only_when_optional); an error when given otherwise
  // (`only_when_note` explains); the default applies then.
  std::string only_when_key, only_when_value, only_when_note;
  bool only_when_optional = false;

  // Recognised but refused, with this problem (e.g. [[data]] url).
  std::string unsupported;

  // A rule relating this key to others, checked in recipe.cpp (for the
  // reference only).
  std::string rule;

  std::string meaning;
  // A valid value as TOML text, for the reference's complete example (which
  // a test parses). Empty for unsupported keys.
  std::string example;
};

struct RecipeTable {
  std::string name;    // "model", "data", ...
  bool array = false;  // [[name]]: an array of tables
  bool required = false;
  std::string meaning;
  std::vector<RecipeKey> keys;

  // "[model]", or "[[data]]" for arrays of tables.
  std::string Display() const { return array ? "[[" + name + "]]" : "[" + name + "]"; }
  const RecipeKey* Find(std::string_view key) const;
  std::vector<std::string> KeyNames() const;
};

// Every table, in the order of the reference (and of validation).
const std::vector<RecipeTable>& RecipeSchema();
// The table named `name`; nullptr if there is none.
const RecipeTable* FindRecipeTable(std::string_view name);

// Levenshtein distance (insertions, deletions, substitutions; bytes).
size_t EditDistance(std::string_view a, std::string_view b);
// The candidates nearest to `name`, when near enough to be a likely typo:
// distance <= 1 for names of up to 4 characters, <= 2 for longer ones, and
// less than the length of `name`. All candidates at the smallest distance,
// in the given order; empty when none is close.
std::vector<std::string> ClosestNames(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean \"x\"?)", " (did you mean \"x\" or \"y\"?)", or "".
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates);
// The same for a misspelt top-level table: `name` is compared with the table
// names, the suggestion is written as the table is ("[train]", "[[data]]").
std::string DidYouMeanTable(std::string_view name);
// The tables, other than `except`, that have a key named `key`, as written
// ("[architecture]"): for a key put in the wrong table.
std::vector<std::string> TablesWithKey(std::string_view key, std::string_view except);
// "[model], [architecture], ..., [train]": every table, in schema order.
std::string RecipeTableList();

// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
std::string QuotedAlternatives(const std::vector<std::string>& values);
// A number as TOML float text, shortest that reads back exactly: 0.0, 0.9,
// 1e-8.
std::string TomlNumberText(double v);

// Text of the reference's columns for one key.
std::string RecipeKeyTypeText(const RecipeKey& k);
std::string RecipeKeyDefaultText(const RecipeKey& k);
std::string RecipeKeyRangeText(const RecipeKey& k);

// A complete model.toml that sets every supported key of every table to its
// example value (one [[data]] entry). It names data file "corpus.txt" and
// base model "../base.gguf", relative to the model folder.
std::string RecipeExampleToml();

// docs/model-toml.md: a header, then one Markdown table per model.toml table
// (key, type, required/default, allowed range, meaning), then the complete
// example.
std::string RecipeReferenceMarkdown();

}  // namespace modelc
