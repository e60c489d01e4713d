// model.toml: parsing, validation, normalization, hash checking and pinning.
//
// Keys, types, ranges, allowed values, required keys and defaults come from
// the schema table (source/recipe_schema.cpp); this file maps the validated
// values onto Recipe and checks the rules that relate keys to each other.
#include "source/recipe.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <toml++/toml.h>

#include "source/recipe_schema.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

const char* TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

struct Pos {
  int line = 1, col = 1;
};

Pos PosOf(const toml::source_region& r) {
  Pos p;
  if (r.begin.line > 0) {
    p.line = static_cast<int>(r.begin.line);
    p.col = static_cast<int>(r.begin.column > 0 ? r.begin.column : 1);
  }
  return p;
}

std::string At(const std::string& file, Pos p) {
  return file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": ";
}

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool IsPlainName(const std::string& s) {
  bool plain = !s.empty() && s.size() <= 128 && s[0] != '.';
  for (char ch : s) plain = plain && (std::isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.');
  return plain;
}

std::string FmtDouble(double v) {
  std::ostringstream ss;
  ss.precision(17);
  ss << v;
  return ss.str();
}

// Why `path` is not a readable regular file, or "" when it is one (or a
// symbolic link to one). `missing` is the problem for a path that does not
// exist. Only stat()s: opening a FIFO to look at it would block until a
// writer comes, and a device such as /dev/zero never ends.
std::string NonRegularFileProblem(const std::string& path, const std::string& missing) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      struct stat lst;
      if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
        return missing + " (a symbolic link to a file that does not exist)";
      return missing;
    }
    return "cannot access " + path + ": " + std::strerror(err);
  }
  const char* what = nullptr;
  if (S_ISREG(st.st_mode)) return "";
  if (S_ISDIR(st.st_mode)) what = "a directory";
  else if (S_ISCHR(st.st_mode)) what = "a character device";
  else if (S_ISBLK(st.st_mode)) what = "a block device";
  else if (S_ISFIFO(st.st_mode)) what = "a FIFO (named pipe)";
  else if (S_ISSOCK(st.st_mode)) what = "a socket";
  else what = "not a regular file";
  return path + " is " + what + ", not a regular file";
}

std::string DataMissing(const std::string& resolved) { return "data file not found: " + resolved; }
std::string BaseMissing(const std::string& resolved) {
  return "base model not found: " + resolved + " (build the base model first)";
}

// One key's validated value, or its default when the key is not given.
struct KeyValue {
  bool given = false;
  Pos pos;                 // the value's position; the table's when not given
  int64_t i = 0;           // kInteger
  double d = 0;            // kNumber; kSplit when is_number
  std::string s;           // kString; kSplit when !is_number
  std::vector<std::string> list;  // kStringArray
  bool is_number = false;  // kSplit: a fraction, not a string
  bool b = false;          // kBoolean
};

// Reads one table against its schema; the first problem found is kept.
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table* t, const RecipeTable& schema)
      : file_(file), t_(t), schema_(schema) {}

  bool ok() const { return st_.ok(); }
  const Status& status() const { return st_; }

  void Fail(Pos p, const std::string& key, const std::string& problem) {
    if (!st_.ok()) return;
    std::string where = At(file_, p) + schema_.Display();
    if (!key.empty()) where += " " + key;
    st_ = Status::Error(where + ": " + problem);
  }
  Pos TablePos() const { return t_ ? PosOf(t_->source()) : Pos{}; }

  // Unknown keys first (a typo beats "missing required key"), then keys that
  // are known but refused, then every key in schema order. With
  // lenient_sha256 a malformed sha256 is kept as written (for --pin).
  void Read(bool lenient_sha256) {
    lenient_sha256_ = lenient_sha256;
    if (t_) {
      for (auto&& [key, val] : *t_) {
        const std::string name(key.str());
        if (schema_.Find(name)) continue;
        std::string hint = DidYouMean(name, schema_.KeyNames());
        if (hint.empty()) {
          std::vector<std::string> elsewhere = TablesWithKey(name, schema_.name);
          if (!elsewhere.empty()) hint = " (" + name + " belongs in " + elsewhere[0] + ")";
        }
        Fail(PosOf(key.source()), name, "unknown key" + hint);
        return;
      }
      for (const RecipeKey& k : schema_.keys)
        if (!k.unsupported.empty() && t_->get(k.name)) Fail(PosOf(t_->get(k.name)->source()), k.name, k.unsupported);
    }
    for (const RecipeKey& k : schema_.keys) {
      if (!ok()) return;
      if (k.unsupported.empty()) ReadKey(k);
    }
  }

  // The value of a key of this table's schema (after a successful Read).
  const KeyValue& V(const std::string& key) const { return values_.at(key); }
  bool Given(const std::string& key) const { return V(key).given; }
  int64_t I(const std::string& key) const { return V(key).i; }
  double D(const std::string& key) const { return V(key).d; }
  bool B(const std::string& key) const { return V(key).b; }
  const std::string& S(const std::string& key) const { return V(key).s; }
  Pos KeyPos(const std::string& key) const { return V(key).pos; }

 private:
  void ReadKey(const RecipeKey& k) {
    const toml::node* n = t_ ? t_->get(k.name) : nullptr;
    KeyValue& v = values_[k.name];
    v.pos = n ? PosOf(n->source()) : TablePos();
    bool required = k.required;
    if (!k.only_when_key.empty()) {
      if (values_.at(k.only_when_key).s == k.only_when_value) {
        required = !k.only_when_optional;
      } else if (n) {
        Fail(v.pos, k.name,
             "only for " + k.only_when_key + " = \"" + k.only_when_value + "\" (" + k.only_when_note + ")");
        return;
      }
    }
    if (!n) {
      if (required) Fail(TablePos(), k.name, "missing required key");
      switch (k.default_kind) {
        case RecipeKey::Default::kInt: v.i = k.default_int; break;
        case RecipeKey::Default::kNumber: v.d = k.default_number; break;
        case RecipeKey::Default::kString: v.s = k.default_string; break;
        case RecipeKey::Default::kBool: v.b = k.default_bool; break;
        default: break;  // kNone, kEmptyArray; kComputed: the parser computes it
      }
      return;
    }
    v.given = true;
    const Pos p = v.pos;
    switch (k.type) {
      case RecipeKeyType::kString:
        if (!n->is_string()) return Fail(p, k.name, std::string("expected a string, got ") + TypeName(n->type()));
        v.s = n->as_string()->get();
        StringChecks(k, p, v.s);
        return;
      case RecipeKeyType::kInteger:
        if (!n->is_integer()) return Fail(p, k.name, std::string("expected an integer, got ") + TypeName(n->type()));
        v.i = n->as_integer()->get();
        if (v.i < k.int_min)
          return Fail(p, k.name, "must be >= " + std::to_string(k.int_min) + " (got " + std::to_string(v.i) + ")");
        if (v.i > k.int_max)
          return Fail(p, k.name, "must be <= " + std::to_string(k.int_max) + " (got " + std::to_string(v.i) + ")");
        return;
      case RecipeKeyType::kNumber: {
        // Integers are accepted where floats are expected.
        if (n->is_floating_point())
          v.d = n->as_floating_point()->get();
        else if (n->is_integer())
          v.d = static_cast<double>(n->as_integer()->get());
        else
          return Fail(p, k.name, std::string("expected a number, got ") + TypeName(n->type()));
        if (!std::isfinite(v.d)) return Fail(p, k.name, "must be a finite number");
        if (k.lo_open ? !(v.d > k.lo) : !(v.d >= k.lo))
          return Fail(p, k.name, std::string("must be ") + (k.lo_open ? "> " : ">= ") + FmtDouble(k.lo) + " (got " +
                                     FmtDouble(v.d) + ")");
        if (k.hi_open ? !(v.d < k.hi) : !(v.d <= k.hi))
          return Fail(p, k.name, std::string("must be ") + (k.hi_open ? "< " : "<= ") + FmtDouble(k.hi) + " (got " +
                                     FmtDouble(v.d) + ")");
        return;
      }
      case RecipeKeyType::kStringArray: {
        const toml::array* a = n->as_array();
        if (!a)
          return Fail(p, k.name, std::string("expected an array of strings, got ") + TypeName(n->type()));
        for (const toml::node& e : *a) {
          if (!e.is_string())
            return Fail(PosOf(e.source()), k.name,
                        std::string("expected an array of strings, got an element that is ") + TypeName(e.type()));
          v.list.push_back(e.as_string()->get());
        }
        return;
      }
      case RecipeKeyType::kBoolean:
        if (!n->is_boolean()) return Fail(p, k.name, std::string("expected true or false, got ") + TypeName(n->type()));
        v.b = n->as_boolean()->get();
        return;
      case RecipeKeyType::kSplit: {
        if (n->is_string()) {
          v.s = n->as_string()->get();
          StringChecks(k, p, v.s);
          return;
        }
        if (!n->is_floating_point() && !n->is_integer()) {
          std::string alts;
          for (const std::string& a : k.allowed) alts += (alts.empty() ? "\"" : ", \"") + a + "\"";
          return Fail(p, k.name, "expected " + alts + " or a number, got " + TypeName(n->type()));
        }
        v.d = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
        v.is_number = true;
        // Written so that NaN fails too.
        const bool in = (k.lo_open ? v.d > k.lo : v.d >= k.lo) && (k.hi_open ? v.d < k.hi : v.d <= k.hi);
        if (!in)
          Fail(p, k.name, std::string("a fraction must be in ") + (k.lo_open ? "(" : "[") + FmtDouble(k.lo) + ", " +
                              FmtDouble(k.hi) + (k.hi_open ? ")" : "]") + " (got " + FmtDouble(v.d) + ")");
        return;
      }
    }
  }

  void StringChecks(const RecipeKey& k, Pos p, const std::string& s) {
    if (k.nonempty && s.empty()) return Fail(p, k.name, "must not be empty");
    if (!k.allowed.empty() && std::find(k.allowed.begin(), k.allowed.end(), s) == k.allowed.end()) {
      if (k.bad_value.empty())
        return Fail(p, k.name, "must be " + QuotedAlternatives(k.allowed) + " (got \"" + s + "\")");
      std::string msg = k.bad_value;
      size_t at = msg.find("{}");
      if (at != std::string::npos) msg.replace(at, 2, s);
      return Fail(p, k.name, msg);
    }
    if (k.check == RecipeCheck::kPlainName && !IsPlainName(s))
      return Fail(p, k.name,
                  "must be a plain name of letters, digits, '-', '_' and '.' (not starting with "
                  "'.'), at most 128 characters; got \"" + s + "\"");
    if (k.check == RecipeCheck::kSha256 && !lenient_sha256_ && !IsLowerHex64(s))
      return Fail(p, k.name, "must be 64 lowercase hex digits (got \"" + s + "\")");
  }

  const std::string& file_;
  const toml::table* t_;
  const RecipeTable& schema_;
  std::map<std::string, KeyValue> values_;
  bool lenient_sha256_ = false;
  Status st_;
};

const RecipeTable& Schema(const char* name) {
  const RecipeTable* t = FindRecipeTable(name);
  if (!t) std::abort();  // a table this file reads is missing from the schema
  return *t;
}

// Fetches a top-level table; wrong type or (if required) missing is an error.
Status GetTable(const std::string& file, const toml::table& root, const RecipeTable& schema,
                const toml::table** out) {
  *out = nullptr;
  const toml::node* n = root.get(schema.name);
  if (!n) {
    if (schema.required) return Status::Error(file + ":1:1: " + schema.Display() + ": missing required table");
    return Status::OK();
  }
  if (!n->is_table())
    return Status::Error(At(file, PosOf(n->source())) + schema.Display() + ": expected a table, got " +
                         TypeName(n->type()));
  *out = n->as_table();
  return Status::OK();
}

std::string DataLabel(const DataSource& d) {
  if (!d.title.empty()) return "[[data]] '" + d.title + "' (" + d.path + ")";
  return "[[data]] (" + d.path + ")";
}

std::string Resolve(const std::string& dir, const std::string& path) {
  fs::path p(path);
  return (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string();
}

// Parses `text` (the contents of dir/model.toml). With lenient_sha256, a
// malformed sha256 is kept as written instead of being an error (for --pin).
Status ParseRecipeText(const std::string& text, const std::string& dir, const std::string& file,
                       bool lenient_sha256, Recipe* out, toml::table* root_out = nullptr) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(file));
  } catch (const toml::parse_error& e) {
    return Status::Error(At(file, PosOf(e.source())) + std::string(e.description()));
  }

  Recipe r;
  r.dir = dir;
  r.toml_path = file;

  // Top-level keys: only the schema's tables.
  for (auto&& [key, val] : root) {
    const std::string name(key.str());
    if (FindRecipeTable(name)) continue;
    const std::string where = At(file, PosOf(key.source()));
    const toml::array* arr = val.as_array();
    if (val.is_table() || (arr && !arr->empty() && arr->is_array_of_tables())) {
      std::string shown = val.is_table() ? "[" + name + "]" : "[[" + name + "]]";
      std::string hint = DidYouMeanTable(name);
      if (hint.empty()) hint = " (expected " + RecipeTableList() + ")";
      return Status::Error(where + shown + ": unknown table" + hint);
    }
    // A key above the first table header: it belongs inside one.
    std::vector<std::string> tables = TablesWithKey(name, "");
    std::string hint = tables.empty() ? " (expected " + RecipeTableList() + ")"
                                      : " (keys go inside a table: " + name + " belongs in " + tables[0] + ")";
    return Status::Error(where + name + ": unknown top-level key" + hint);
  }

  // [model]
  {
    const RecipeTable& schema = Schema("model");
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, schema, &t));
    TableReader rd(file, t, schema);
    rd.Read(lenient_sha256);
    MODELC_RETURN_IF_ERROR(rd.status());
    r.model.name = rd.S("name");
    r.model.description = rd.S("description");
    r.model.license = rd.S("license");
    r.model.authors = rd.V("authors").list;
  }

  // [architecture]
  {
    const RecipeTable& schema = Schema("architecture");
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, schema, &t));
    TableReader rd(file, t, schema);
    rd.Read(lenient_sha256);
    MODELC_RETURN_IF_ERROR(rd.status());
    // The ranges in the schema keep these within int.
    r.arch.family = rd.S("family");
    r.arch.n_layer = static_cast<int>(rd.I("n_layer"));
    r.arch.n_head = static_cast<int>(rd.I("n_head"));
    r.arch.n_embd = static_cast<int>(rd.I("n_embd"));
    r.arch.context = static_cast<int>(rd.I("context"));
    if (r.arch.n_embd % r.arch.n_head != 0)
      rd.Fail(rd.KeyPos("n_head"), "n_head",
              "n_embd (" + std::to_string(r.arch.n_embd) + ") is not divisible by n_head (" +
                  std::to_string(r.arch.n_head) + ")");
    if (r.arch.family == "llama") {
      const Architecture a = r.arch;
      r.arch.n_head_kv = rd.Given("n_head_kv") ? static_cast<int>(rd.I("n_head_kv")) : a.n_head;
      r.arch.ffn_hidden = rd.Given("ffn_hidden") ? static_cast<int>(rd.I("ffn_hidden"))
                                                 : DefaultFfnHidden(a.n_embd);
      r.arch.rope_theta = rd.D("rope_theta");
      r.arch.rms_eps = rd.D("rms_eps");
      r.arch.tie_embeddings = rd.B("tie_embeddings");
      if (a.n_embd % a.n_head == 0 && (a.n_embd / a.n_head) % 2 != 0)
        rd.Fail(rd.KeyPos("n_head"), "n_head",
                "the head size n_embd / n_head (" + std::to_string(a.n_embd) + " / " + std::to_string(a.n_head) +
                    " = " + std::to_string(a.n_embd / a.n_head) +
                    ") must be even for llama (rotary embeddings turn pairs of values)");
      // The binary stores both as f32: the rounded values must stay valid.
      if (!((float)r.arch.rope_theta > 1.0f))
        rd.Fail(rd.KeyPos("rope_theta"), "rope_theta", "must be > 1 after rounding to f32 (as the binary stores it)");
      if (!((float)r.arch.rms_eps > 0.0f))
        rd.Fail(rd.KeyPos("rms_eps"), "rms_eps", "must be > 0 after rounding to f32 (as the binary stores it)");
      if (a.n_head % r.arch.n_head_kv != 0)
        rd.Fail(rd.KeyPos("n_head_kv"), "n_head_kv",
                "n_head_kv (" + std::to_string(r.arch.n_head_kv) + ") does not divide n_head (" +
                    std::to_string(a.n_head) + ")");
    }
    MODELC_RETURN_IF_ERROR(rd.status());
  }

  // [tokenizer]: optional; without it, its defaults.
  {
    const RecipeTable& schema = Schema("tokenizer");
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, schema, &t));
    TableReader rd(file, t, schema);
    rd.Read(lenient_sha256);
    MODELC_RETURN_IF_ERROR(rd.status());
    r.tokenizer.kind = rd.S("kind");
    r.tokenizer.vocab_size = static_cast<int>(rd.I("vocab_size"));
  }

  // [[data]]
  {
    const RecipeTable& schema = Schema("data");
    const toml::node* n = root.get(schema.name);
    if (!n) return Status::Error(file + ":1:1: [[data]]: at least one [[data]] source is required");
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables() || arr->empty())
      return Status::Error(At(file, PosOf(n->source())) +
                           "[[data]]: expected an array of tables ([[data]] sections), got " +
                           (arr && arr->empty() ? std::string("an empty array") : TypeName(n->type())));
    bool any_train = false, any_val = false;
    for (const toml::node& e : *arr) {
      TableReader rd(file, e.as_table(), schema);
      DataSource d;
      Pos tp = rd.TablePos();
      d.line = tp.line;
      d.column = tp.col;
      rd.Read(lenient_sha256);
      MODELC_RETURN_IF_ERROR(rd.status());
      d.path = rd.S("path");
      if (rd.Given("sha256")) {
        d.sha256 = rd.S("sha256");
        d.sha256_line = rd.KeyPos("sha256").line;
        d.sha256_column = rd.KeyPos("sha256").col;
      }
      d.title = rd.S("title");
      d.author = rd.S("author");
      d.license = rd.S("license");
      d.source_url = rd.S("source_url");
      d.license_acknowledgement = rd.S("license_acknowledgement");
      if (rd.V("split").is_number) {
        d.split = "fraction";
        d.split_is_fraction = true;
        d.val_fraction = rd.D("split");
      } else {
        d.split = rd.S("split");
      }
      d.resolved = Resolve(dir, d.path);
      std::string problem = NonRegularFileProblem(d.resolved, DataMissing(d.resolved));
      if (!problem.empty()) rd.Fail(rd.KeyPos("path"), "path", problem);
      MODELC_RETURN_IF_ERROR(rd.status());
      any_train |= d.split == "train" || d.split_is_fraction;
      any_val |= d.split == "val" || d.split_is_fraction;
      r.data.push_back(std::move(d));
    }
    const DataSource& first = r.data.front();
    std::string where = At(file, Pos{first.line, first.column}) + "[[data]] split: ";
    if (!any_train)
      return Status::Error(where + "no training data: give a source split = \"train\" or a fraction like 0.1");
    if (!any_val)
      return Status::Error(where + "no validation data: give a source split = \"val\" or a fraction like 0.1 "
                                   "(that fraction at the end of the file is used for validation)");
  }

  // [base]: optional.
  {
    const RecipeTable& schema = Schema("base");
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, schema, &t));
    if (t) {
      TableReader rd(file, t, schema);
      BaseSpec b;
      Pos tp = rd.TablePos();
      b.line = tp.line;
      b.column = tp.col;
      rd.Read(lenient_sha256);
      MODELC_RETURN_IF_ERROR(rd.status());
      b.path = rd.S("path");
      if (rd.Given("sha256")) {
        b.sha256 = rd.S("sha256");
        b.sha256_line = rd.KeyPos("sha256").line;
        b.sha256_column = rd.KeyPos("sha256").col;
      }
      b.license_acknowledgement = rd.S("license_acknowledgement");
      b.resolved = Resolve(dir, b.path);
      std::string problem = NonRegularFileProblem(b.resolved, BaseMissing(b.resolved));
      if (!problem.empty()) rd.Fail(rd.KeyPos("path"), "path", problem);
      MODELC_RETURN_IF_ERROR(rd.status());
      r.base = std::move(b);
    }
  }

  // [train]
  {
    const RecipeTable& schema = Schema("train");
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, schema, &t));
    TableReader rd(file, t, schema);
    rd.Read(lenient_sha256);
    MODELC_RETURN_IF_ERROR(rd.status());
    TrainConfig& c = r.train;
    // The ranges in the schema keep the int fields within int.
    c.steps = rd.I("steps");
    c.batch_size = static_cast<int>(rd.I("batch_size"));
    c.micro_batch_size = rd.Given("micro_batch_size") ? static_cast<int>(rd.I("micro_batch_size")) : c.batch_size;
    c.learning_rate = rd.D("learning_rate");
    c.warmup_steps = rd.I("warmup_steps");
    c.lr_schedule = rd.S("lr_schedule");
    c.min_lr = rd.D("min_lr");
    c.weight_decay = rd.D("weight_decay");
    c.beta1 = rd.D("beta1");
    c.beta2 = rd.D("beta2");
    c.eps = rd.D("eps");
    c.grad_clip = rd.D("grad_clip");
    c.seed = static_cast<uint64_t>(rd.I("seed"));
    c.eval_every = rd.I("eval_every");
    c.eval_batches = static_cast<int>(rd.I("eval_batches"));
    // Hash-chain links (and default checkpoints): every chain_every steps;
    // default about ten links over the run.
    c.chain_every = rd.Given("chain_every") ? rd.I("chain_every") : std::max<int64_t>(1, (c.steps + 9) / 10);
    if (c.batch_size % c.micro_batch_size != 0)
      rd.Fail(rd.KeyPos("micro_batch_size"), "micro_batch_size",
              "micro_batch_size (" + std::to_string(c.micro_batch_size) + ") does not divide batch_size (" +
                  std::to_string(c.batch_size) + ")");
    // Activation rows of one micro-batch are indexed with int in the kernels.
    if ((int64_t)c.micro_batch_size * r.arch.context > (1 << 24))
      rd.Fail(rd.KeyPos("micro_batch_size"), "micro_batch_size",
              "micro_batch_size x context (" + std::to_string(c.micro_batch_size) + " x " +
                  std::to_string(r.arch.context) + ") must be at most 16777216 tokens");
    if (c.min_lr > c.learning_rate)
      rd.Fail(rd.KeyPos("min_lr"), "min_lr",
              "must be <= learning_rate (" + FmtDouble(c.min_lr) + " > " + FmtDouble(c.learning_rate) + ")");
    MODELC_RETURN_IF_ERROR(rd.status());
  }

  *out = std::move(r);
  if (root_out) *root_out = std::move(root);
  return Status::OK();
}

struct Paths {
  std::string dir, file;
};

Paths MakePaths(const std::string& dir_in) {
  std::error_code ec;
  fs::path d = fs::absolute(dir_in, ec);
  if (ec) d = dir_in;
  d = d.lexically_normal();
  std::string ds = d.string();
  if (ds.size() > 1 && ds.back() == '/') ds.pop_back();
  return {ds, (fs::path(ds) / "model.toml").string()};
}

// Byte offset of a 1-based codepoint column within a UTF-8 line.
size_t ByteOffsetOfColumn(std::string_view line, int col) {
  size_t i = 0;
  int c = 1;
  while (i < line.size() && c < col) {
    ++i;
    while (i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) ++i;
    ++c;
  }
  return i;
}

}  // namespace

std::string Recipe::NormalizedJson() const {
  using nlohmann::json;
  json j;
  j["format"] = "modelc-recipe/1";
  j["model"] = {{"name", model.name},
                {"description", model.description},
                {"license", model.license},
                {"authors", model.authors}};
  j["architecture"] = {{"family", arch.family},
                       {"n_layer", arch.n_layer},
                       {"n_head", arch.n_head},
                       {"n_embd", arch.n_embd},
                       {"context", arch.context}};
  // Only llama has these: gpt sources keep the JSON (and source hash) they had.
  if (arch.family == "llama") {
    j["architecture"]["n_head_kv"] = arch.n_head_kv;
    j["architecture"]["ffn_hidden"] = arch.ffn_hidden;
    j["architecture"]["rope_theta"] = arch.rope_theta;
    j["architecture"]["rms_eps"] = arch.rms_eps;
    j["architecture"]["tie_embeddings"] = arch.tie_embeddings;
  }
  j["tokenizer"] = {{"kind", tokenizer.kind}};
  // Byte models keep the JSON (and so the source hash) they always had.
  if (tokenizer.kind == "bpe") j["tokenizer"]["vocab_size"] = tokenizer.vocab_size;
  json data = json::array();
  for (const DataSource& d : this->data) {
    json e = {{"path", d.path},       {"sha256", d.sha256},   {"title", d.title},
              {"author", d.author},   {"license", d.license}, {"source_url", d.source_url}};
    // Only when given, so that sources without one keep their hash.
    if (!d.license_acknowledgement.empty()) e["license_acknowledgement"] = d.license_acknowledgement;
    if (d.split_is_fraction)
      e["split"] = d.val_fraction;
    else
      e["split"] = d.split;
    data.push_back(std::move(e));
  }
  j["data"] = std::move(data);
  if (base) {
    j["base"] = {{"path", base->path}, {"sha256", base->sha256}};
    if (!base->license_acknowledgement.empty()) j["base"]["license_acknowledgement"] = base->license_acknowledgement;
  }
  j["train"] = {{"steps", train.steps},
                {"batch_size", train.batch_size},
                {"micro_batch_size", train.micro_batch_size},
                {"learning_rate", train.learning_rate},
                {"warmup_steps", train.warmup_steps},
                {"lr_schedule", train.lr_schedule},
                {"min_lr", train.min_lr},
                {"weight_decay", train.weight_decay},
                {"beta1", train.beta1},
                {"beta2", train.beta2},
                {"eps", train.eps},
                {"grad_clip", train.grad_clip},
                {"seed", train.seed},
                {"eval_every", train.eval_every},
                {"eval_batches", train.eval_batches},
                {"chain_every", train.chain_every}};
  return j.dump();
}

std::string Recipe::SourceHash() const { return Sha256Hex(NormalizedJson()); }

Status LoadRecipe(const std::string& dir, Recipe* out) {
  Paths p = MakePaths(dir);
  std::string text;
  MODELC_RETURN_IF_ERROR(ReadFile(p.file, &text));
  return ParseRecipeText(text, p.dir, p.file, /*lenient_sha256=*/false, out);
}

Status CheckDataHashes(const Recipe& r) {
  if (r.base) {
    const BaseSpec& b = *r.base;
    std::string where = r.toml_path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                        ": [base] (" + b.path + "): ";
    std::string problem = NonRegularFileProblem(b.resolved, BaseMissing(b.resolved));
    if (!problem.empty()) return Status::Error(where + problem);
    std::string actual;
    MODELC_RETURN_IF_ERROR(Sha256File(b.resolved, &actual).Wrap(where + "hashing"));
    if (b.sha256.empty())
      return Status::Error(where + "no sha256 pinned; actual sha256 is " + actual + ". Run `modelc build --pin " +
                           r.dir + "` to pin it.");
    if (b.sha256 != actual) {
      if (b.sha256_line > 0)
        where = r.toml_path + ":" + std::to_string(b.sha256_line) + ":" + std::to_string(b.sha256_column) +
                ": [base] (" + b.path + "): ";
      return Status::Error(where + "sha256 mismatch: model.toml pins " + b.sha256 + ", the base model has " +
                           actual + ". If the new base is intended, run `modelc build --pin " + r.dir + "`.");
    }
  }
  for (const DataSource& d : r.data) {
    std::string where = r.toml_path + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " +
                        DataLabel(d) + ": ";
    std::string problem = NonRegularFileProblem(d.resolved, DataMissing(d.resolved));
    if (!problem.empty()) return Status::Error(where + problem);
    std::string actual;
    MODELC_RETURN_IF_ERROR(Sha256File(d.resolved, &actual).Wrap(where + "hashing"));
    if (d.sha256.empty())
      return Status::Error(where + "no sha256 pinned; actual sha256 is " + actual + ". Run `modelc build --pin " +
                           r.dir + "` to pin it.");
    if (d.sha256 != actual) {
      std::string w = where;
      if (d.sha256_line > 0)
        w = r.toml_path + ":" + std::to_string(d.sha256_line) + ":" + std::to_string(d.sha256_column) + ": " +
            DataLabel(d) + ": ";
      return Status::Error(w + "sha256 mismatch: model.toml pins " + d.sha256 + ", file has " + actual +
                           ". If the new file is intended, run `modelc build --pin " + r.dir + "`.");
    }
  }
  return Status::OK();
}

Status PinDataHashes(const std::string& dir, std::string* report) {
  Paths p = MakePaths(dir);
  std::string text;
  MODELC_RETURN_IF_ERROR(ReadFile(p.file, &text));
  Recipe r;
  toml::table root;
  MODELC_RETURN_IF_ERROR(ParseRecipeText(text, p.dir, p.file, /*lenient_sha256=*/true, &r, &root));

  // Split into lines, keeping each line's terminator.
  std::vector<std::string> lines;
  {
    size_t s = 0;
    while (s < text.size()) {
      size_t e = text.find('\n', s);
      if (e == std::string::npos) e = text.size(); else ++e;
      lines.push_back(text.substr(s, e - s));
      s = e;
    }
  }
  const bool crlf = text.find("\r\n") != std::string::npos;

  const toml::array* arr = root.get("data")->as_array();
  // Edits: replace a range on a line, or insert a line after a line. Applied
  // bottom-up so earlier line numbers stay valid.
  struct Edit {
    int line;  // 1-based
    bool insert;
    size_t from, to;  // byte range within the line (replace)
    std::string text;
  };
  std::vector<Edit> edits;
  std::string rep;
  // Every [[data]] entry, then [base].
  struct Pinned {
    const toml::table* t;
    std::string path, resolved, sha256, where;
  };
  std::vector<Pinned> items;
  for (size_t i = 0; i < r.data.size(); ++i) {
    const DataSource& d = r.data[i];
    items.push_back({(*arr)[i].as_table(), d.path, d.resolved, d.sha256,
                     p.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + DataLabel(d) + ": "});
  }
  if (r.base)
    items.push_back({root.get("base")->as_table(), r.base->path, r.base->resolved, r.base->sha256,
                     p.file + ":" + std::to_string(r.base->line) + ":" + std::to_string(r.base->column) +
                         ": [base] (" + r.base->path + "): "});
  for (const Pinned& d : items) {
    const toml::table* t = d.t;
    const std::string& where = d.where;
    std::string actual;
    MODELC_RETURN_IF_ERROR(Sha256File(d.resolved, &actual).Wrap(where + "hashing"));
    if (d.sha256 == actual) continue;
    if (t->is_inline())
      return Status::Error(where + "cannot pin a data entry written as an inline table; write sha256 = \"" + actual +
                           "\" yourself");
    if (const toml::node* s = t->get("sha256")) {
      const auto& src = s->source();
      if (src.begin.line != src.end.line || src.begin.line == 0 || src.begin.line > lines.size())
        return Status::Error(where + "cannot rewrite a multi-line sha256 value; write sha256 = \"" + actual +
                             "\" yourself");
      const std::string& ln = lines[src.begin.line - 1];
      size_t from = ByteOffsetOfColumn(ln, static_cast<int>(src.begin.column));
      size_t to = ByteOffsetOfColumn(ln, static_cast<int>(src.end.column));
      edits.push_back({static_cast<int>(src.begin.line), false, from, to, "\"" + actual + "\""});
    } else {
      const toml::node* pn = t->get("path");
      const auto& src = pn->source();
      size_t pl = src.end.line ? src.end.line : src.begin.line;
      if (pl == 0 || pl > lines.size()) return Status::Error(where + "cannot locate the path line");
      // Indent like the line the path key starts on.
      const std::string& first = lines[src.begin.line - 1];
      size_t ind = first.find_first_not_of(" \t");
      std::string indent = first.substr(0, ind == std::string::npos ? 0 : ind);
      edits.push_back({static_cast<int>(pl), true, 0, 0, indent + "sha256 = \"" + actual + "\""});
    }
    rep += "pinned " + d.path + " " + actual + "\n";
  }
  if (edits.empty()) {
    if (report) report->clear();
    return Status::OK();
  }
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.line > b.line; });
  for (const Edit& e : edits) {
    std::string& ln = lines[e.line - 1];
    if (e.insert) {
      bool had_nl = !ln.empty() && ln.back() == '\n';
      if (!had_nl) ln += crlf ? "\r\n" : "\n";
      std::string nl = e.text + (had_nl ? (crlf ? "\r\n" : "\n") : "");
      lines.insert(lines.begin() + e.line, nl);
    } else {
      ln = ln.substr(0, e.from) + e.text + ln.substr(e.to);
    }
  }
  std::string updated;
  for (const std::string& l : lines) updated += l;

  // Re-parse the result: it must be valid and carry exactly the new hashes.
  Recipe check;
  MODELC_RETURN_IF_ERROR(ParseRecipeText(updated, p.dir, p.file, false, &check)
                             .Wrap("internal error: pinned model.toml does not parse"));
  for (size_t i = 0; i < check.data.size(); ++i) {
    std::string actual;
    MODELC_RETURN_IF_ERROR(Sha256File(check.data[i].resolved, &actual));
    if (check.data[i].sha256 != actual)
      return Status::Error("internal error: pinning " + check.data[i].path + " failed");
  }
  if (check.base) {
    std::string actual;
    MODELC_RETURN_IF_ERROR(Sha256File(check.base->resolved, &actual));
    if (check.base->sha256 != actual) return Status::Error("internal error: pinning " + check.base->path + " failed");
  }
  MODELC_RETURN_IF_ERROR(WriteFileAtomic(p.file, updated));
  if (report) *report = rep;
  return Status::OK();
}

}  // namespace modelc
