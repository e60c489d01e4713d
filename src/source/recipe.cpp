// model.toml: parsing, validation, normalization, hash checking and pinning.
#include <cctype>
#include "source/recipe.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <toml++/toml.h>

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

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string FmtDouble(double v) {
  std::ostringstream ss;
  ss.precision(17);
  ss << v;
  return ss.str();
}

// Reads and checks the keys of one table; the first problem found is kept.
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table* t, std::string disp)
      : file_(file), t_(t), disp_(std::move(disp)) {}

  bool ok() const { return st_.ok(); }
  const Status& status() const { return st_; }

  Status Error(Pos p, const std::string& key, const std::string& problem) const {
    std::string where = file_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": " + disp_;
    if (!key.empty()) where += " " + key;
    return Status::Error(where + ": " + problem);
  }
  void Fail(Pos p, const std::string& key, const std::string& problem) {
    if (st_.ok()) st_ = Error(p, key, problem);
  }
  Pos TablePos() const { return t_ ? PosOf(t_->source()) : Pos{}; }
  Pos KeyPos(const std::string& key) const {
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    return n ? PosOf(n->source()) : TablePos();
  }

  // Unknown keys are reported first: a typo beats "missing required key".
  void CheckKeys(std::initializer_list<const char*> known) {
    if (!t_ || !ok()) return;
    std::set<std::string> k(known.begin(), known.end());
    for (auto&& [key, val] : *t_) {
      if (!k.count(std::string(key.str()))) {
        Fail(PosOf(key.source()), std::string(key.str()), "unknown key");
        return;
      }
    }
  }

  const toml::node* Get(const std::string& key, bool required) {
    if (!ok()) return nullptr;
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    if (!n && required) Fail(TablePos(), key, "missing required key");
    return n;
  }

  bool Str(const std::string& key, std::string* out, bool required, bool nonempty = false) {
    const toml::node* n = Get(key, required);
    if (!n) return false;
    if (!n->is_string()) {
      Fail(PosOf(n->source()), key, std::string("expected a string, got ") + TypeName(n->type()));
      return false;
    }
    *out = n->as_string()->get();
    if (nonempty && out->empty()) {
      Fail(PosOf(n->source()), key, "must not be empty");
      return false;
    }
    return true;
  }

  bool Int(const std::string& key, int64_t* out, bool required, int64_t lo, int64_t hi) {
    const toml::node* n = Get(key, required);
    if (!n) return false;
    if (!n->is_integer()) {
      Fail(PosOf(n->source()), key, std::string("expected an integer, got ") + TypeName(n->type()));
      return false;
    }
    int64_t v = n->as_integer()->get();
    if (v < lo) {
      Fail(PosOf(n->source()), key, "must be >= " + std::to_string(lo) + " (got " + std::to_string(v) + ")");
      return false;
    }
    if (v > hi) {
      Fail(PosOf(n->source()), key, "must be <= " + std::to_string(hi) + " (got " + std::to_string(v) + ")");
      return false;
    }
    *out = v;
    return true;
  }

  template <typename T>
  bool IntAs(const std::string& key, T* out, bool required, int64_t lo, int64_t hi) {
    int64_t v;
    if (!Int(key, &v, required, lo, hi)) return false;
    *out = static_cast<T>(v);
    return true;
  }

  // Accepts integers where floats are expected. Checks finiteness and lo
  // (inclusive or exclusive) / hi (exclusive when hi_open).
  bool Float(const std::string& key, double* out, bool required, double lo, bool lo_open,
             double hi = std::numeric_limits<double>::infinity(), bool hi_open = false) {
    const toml::node* n = Get(key, required);
    if (!n) return false;
    double v;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      Fail(PosOf(n->source()), key, std::string("expected a number, got ") + TypeName(n->type()));
      return false;
    }
    Pos p = PosOf(n->source());
    if (!std::isfinite(v)) {
      Fail(p, key, "must be a finite number");
      return false;
    }
    if (lo_open ? !(v > lo) : !(v >= lo)) {
      Fail(p, key, std::string("must be ") + (lo_open ? "> " : ">= ") + FmtDouble(lo) + " (got " + FmtDouble(v) + ")");
      return false;
    }
    if (hi_open ? !(v < hi) : !(v <= hi)) {
      Fail(p, key, std::string("must be ") + (hi_open ? "< " : "<= ") + FmtDouble(hi) + " (got " + FmtDouble(v) + ")");
      return false;
    }
    *out = v;
    return true;
  }

 private:
  const std::string& file_;
  const toml::table* t_;
  std::string disp_;
  Status st_;
};

// Fetches a top-level table; wrong type or (if required) missing is an error.
Status GetTable(const std::string& file, const toml::table& root, const std::string& name,
                bool required, const toml::table** out) {
  *out = nullptr;
  const toml::node* n = root.get(name);
  if (!n) {
    if (required) return Status::Error(file + ":1:1: [" + name + "]: missing required table");
    return Status::OK();
  }
  if (!n->is_table()) {
    Pos p = PosOf(n->source());
    return Status::Error(file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": [" + name +
                         "]: expected a table, got " + TypeName(n->type()));
  }
  *out = n->as_table();
  return Status::OK();
}

std::string DataLabel(const DataSource& d) {
  if (!d.title.empty()) return "[[data]] '" + d.title + "' (" + d.path + ")";
  return "[[data]] (" + d.path + ")";
}

// Parses `text` (the contents of dir/model.toml). With lenient_sha256, a
// malformed sha256 is kept as written instead of being an error (for --pin).
Status ParseRecipeText(const std::string& text, const std::string& dir, const std::string& file,
                       bool lenient_sha256, Recipe* out, toml::table* root_out = nullptr) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(file));
  } catch (const toml::parse_error& e) {
    Pos p = PosOf(e.source());
    return Status::Error(file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": " +
                         std::string(e.description()));
  }

  Recipe r;
  r.dir = dir;
  r.toml_path = file;

  // Top-level keys.
  {
    static const std::set<std::string> kTables = {"model", "architecture", "tokenizer", "data", "train", "base"};
    for (auto&& [key, val] : root) {
      if (!kTables.count(std::string(key.str()))) {
        Pos p = PosOf(key.source());
        return Status::Error(file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": " +
                             (val.is_table() ? "[" + std::string(key.str()) + "]: unknown table"
                                             : std::string(key.str()) + ": unknown top-level key") +
                             " (expected [model], [architecture], [tokenizer], [[data]], [train], [base])");
      }
    }
  }

  // [model]
  {
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, "model", true, &t));
    TableReader rd(file, t, "[model]");
    rd.CheckKeys({"name", "description", "license", "authors"});
    if (rd.Str("name", &r.model.name, true, true)) {
      // The name becomes the default output file name: keep it a plain name.
      bool plain = r.model.name.size() <= 128 && r.model.name[0] != '.';
      for (char ch : r.model.name)
        plain = plain && (std::isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.');
      if (!plain)
        rd.Fail(rd.KeyPos("name"), "name",
                "must be a plain name of letters, digits, '-', '_' and '.' (not starting with "
                "'.'), at most 128 characters; got \"" + r.model.name + "\"");
    }
    rd.Str("description", &r.model.description, false);
    rd.Str("license", &r.model.license, true, true);
    if (const toml::node* n = rd.Get("authors", false)) {
      const toml::array* a = n->as_array();
      if (!a) {
        rd.Fail(PosOf(n->source()), "authors", std::string("expected an array of strings, got ") + TypeName(n->type()));
      } else {
        for (const toml::node& e : *a) {
          if (!e.is_string()) {
            rd.Fail(PosOf(e.source()), "authors", std::string("expected an array of strings, got an element that is ") +
                                                      TypeName(e.type()));
            break;
          }
          r.model.authors.push_back(e.as_string()->get());
        }
      }
    }
    MODELC_RETURN_IF_ERROR(rd.status());
  }

  // [architecture]
  {
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, "architecture", true, &t));
    TableReader rd(file, t, "[architecture]");
    rd.CheckKeys({"family", "n_layer", "n_head", "n_embd", "context"});
    if (rd.Str("family", &r.arch.family, false) && r.arch.family != "gpt")
      rd.Fail(rd.KeyPos("family"), "family", "unsupported family '" + r.arch.family + "' (only \"gpt\")");
    rd.IntAs("n_layer", &r.arch.n_layer, true, 1, 256);
    rd.IntAs("n_head", &r.arch.n_head, true, 1, 1024);
    rd.IntAs("n_embd", &r.arch.n_embd, true, 1, 16384);
    rd.IntAs("context", &r.arch.context, true, 1, 65536);
    if (rd.ok() && r.arch.n_embd % r.arch.n_head != 0)
      rd.Fail(rd.KeyPos("n_head"), "n_head",
              "n_embd (" + std::to_string(r.arch.n_embd) + ") is not divisible by n_head (" +
                  std::to_string(r.arch.n_head) + ")");
    MODELC_RETURN_IF_ERROR(rd.status());
  }

  // [tokenizer]
  {
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, "tokenizer", false, &t));
    if (t) {
      TableReader rd(file, t, "[tokenizer]");
      rd.CheckKeys({"kind", "vocab_size"});
      if (rd.Str("kind", &r.tokenizer.kind, false) && r.tokenizer.kind != "byte" &&
          r.tokenizer.kind != "bpe")
        rd.Fail(rd.KeyPos("kind"), "kind",
                "unknown tokenizer '" + r.tokenizer.kind + "' (\"byte\" or \"bpe\")");
      if (rd.ok() && r.tokenizer.kind == "bpe") {
        // Token ids are stored as uint16 in the dataset: at most 65536 tokens.
        rd.IntAs("vocab_size", &r.tokenizer.vocab_size, true, 256, 65536);
      } else if (rd.ok() && t->get("vocab_size")) {
        rd.Fail(rd.KeyPos("vocab_size"), "vocab_size",
                "only for kind = \"bpe\" (a byte tokenizer has 256 tokens)");
      }
      MODELC_RETURN_IF_ERROR(rd.status());
    }
  }

  // [[data]]
  {
    const toml::node* n = root.get("data");
    if (!n) return Status::Error(file + ":1:1: [[data]]: at least one [[data]] source is required");
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables() || arr->empty()) {
      Pos p = PosOf(n->source());
      return Status::Error(file + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) +
                           ": [[data]]: expected an array of tables ([[data]] sections), got " +
                           (arr && arr->empty() ? std::string("an empty array") : TypeName(n->type())));
    }
    bool any_train = false, any_val = false;
    for (const toml::node& e : *arr) {
      const toml::table* t = e.as_table();
      TableReader rd(file, t, "[[data]]");
      DataSource d;
      Pos tp = rd.TablePos();
      d.line = tp.line;
      d.column = tp.col;
      rd.CheckKeys({"path", "url", "sha256", "title", "author", "license", "source_url", "split",
                    "license_acknowledgement"});
      std::string url;
      if (rd.Str("url", &url, false)) {
        rd.Fail(rd.KeyPos("url"), "url",
                "fetching URLs is not supported yet; download the file, put it next to model.toml "
                "and use path = \"...\" (keep the address in source_url)");
      }
      rd.Str("path", &d.path, true, true);
      if (const toml::node* s = rd.Get("sha256", false)) {
        if (rd.Str("sha256", &d.sha256, false)) {
          Pos sp = PosOf(s->source());
          d.sha256_line = sp.line;
          d.sha256_column = sp.col;
          if (!lenient_sha256 && !IsLowerHex64(d.sha256))
            rd.Fail(sp, "sha256", "must be 64 lowercase hex digits (got \"" + d.sha256 + "\")");
        }
      }
      rd.Str("title", &d.title, false);
      rd.Str("author", &d.author, false);
      rd.Str("license", &d.license, false);
      rd.Str("source_url", &d.source_url, false);
      rd.Str("license_acknowledgement", &d.license_acknowledgement, false, /*nonempty=*/true);
      if (const toml::node* s = rd.Get("split", false)) {
        Pos sp = PosOf(s->source());
        if (s->is_string()) {
          d.split = s->as_string()->get();
          if (d.split != "train" && d.split != "val")
            rd.Fail(sp, "split", "must be \"train\", \"val\" or a fraction in (0, 1) (got \"" + d.split + "\")");
        } else if (s->is_floating_point() || s->is_integer()) {
          double v = s->is_integer() ? static_cast<double>(s->as_integer()->get()) : s->as_floating_point()->get();
          if (!(v > 0.0 && v < 1.0)) {
            rd.Fail(sp, "split", "a fraction must be in (0, 1) (got " + FmtDouble(v) + ")");
          } else {
            d.split = "fraction";
            d.split_is_fraction = true;
            d.val_fraction = v;
          }
        } else {
          rd.Fail(sp, "split", std::string("expected \"train\", \"val\" or a number, got ") + TypeName(s->type()));
        }
      }
      if (rd.ok()) {
        fs::path p(d.path);
        d.resolved = (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string();
        std::error_code ec;
        if (!fs::is_regular_file(d.resolved, ec))
          rd.Fail(rd.KeyPos("path"), "path", "data file not found: " + d.resolved);
      }
      MODELC_RETURN_IF_ERROR(rd.status());
      any_train |= d.split == "train" || d.split_is_fraction;
      any_val |= d.split == "val" || d.split_is_fraction;
      r.data.push_back(std::move(d));
    }
    const DataSource& first = r.data.front();
    std::string where = file + ":" + std::to_string(first.line) + ":" + std::to_string(first.column) + ": [[data]] split: ";
    if (!any_train)
      return Status::Error(where + "no training data: give a source split = \"train\" or a fraction like 0.1");
    if (!any_val)
      return Status::Error(where + "no validation data: give a source split = \"val\" or a fraction like 0.1 "
                                   "(that fraction at the end of the file is used for validation)");
  }

  // [base]
  {
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, "base", false, &t));
    if (t) {
      TableReader rd(file, t, "[base]");
      BaseSpec b;
      Pos tp = rd.TablePos();
      b.line = tp.line;
      b.column = tp.col;
      rd.CheckKeys({"path", "sha256", "license_acknowledgement"});
      rd.Str("path", &b.path, true, true);
      if (const toml::node* s = rd.Get("sha256", false)) {
        if (rd.Str("sha256", &b.sha256, false)) {
          Pos sp = PosOf(s->source());
          b.sha256_line = sp.line;
          b.sha256_column = sp.col;
          if (!lenient_sha256 && !IsLowerHex64(b.sha256))
            rd.Fail(sp, "sha256", "must be 64 lowercase hex digits (got \"" + b.sha256 + "\")");
        }
      }
      rd.Str("license_acknowledgement", &b.license_acknowledgement, false, /*nonempty=*/true);
      if (rd.ok()) {
        fs::path p(b.path);
        b.resolved = (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string();
        std::error_code ec;
        if (!fs::is_regular_file(b.resolved, ec))
          rd.Fail(rd.KeyPos("path"), "path",
                  "base model not found: " + b.resolved + " (build the base model first)");
      }
      MODELC_RETURN_IF_ERROR(rd.status());
      r.base = std::move(b);
    }
  }

  // [train]
  {
    const toml::table* t;
    MODELC_RETURN_IF_ERROR(GetTable(file, root, "train", true, &t));
    TableReader rd(file, t, "[train]");
    TrainConfig& c = r.train;
    rd.CheckKeys({"steps", "batch_size", "micro_batch_size", "learning_rate", "warmup_steps", "lr_schedule",
                  "min_lr", "weight_decay", "beta1", "beta2", "eps", "grad_clip", "seed", "eval_every",
                  "eval_batches", "chain_every"});
    const int64_t kBig = int64_t(1) << 40;
    rd.Int("steps", &c.steps, true, 1, kBig);
    rd.IntAs("batch_size", &c.batch_size, true, 1, 1 << 20);
    if (!rd.IntAs("micro_batch_size", &c.micro_batch_size, false, 1, 1 << 20) && rd.ok())
      c.micro_batch_size = c.batch_size;
    rd.Float("learning_rate", &c.learning_rate, true, 0.0, true);
    rd.Int("warmup_steps", &c.warmup_steps, false, 0, kBig);
    if (rd.Str("lr_schedule", &c.lr_schedule, false) && c.lr_schedule != "cosine" && c.lr_schedule != "constant")
      rd.Fail(rd.KeyPos("lr_schedule"), "lr_schedule",
              "must be \"cosine\" or \"constant\" (got \"" + c.lr_schedule + "\")");
    rd.Float("min_lr", &c.min_lr, false, 0.0, false);
    rd.Float("weight_decay", &c.weight_decay, false, 0.0, false);
    rd.Float("beta1", &c.beta1, false, 0.0, false, 1.0, true);
    rd.Float("beta2", &c.beta2, false, 0.0, false, 1.0, true);
    rd.Float("eps", &c.eps, false, 0.0, true);
    rd.Float("grad_clip", &c.grad_clip, false, 0.0, false);
    int64_t seed = 0;
    if (rd.Int("seed", &seed, false, 0, std::numeric_limits<int64_t>::max())) c.seed = static_cast<uint64_t>(seed);
    rd.Int("eval_every", &c.eval_every, false, 0, kBig);
    rd.IntAs("eval_batches", &c.eval_batches, false, 1, 1 << 20);
    // Hash-chain links (and default checkpoints): every chain_every steps;
    // default about ten links over the run.
    if (!rd.Int("chain_every", &c.chain_every, false, 1, kBig) && rd.ok())
      c.chain_every = std::max<int64_t>(1, (c.steps + 9) / 10);
    if (rd.ok() && c.batch_size % c.micro_batch_size != 0)
      rd.Fail(rd.KeyPos("micro_batch_size"), "micro_batch_size",
              "micro_batch_size (" + std::to_string(c.micro_batch_size) + ") does not divide batch_size (" +
                  std::to_string(c.batch_size) + ")");
    // Activation rows of one micro-batch are indexed with int in the kernels.
    if (rd.ok() && (int64_t)c.micro_batch_size * r.arch.context > (1 << 24))
      rd.Fail(rd.KeyPos("micro_batch_size"), "micro_batch_size",
              "micro_batch_size x context (" + std::to_string(c.micro_batch_size) + " x " +
                  std::to_string(r.arch.context) + ") must be at most 16777216 tokens");
    if (rd.ok() && c.min_lr > c.learning_rate)
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
    std::error_code ec;
    if (!fs::is_regular_file(b.resolved, ec))
      return Status::Error(where + "base model not found: " + b.resolved + " (build the base model first)");
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
    std::error_code ec;
    if (!fs::is_regular_file(d.resolved, ec)) return Status::Error(where + "data file not found: " + d.resolved);
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
