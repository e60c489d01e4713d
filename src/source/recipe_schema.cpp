// The model.toml schema table, "did you mean" and the generated reference
// (docs/model-toml.md).
#include "source/recipe_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace modelc {
namespace {

using T = RecipeKeyType;
using D = RecipeKey::Default;

// A fluent builder, so that each key of the table below reads as one entry.
class K {
 public:
  K(std::string name, RecipeKeyType type) {
    k_.name = std::move(name);
    k_.type = type;
  }
  K& Required() { k_.required = true; return *this; }
  K& Int(int64_t v) { k_.default_kind = D::kInt; k_.default_int = v; return *this; }
  K& Num(double v) { k_.default_kind = D::kNumber; k_.default_number = v; return *this; }
  K& Str(std::string v) { k_.default_kind = D::kString; k_.default_string = std::move(v); return *this; }
  K& Bool(bool v) { k_.default_kind = D::kBool; k_.default_bool = v; return *this; }
  K& EmptyArray() { k_.default_kind = D::kEmptyArray; return *this; }
  K& Computed(std::string how) { k_.default_kind = D::kComputed; k_.default_text = std::move(how); return *this; }
  K& Range(int64_t lo, int64_t hi) { k_.int_min = lo; k_.int_max = hi; return *this; }
  K& Lo(double lo, bool open) { k_.lo = lo; k_.lo_open = open; return *this; }
  K& Hi(double hi, bool open) { k_.hi = hi; k_.hi_open = open; return *this; }
  K& Allowed(std::vector<std::string> a, std::string bad = "") {
    k_.allowed = std::move(a);
    k_.bad_value = std::move(bad);
    return *this;
  }
  K& NonEmpty() { k_.nonempty = true; return *this; }
  K& Check(RecipeCheck c) { k_.check = c; return *this; }
  K& OnlyWhen(std::string key, std::string value, std::string note) {
    k_.only_when_key = std::move(key);
    k_.only_when_value = std::move(value);
    k_.only_when_note = std::move(note);
    return *this;
  }
  // As OnlyWhen, but optional (its default applies) when allowed.
  K& OnlyFor(std::string key, std::string value, std::string note) {
    OnlyWhen(std::move(key), std::move(value), std::move(note));
    k_.only_when_optional = true;
    return *this;
  }
  K& Unsupported(std::string problem) { k_.unsupported = std::move(problem); return *this; }
  K& Rule(std::string r) { k_.rule = std::move(r); return *this; }
  K& Meaning(std::string m) { k_.meaning = std::move(m); return *this; }
  K& Example(std::string e) { k_.example = std::move(e); return *this; }
  operator RecipeKey() const { return k_; }

 private:
  RecipeKey k_;
};

// Step counts: far beyond any run, small enough for every int64 product the
// trainer forms with them.
constexpr int64_t kBig = int64_t(1) << 40;
// Placeholder hashes for the example; `modelc build --pin` writes real ones.
const char kExampleSha[] = "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"";

std::vector<RecipeTable> BuildSchema() {
  std::vector<RecipeTable> s;

  s.push_back({"model", false, true,
               "What the model is: its name, licence and authors. Recorded in the binary's metadata.",
               {
                   K("name", T::kString).Required().NonEmpty().Check(RecipeCheck::kPlainName)
                       .Meaning("The model's name; also the default output file name (<name>.gguf).")
                       .Example("\"tiny-example\""),
                   K("description", T::kString).Str("")
                       .Meaning("One line about the model.")
                       .Example("\"A tiny byte-pair GPT, as an example of every model.toml key.\""),
                   K("license", T::kString).Required().NonEmpty()
                       .Meaning("The model's licence, an SPDX id (e.g. \"MIT\"). Checked against every data "
                                "source's licence before training.")
                       .Example("\"MIT\""),
                   K("authors", T::kStringArray).EmptyArray()
                       .Meaning("The model's authors.")
                       .Example("[\"Ada Lovelace\", \"Charles Babbage\"]"),
               }});

  s.push_back({"architecture", false, true,
               "The network: a decoder-only transformer of one of the model families (src/model/family.h).",
               {
                   K("family", T::kString).Str("gpt")
                       .Allowed({"gpt", "llama"}, "unsupported family '{}' (\"gpt\" or \"llama\")")
                       .Meaning("The model family. \"gpt\": GPT-2 (learned positions, LayerNorm, GELU MLP of "
                                "4 n_embd, biases, tied LM head; GGUF architecture gpt2). \"llama\": the Llama "
                                "family (rotary positions, RMSNorm, SwiGLU MLP, grouped-query attention, no "
                                "biases; GGUF architecture llama).")
                       .Example("\"llama\""),
                   K("n_layer", T::kInteger).Required().Range(1, 256)
                       .Meaning("Number of transformer blocks.")
                       .Example("2"),
                   K("n_head", T::kInteger).Required().Range(1, 1024)
                       .Rule("Must divide n_embd; for llama, n_embd / n_head (the head size) must be even.")
                       .Meaning("Attention (query) heads per block.")
                       .Example("4"),
                   K("n_embd", T::kInteger).Required().Range(1, 16384)
                       .Rule("Must be divisible by n_head.")
                       .Meaning("Width of the residual stream (embedding size).")
                       .Example("64"),
                   K("context", T::kInteger).Required().Range(1, 65536)
                       .Rule("micro_batch_size x context must be at most 16777216 tokens.")
                       .Meaning("Context length in tokens (the training sequence length).")
                       .Example("128"),
                   K("n_head_kv", T::kInteger).Range(1, 1024).Computed("n_head")
                       .OnlyFor("family", "llama", "GPT-2 has one key/value head per query head")
                       .Rule("Must divide n_head.")
                       .Meaning("Key/value heads (grouped-query attention): each serves n_head / n_head_kv query "
                                "heads. n_head_kv = n_head is plain multi-head attention.")
                       .Example("2"),
                   K("ffn_hidden", T::kInteger).Range(1, 65536)
                       .Computed("8/3 n_embd rounded up to a multiple of 32")
                       .OnlyFor("family", "llama", "GPT-2's MLP is 4 n_embd wide")
                       .Meaning("Hidden width of the SwiGLU MLP (gate and up projections).")
                       .Example("160"),
                   K("rope_theta", T::kNumber).Num(10000.0).Lo(1, true).Hi(1e9, false)
                       .OnlyFor("family", "llama", "GPT-2 learns its position embeddings")
                       .Meaning("Base of the rotary position embedding's frequencies.")
                       .Example("10000.0"),
                   K("rms_eps", T::kNumber).Num(1e-5).Lo(0, true).Hi(0.1, false)
                       .OnlyFor("family", "llama", "GPT-2 uses LayerNorm with epsilon 1e-5")
                       .Meaning("Epsilon of RMSNorm.")
                       .Example("1e-5"),
                   K("tie_embeddings", T::kBoolean).Bool(true)
                       .OnlyFor("family", "llama", "GPT-2's LM head is always the token embedding")
                       .Meaning("The LM head is the token embedding (true) or a matrix of its own (false: "
                                "GGUF tensor output.weight).")
                       .Example("true"),
               }});

  s.push_back({"tokenizer", false, false, "How text becomes tokens. Optional: without it, kind = \"byte\".",
               {
                   K("kind", T::kString).Str("byte")
                       .Allowed({"byte", "bpe"}, "unknown tokenizer '{}' (\"byte\" or \"bpe\")")
                       .Meaning("\"byte\": token id = byte value (256 tokens). \"bpe\": byte-level BPE trained "
                                "on the training split with vocab_size tokens.")
                       .Example("\"bpe\""),
                   // Token ids are stored as uint16 in the dataset: at most 65536 tokens.
                   K("vocab_size", T::kInteger).Int(256).Range(256, 65536)
                       .OnlyWhen("kind", "bpe", "a byte tokenizer has 256 tokens")
                       .Meaning("Tokens in the vocabulary: the 256 byte tokens plus the learned merges.")
                       .Example("320"),
               }});

  s.push_back({"data", true, true,
               "One table per training text. At least one; together they must give training and validation "
               "data. Every file is pinned by its sha256.",
               {
                   K("path", T::kString).Required().NonEmpty()
                       .Meaning("The data file, relative to the model folder or absolute. Must be a regular "
                                "file (a symbolic link to one is fine).")
                       .Example("\"corpus.txt\""),
                   K("url", T::kString)
                       .Unsupported("fetching URLs is not supported yet; download the file, put it next to "
                                    "model.toml and use path = \"...\" (keep the address in source_url)")
                       .Meaning("Reserved for fetching data; not supported yet (use path, and source_url for "
                                "the address)."),
                   K("sha256", T::kString).Check(RecipeCheck::kSha256)
                       .Meaning("The file's sha256. A build refuses a file whose hash differs, and stops without "
                                "one, printing the actual hash; `modelc build --pin` writes it.")
                       .Example(kExampleSha),
                   K("title", T::kString).Str("")
                       .Meaning("The work's title, for credits.")
                       .Example("\"An example corpus\""),
                   K("author", T::kString).Str("").Meaning("The work's author, for credits.").Example("\"A. Writer\""),
                   K("license", T::kString).Str("")
                       .Meaning("The data's licence, an SPDX id; checked against [model] license.")
                       .Example("\"CC0-1.0\""),
                   K("source_url", T::kString).Str("")
                       .Meaning("Where the data came from, for credits.")
                       .Example("\"https://example.com/corpus.txt\""),
                   K("license_acknowledgement", T::kString).NonEmpty()
                       .Meaning("Why training on this source is allowed despite a licence conflict: the only "
                                "override of the licence check. Recorded in the binary.")
                       .Example("\"The rights holder granted us a separate licence.\""),
                   K("split", T::kSplit).Str("train").Allowed({"train", "val"},
                                                               "must be \"train\", \"val\" or a fraction in (0, "
                                                               "1) (got \"{}\")")
                       .Lo(0, true).Hi(1, true)
                       .Rule("Together the sources must give training data (\"train\" or a fraction) and "
                             "validation data (\"val\" or a fraction).")
                       .Meaning("\"train\", \"val\", or a fraction: that fraction of the file's bytes, at its end, "
                                "is validation data and the rest training data.")
                       .Example("0.1"),
               }});

  s.push_back({"base", false, false,
               "Fine-tuning: start from a model binary instead of a random initialization. Optional.",
               {
                   K("path", T::kString).Required().NonEmpty()
                       .Meaning("The base model binary (an F32 modelc binary with this [architecture]), relative to "
                                "the model folder or absolute. Must be a regular file.")
                       .Example("\"../base.gguf\""),
                   K("sha256", T::kString).Check(RecipeCheck::kSha256)
                       .Meaning("The base binary's sha256, pinned like data; `modelc build --pin` writes it.")
                       .Example(kExampleSha),
                   K("license_acknowledgement", T::kString).NonEmpty()
                       .Meaning("Why fine-tuning this base is allowed despite a licence conflict with it or its "
                                "sources. Recorded in the binary.")
                       .Example("\"The base model's authors allowed this use.\""),
               }});

  s.push_back({"train", false, true, "Training: AdamW with a learning-rate schedule.",
               {
                   K("steps", T::kInteger).Required().Range(1, kBig)
                       .Meaning("Optimizer steps.")
                       .Example("1000"),
                   K("batch_size", T::kInteger).Required().Range(1, 1 << 20)
                       .Rule("Must be a multiple of micro_batch_size.")
                       .Meaning("Sequences per optimizer step.")
                       .Example("16"),
                   K("micro_batch_size", T::kInteger).Range(1, 1 << 20).Computed("batch_size")
                       .Rule("Must divide batch_size; micro_batch_size x context must be at most 16777216 tokens.")
                       .Meaning("Sequences per forward/backward pass; gradients of batch_size / micro_batch_size "
                                "passes are accumulated. Does not change the result.")
                       .Example("8"),
                   K("learning_rate", T::kNumber).Required().Lo(0, true)
                       .Rule("Must be >= min_lr.")
                       .Meaning("Peak learning rate.")
                       .Example("0.003"),
                   K("warmup_steps", T::kInteger).Int(0).Range(0, kBig)
                       .Meaning("Steps of linear warmup up to learning_rate.")
                       .Example("100"),
                   K("lr_schedule", T::kString).Str("cosine").Allowed({"cosine", "constant"})
                       .Meaning("After warmup: \"cosine\" decays to min_lr at the last step; \"constant\" keeps "
                                "learning_rate.")
                       .Example("\"cosine\""),
                   K("min_lr", T::kNumber).Num(0).Lo(0, false)
                       .Rule("Must be <= learning_rate.")
                       .Meaning("The learning rate at the end of the cosine schedule.")
                       .Example("0.0003"),
                   K("weight_decay", T::kNumber).Num(0).Lo(0, false)
                       .Meaning("AdamW decoupled weight decay, applied to the 2-D weights.")
                       .Example("0.1"),
                   K("beta1", T::kNumber).Num(0.9).Lo(0, false).Hi(1, true)
                       .Meaning("AdamW first-moment decay.")
                       .Example("0.9"),
                   K("beta2", T::kNumber).Num(0.95).Lo(0, false).Hi(1, true)
                       .Meaning("AdamW second-moment decay.")
                       .Example("0.99"),
                   K("eps", T::kNumber).Num(1e-8).Lo(0, true)
                       .Meaning("AdamW epsilon.")
                       .Example("1e-8"),
                   K("grad_clip", T::kNumber).Num(1.0).Lo(0, false)
                       .Meaning("Clip the gradient's global norm to this; 0 disables clipping.")
                       .Example("1.0"),
                   K("seed", T::kInteger).Int(0).Range(0, std::numeric_limits<int64_t>::max())
                       .Meaning("Seed of the initialization and of batch sampling.")
                       .Example("1"),
                   K("eval_every", T::kInteger).Int(0).Range(0, kBig)
                       .Meaning("Steps between validation-loss evaluations; 0: only at the end.")
                       .Example("100"),
                   K("eval_batches", T::kInteger).Int(1).Range(1, 1 << 20)
                       .Meaning("Micro-batches per validation-loss evaluation.")
                       .Example("4"),
                   K("chain_every", T::kInteger).Range(1, kBig).Computed("steps / 10, rounded up")
                       .Meaning("Steps between links of the training hash chain (and default checkpoints).")
                       .Example("100"),
               }});
  return s;
}

std::string CellEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += '\\';
    if (c == '\n') {
      o += ' ';
      continue;
    }
    o += c;
  }
  return o;
}

std::string Code(const std::string& s) { return "`" + s + "`"; }

}  // namespace

const RecipeKey* RecipeTable::Find(std::string_view key) const {
  for (const RecipeKey& k : keys)
    if (k.name == key) return &k;
  return nullptr;
}

std::vector<std::string> RecipeTable::KeyNames() const {
  std::vector<std::string> v;
  for (const RecipeKey& k : keys) v.push_back(k.name);
  return v;
}

const std::vector<RecipeTable>& RecipeSchema() {
  static const std::vector<RecipeTable> schema = BuildSchema();
  return schema;
}

const RecipeTable* FindRecipeTable(std::string_view name) {
  for (const RecipeTable& t : RecipeSchema())
    if (t.name == name) return &t;
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // One row of the dynamic-programming table at a time.
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];  // row[i-1][j-1]
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];  // row[i-1][j]
      row[j] = std::min({up + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> ClosestNames(std::string_view name, const std::vector<std::string>& candidates) {
  // Short names are close to too much: "eps" is two edits from "seed".
  const size_t limit = std::min<size_t>(name.size() <= 4 ? 1 : 2, name.empty() ? 0 : name.size() - 1);
  std::vector<std::string> best;
  size_t best_d = limit + 1;
  auto lower = [](std::string_view v) {
    std::string l(v);
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return l;
  };
  const std::string lname = lower(name);
  for (const std::string& c : candidates) {
    if (c == name) continue;  // known: nothing to suggest
    // Keys are case-sensitive, but "N_Layer" is one mistake, not five.
    size_t d = std::max<size_t>(1, EditDistance(lname, lower(c)));
    if (d > limit) continue;
    if (d < best_d) {
      best_d = d;
      best.clear();
    }
    if (d == best_d) best.push_back(c);
  }
  return best;
}

std::string QuotedAlternatives(const std::vector<std::string>& values) {
  std::string o;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) o += i + 1 == values.size() ? " or " : ", ";
    o += "\"" + values[i] + "\"";
  }
  return o;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  std::vector<std::string> c = ClosestNames(name, candidates);
  if (c.empty()) return "";
  return " (did you mean " + QuotedAlternatives(c) + "?)";
}

std::string DidYouMeanTable(std::string_view name) {
  std::vector<std::string> names;
  for (const RecipeTable& t : RecipeSchema()) names.push_back(t.name);
  std::vector<std::string> c = ClosestNames(name, names);
  if (c.empty()) return "";
  for (std::string& n : c) n = FindRecipeTable(n)->Display();
  return " (did you mean " + QuotedAlternatives(c) + "?)";
}

std::vector<std::string> TablesWithKey(std::string_view key, std::string_view except) {
  std::vector<std::string> v;
  for (const RecipeTable& t : RecipeSchema())
    if (t.name != except && t.Find(key) && t.Find(key)->unsupported.empty()) v.push_back(t.Display());
  return v;
}

std::string RecipeTableList() {
  std::string o;
  for (const RecipeTable& t : RecipeSchema()) o += (o.empty() ? "" : ", ") + t.Display();
  return o;
}

std::string TomlNumberText(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  // "1e-08" -> "1e-8": the exponent without padding.
  size_t e = s.find('e');
  if (e != std::string::npos) {
    std::string mant = s.substr(0, e), exp = s.substr(e + 1);
    std::string sign;
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) {
      if (exp[0] == '-') sign = "-";
      exp = exp.substr(1);
    }
    while (exp.size() > 1 && exp[0] == '0') exp = exp.substr(1);
    return mant + "e" + sign + exp;
  }
  // A float, not an integer, in TOML.
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string RecipeKeyTypeText(const RecipeKey& k) {
  switch (k.type) {
    case T::kString: return "string";
    case T::kInteger: return "integer";
    case T::kNumber: return "number";
    case T::kStringArray: return "array of strings";
    case T::kSplit: return "string or number";
    case T::kBoolean: return "boolean";
  }
  return "";
}

std::string RecipeKeyDefaultText(const RecipeKey& k) {
  if (!k.unsupported.empty()) return "not supported";
  if (k.required) return "required";
  std::string d;
  switch (k.default_kind) {
    case D::kNone: d = "none"; break;
    case D::kInt: d = Code(std::to_string(k.default_int)); break;
    case D::kNumber: d = Code(TomlNumberText(k.default_number)); break;
    case D::kString: d = Code("\"" + k.default_string + "\""); break;
    case D::kEmptyArray: d = Code("[]"); break;
    case D::kComputed: d = k.default_text; break;
    case D::kBool: d = Code(k.default_bool ? "true" : "false"); break;
  }
  if (!k.only_when_key.empty() && k.only_when_optional)
    return d + "; only when " + k.only_when_key + " = \"" + k.only_when_value + "\"";
  if (!k.only_when_key.empty())
    return "required when " + k.only_when_key + " = \"" + k.only_when_value + "\"; otherwise " + d;
  return d;
}

std::string RecipeKeyRangeText(const RecipeKey& k) {
  if (!k.unsupported.empty()) return "refused";
  std::vector<std::string> parts;
  auto bound = [](bool open, bool low, double v) {
    return std::string(low ? (open ? "> " : ">= ") : (open ? "< " : "<= ")) + TomlNumberText(v);
  };
  switch (k.type) {
    case T::kInteger: {
      const bool has_lo = k.int_min != std::numeric_limits<int64_t>::min();
      const bool has_hi = k.int_max != std::numeric_limits<int64_t>::max();
      if (has_lo && has_hi)
        parts.push_back(std::to_string(k.int_min) + " to " + std::to_string(k.int_max));
      else if (has_lo)
        parts.push_back(">= " + std::to_string(k.int_min));
      else if (has_hi)
        parts.push_back("<= " + std::to_string(k.int_max));
      break;
    }
    case T::kNumber: {
      std::string r;
      if (std::isfinite(k.lo)) r = bound(k.lo_open, true, k.lo);
      if (std::isfinite(k.hi)) r += (r.empty() ? "" : " and ") + bound(k.hi_open, false, k.hi);
      parts.push_back(r.empty() ? "finite" : r);
      break;
    }
    case T::kSplit: {
      std::string alts;
      for (const std::string& a : k.allowed) alts += "\"" + a + "\", ";
      parts.push_back(alts + "or a number " + bound(k.lo_open, true, k.lo) + " and " + bound(k.hi_open, false, k.hi));
      break;
    }
    case T::kString:
      if (!k.allowed.empty()) parts.push_back(QuotedAlternatives(k.allowed));
      break;
    case T::kStringArray: break;
    case T::kBoolean: parts.push_back("true or false"); break;
  }
  if (k.nonempty) parts.push_back("not empty");
  if (k.check == RecipeCheck::kPlainName)
    parts.push_back("letters, digits, '-', '_' and '.'; not starting with '.'; at most 128 characters");
  if (k.check == RecipeCheck::kSha256) parts.push_back("64 lowercase hex digits");
  std::string o;
  for (const std::string& p : parts) o += (o.empty() ? "" : "; ") + p;
  return o.empty() ? "any" : o;
}

std::string RecipeExampleToml() {
  std::string o =
      "# Every key of model.toml (generated from src/source/recipe_schema.cpp).\n"
      "# The sha256 values are placeholders: `modelc build --pin` writes the real ones.\n";
  for (const RecipeTable& t : RecipeSchema()) {
    o += "\n" + t.Display() + "\n";
    for (const RecipeKey& k : t.keys)
      if (k.unsupported.empty() && !k.example.empty()) o += k.name + " = " + k.example + "\n";
  }
  return o;
}

std::string RecipeReferenceMarkdown() {
  std::string o =
      "# model.toml reference\n"
      "\n"
      "<!-- Generated from src/source/recipe_schema.cpp (RecipeReferenceMarkdown()); do not edit.\n"
      "     tests/recipe_reference_test.cpp checks that this file is up to date. -->\n"
      "\n"
      "A model source is a folder holding `model.toml` and, usually, its data files. These are every table and "
      "key that `model.toml` may hold; the parser (src/source/recipe.cpp) validates against this same table. "
      "Anything else is an error that names `file:line:column`, the table and the key: an unknown key or table "
      "(with a suggestion when it looks like a typo), a wrong type, a value out of range or not allowed, a "
      "missing required key. Relative paths are relative to the model folder. Every value, with defaults "
      "filled in, is part of the normalized recipe and so of the source hash recorded in the binary.\n"
      "\n"
      "Tables: " + RecipeTableList() + ".\n";
  for (const RecipeTable& t : RecipeSchema()) {
    o += "\n## " + Code(t.Display()) + (t.required ? " (required)" : " (optional)") + "\n\n";
    o += t.meaning + "\n\n";
    o += "| key | type | required or default | allowed | meaning |\n";
    o += "| --- | --- | --- | --- | --- |\n";
    for (const RecipeKey& k : t.keys) {
      std::string meaning = k.meaning;
      if (!k.only_when_note.empty())
        meaning += " Only with " + k.only_when_key + " = \"" + k.only_when_value + "\" (" + k.only_when_note + ").";
      if (!k.rule.empty()) meaning += " " + k.rule;
      o += "| " + Code(k.name) + " | " + RecipeKeyTypeText(k) + " | " + CellEscape(RecipeKeyDefaultText(k)) + " | " +
           CellEscape(RecipeKeyRangeText(k)) + " | " + CellEscape(meaning) + " |\n";
    }
  }
  o += "\n## A complete example\n\nEvery supported key, set to a valid value (the tests parse it):\n\n```toml\n" +
       RecipeExampleToml() + "```\n";
  return o;
}

}  // namespace modelc
