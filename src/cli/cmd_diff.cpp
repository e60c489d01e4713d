// modelc diff A.gguf B.gguf [--json]
//
// Compares two GGUF files by content: every metadata key/value (typed,
// bitwise for floats), then every tensor by shape, type and decoded values
// (F32 / F16 / Q8_0 decoded to float, elements compared by their float bit
// patterns). When the content is the same, the files' bytes are compared too
// and a layout-only difference (GGUF version, key or tensor order, padding)
// still counts as "different". Exit status as diffoscope: 0 identical,
// 1 different, 2 trouble.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "cli/commands.h"
#include "cli/gguf_print.h"

namespace modelc {

namespace {

using ojson = nlohmann::ordered_json;

constexpr int kIdentical = 0, kDifferent = 1, kTrouble = 2;
constexpr size_t kMaxShown = 80;  // longest value shown in full in text output

// ------------------------------------------------------------ metadata

struct MetaDiff {
  char kind;  // '+' added (only in B), '-' removed (only in A), '~' changed
  std::string key;
  const GgufValue* a = nullptr;
  const GgufValue* b = nullptr;
};

bool IsUtf8Continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::string Hex32(uint64_t bits, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, (unsigned long long)bits);
  return buf;
}

// A value in at most about kMaxShown characters: scalars as they are, long
// strings cut with their byte length, long arrays as "N items".
std::string ShortValue(const GgufValue& v) {
  std::string s = v.ToDisplayString(8);
  if (s.size() <= kMaxShown) return s;
  if (v.is_array()) return std::to_string(v.ArraySize()) + " items";
  if (v.type() == gguf_type::kString) {
    const std::string& str = v.AsString();
    size_t end = std::min<size_t>(str.size(), 60);
    while (end < str.size() && IsUtf8Continuation((unsigned char)str[end])) ++end;
    return GgufValue::String(str.substr(0, end)).ToDisplayString() + "... (" +
           std::to_string(str.size()) + " bytes)";
  }
  return s;
}

// The string bytes around `pos` as a quoted display string, "..." outside
// the quotes where cut.
std::string StringWindow(const std::string& s, size_t pos) {
  size_t start = pos > 30 ? pos - 30 : 0;
  while (start > 0 && IsUtf8Continuation((unsigned char)s[start])) --start;
  size_t end = std::min(s.size(), pos + 40);
  while (end < s.size() && IsUtf8Continuation((unsigned char)s[end])) ++end;
  return std::string(start > 0 ? "..." : "") +
         GgufValue::String(s.substr(start, end - start)).ToDisplayString() +
         (end < s.size() ? "..." : "");
}

// Index of the first element where two arrays of the same element type
// differ; the shorter length when one is a prefix of the other.
uint64_t FirstArrayDifference(const GgufValue& a, const GgufValue& b) {
  const uint64_t n = std::min(a.ArraySize(), b.ArraySize());
  for (uint64_t i = 0; i < n; ++i)
    if (!(a.ArrayElement(i) == b.ArrayElement(i))) return i;
  return n;
}

size_t FirstByteDifference(const std::string& a, const std::string& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return n;
}

// Text for a changed value: "A -> B", shortened when long, with the first
// differing index (arrays) or byte (strings).
std::string DescribeChange(const GgufValue& a, const GgufValue& b) {
  if (a.TypeString() != b.TypeString()) return ShortValue(a) + " -> " + ShortValue(b);
  if (a.is_array()) {
    const std::string da = a.ToDisplayString(8), db = b.ToDisplayString(8);
    if (a.ArraySize() <= 8 && b.ArraySize() <= 8 && da.size() <= kMaxShown && db.size() <= kMaxShown)
      return da + " -> " + db;
    const uint64_t i = FirstArrayDifference(a, b);
    std::string s = a.ArraySize() == b.ArraySize()
                        ? std::to_string(a.ArraySize()) + " items"
                        : std::to_string(a.ArraySize()) + " -> " + std::to_string(b.ArraySize()) + " items";
    s += ", first difference at [" + std::to_string(i) + "]: ";
    s += i < a.ArraySize() ? ShortValue(a.ArrayElement(i)) : "(none)";
    s += " -> ";
    s += i < b.ArraySize() ? ShortValue(b.ArrayElement(i)) : "(none)";
    return s;
  }
  if (a.type() == gguf_type::kString) {
    const std::string &sa = a.AsString(), &sb = b.AsString();
    if (sa.size() <= kMaxShown && sb.size() <= kMaxShown) return a.ToDisplayString() + " -> " + b.ToDisplayString();
    const size_t i = FirstByteDifference(sa, sb);
    std::string s = sa.size() == sb.size()
                        ? std::to_string(sa.size()) + " bytes"
                        : std::to_string(sa.size()) + " -> " + std::to_string(sb.size()) + " bytes";
    return s + ", first difference at byte " + std::to_string(i) + ": " + StringWindow(sa, i) + " -> " +
           StringWindow(sb, i);
  }
  std::string da = a.ToDisplayString(), db = b.ToDisplayString();
  if (da == db) {  // e.g. two NaNs with different payloads
    const int digits = a.type() == gguf_type::kF64 ? 16 : 8;
    da += " (" + Hex32(a.RawBits(), digits) + ")";
    db += " (" + Hex32(b.RawBits(), digits) + ")";
  }
  return da + " -> " + db;
}

ojson ValueJson(const GgufValue& v) {
  ojson j;
  j["type"] = v.TypeString();
  if (v.is_array()) j["length"] = v.ArraySize();
  j["value"] = ojson(v.ToJson());
  return j;
}

ojson MetaJson(const MetaDiff& d) {
  ojson j;
  j["key"] = d.key;
  if (d.kind != '~') {
    ojson v = ValueJson(d.kind == '+' ? *d.b : *d.a);
    for (auto it = v.begin(); it != v.end(); ++it) j[it.key()] = it.value();
    return j;
  }
  j["a"] = ValueJson(*d.a);
  j["b"] = ValueJson(*d.b);
  if (d.a->TypeString() == d.b->TypeString()) {
    if (d.a->is_array()) {
      const uint64_t i = FirstArrayDifference(*d.a, *d.b);
      j["first_difference"] = {
          {"index", i},
          {"a", i < d.a->ArraySize() ? ojson(d.a->ArrayElement(i).ToJson()) : ojson(nullptr)},
          {"b", i < d.b->ArraySize() ? ojson(d.b->ArrayElement(i).ToJson()) : ojson(nullptr)}};
    } else if (d.a->type() == gguf_type::kString) {
      j["first_difference"] = {{"byte", FirstByteDifference(d.a->AsString(), d.b->AsString())}};
    }
  }
  return j;
}

std::vector<MetaDiff> DiffMetadata(const GgufFile& a, const GgufFile& b) {
  std::vector<MetaDiff> out;
  for (const auto& [k, va] : a.kv()) {
    const GgufValue* vb = b.Find(k);
    if (!vb)
      out.push_back({'-', k, &va, nullptr});
    else if (!(va == *vb))
      out.push_back({'~', k, &va, vb});
  }
  for (const auto& [k, vb] : b.kv())
    if (!a.Find(k)) out.push_back({'+', k, nullptr, &vb});
  return out;
}

// ------------------------------------------------------------- tensors

struct TensorDiff {
  std::string name;
  const GgufTensorInfo* a = nullptr;
  const GgufTensorInfo* b = nullptr;
  // identical, values_differ, type_differs, shape_differs, bytes_differ,
  // only_in_a, only_in_b.
  std::string status;
  bool compared = false;  // the value statistics below are set
  uint64_t elements = 0, differing = 0, nan_differing = 0;
  double max_abs = 0, max_rel = 0;
  bool has_first = false;
  uint64_t first_index = 0;
  float first_a = 0, first_b = 0;
};

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Element-wise comparison of decoded values. Elements differ when their bit
// patterns differ (so NaN equals the same NaN, and 0 differs from -0).
// max_abs / max_rel cover differing pairs without a NaN (those are counted
// in nan_differing); an infinity against a finite value has abs inf, rel 1;
// opposite infinities abs inf, rel 2.
void CompareValues(const std::vector<float>& va, const std::vector<float>& vb, TensorDiff* d) {
  d->compared = true;
  d->elements = va.size();
  for (size_t i = 0; i < va.size(); ++i) {
    const float x = va[i], y = vb[i];
    if (FloatBits(x) == FloatBits(y)) continue;
    if (d->differing++ == 0) {
      d->has_first = true;
      d->first_index = i;
      d->first_a = x;
      d->first_b = y;
    }
    if (std::isnan(x) || std::isnan(y)) {
      ++d->nan_differing;
      continue;
    }
    double abs, rel;
    if (std::isinf(x) || std::isinf(y)) {
      abs = std::numeric_limits<double>::infinity();
      rel = std::isinf(x) && std::isinf(y) ? 2.0 : 1.0;
    } else {
      abs = std::fabs(double(x) - double(y));
      const double m = std::max(std::fabs(double(x)), std::fabs(double(y)));
      rel = m > 0 ? abs / m : 0.0;
    }
    d->max_abs = std::max(d->max_abs, abs);
    d->max_rel = std::max(d->max_rel, rel);
  }
}

Status DiffTensor(const GgufFile& fa, const GgufFile& fb, TensorDiff* d) {
  const GgufTensorInfo *a = d->a, *b = d->b;
  if (!b) {
    d->status = "only_in_a";
    return Status::OK();
  }
  if (!a) {
    d->status = "only_in_b";
    return Status::OK();
  }
  if (a->ne != b->ne) {
    d->status = "shape_differs";
    return Status::OK();
  }
  if (a->type == b->type && a->nbytes == b->nbytes &&
      (a->nbytes == 0 || std::memcmp(a->data, b->data, a->nbytes) == 0)) {
    d->status = "identical";
    d->compared = true;
    d->elements = a->n_elements();
    return Status::OK();
  }
  std::vector<float> va, vb;
  MODELC_RETURN_IF_ERROR(fa.ReadTensorF32(d->name, &va));
  MODELC_RETURN_IF_ERROR(fb.ReadTensorF32(d->name, &vb));
  CompareValues(va, vb, d);
  if (a->type != b->type)
    d->status = "type_differs";
  else if (d->differing > 0)
    d->status = "values_differ";
  else
    d->status = "bytes_differ";  // e.g. Q8_0 blocks with scale 0 and other quants
  return Status::OK();
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A float value as text; the bit pattern is added when two values would
// otherwise print the same (NaN payloads).
std::string FloatText(float v, float other) {
  char buf[64], obuf[64];
  std::snprintf(buf, sizeof buf, "%.9g", double(v));
  std::snprintf(obuf, sizeof obuf, "%.9g", double(other));
  std::string s = buf;
  if (s == obuf) s += " (" + Hex32(FloatBits(v), 8) + ")";
  return s;
}

// JSON has no NaN or infinity: those are written as the strings "nan",
// "inf", "-inf".
ojson NumJson(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

ojson ShapeJson(const std::vector<uint64_t>& ne) {
  ojson s = ojson::array();
  for (size_t i = ne.size(); i-- > 0;) s.push_back(ne[i]);
  return s;
}

ojson TensorJson(const TensorDiff& d) {
  ojson j;
  j["name"] = d.name;
  j["status"] = d.status;
  j["shape_a"] = d.a ? ShapeJson(d.a->ne) : ojson(nullptr);
  j["shape_b"] = d.b ? ShapeJson(d.b->ne) : ojson(nullptr);
  j["type_a"] = d.a ? ojson(GgufFile::TypeName(d.a->type)) : ojson(nullptr);
  j["type_b"] = d.b ? ojson(GgufFile::TypeName(d.b->type)) : ojson(nullptr);
  if (d.compared) {
    j["elements"] = d.elements;
    j["differing_elements"] = d.differing;
    j["nan_differing_elements"] = d.nan_differing;
    j["max_abs_diff"] = NumJson(d.max_abs);
    j["max_rel_diff"] = NumJson(d.max_rel);
    if (d.has_first)
      j["first_difference"] = {{"index", d.first_index},
                               {"a", NumJson(d.first_a)},
                               {"b", NumJson(d.first_b)},
                               {"a_bits", Hex32(FloatBits(d.first_a), 8)},
                               {"b_bits", Hex32(FloatBits(d.first_b), 8)}};
    else
      j["first_difference"] = nullptr;
  }
  return j;
}

std::string TensorText(const TensorDiff& d) {
  if (d.status == "identical") return "identical";
  if (d.status == "only_in_a") return "only in A";
  if (d.status == "only_in_b") return "only in B";
  if (d.status == "shape_differs") return "shape differs";
  if (d.status == "bytes_differ") return "data bytes differ, decoded values equal";
  std::string s = d.status == "type_differs" ? "type differs; " : "";
  if (d.differing == 0) return s + "decoded values equal";
  s += std::to_string(d.differing) + " of " + std::to_string(d.elements) + " elements differ";
  if (d.nan_differing) s += " (" + std::to_string(d.nan_differing) + " with NaN)";
  s += ", max abs " + Num(d.max_abs) + ", max rel " + Num(d.max_rel);
  s += ", first at [" + std::to_string(d.first_index) + "]: " + FloatText(d.first_a, d.first_b) + " -> " +
       FloatText(d.first_b, d.first_a);
  return s;
}

// --------------------------------------------------------------- layout

// True when the two files hold the same bytes; false on any read failure.
bool SameBytes(const std::string& pa, const std::string& pb) {
  std::ifstream a(pa, std::ios::binary), b(pb, std::ios::binary);
  if (!a || !b) return false;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (;;) {
    a.read(ba.data(), std::streamsize(ba.size()));
    b.read(bb.data(), std::streamsize(bb.size()));
    const std::streamsize na = a.gcount(), nb = b.gcount();
    if (na != nb || std::memcmp(ba.data(), bb.data(), size_t(na)) != 0) return false;
    if (na == 0) return a.eof() && b.eof();
  }
}

// The names get(0..n-1) that are also in `other`, in their order.
template <typename Get>
std::vector<std::string> CommonOrder(size_t n, Get get, const std::map<std::string, bool>& other) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    if (other.count(get(i))) out.push_back(get(i));
  return out;
}

// Differences in how the content is laid out in the file.
std::vector<std::string> LayoutDifferences(const GgufFile& a, const GgufFile& b) {
  std::vector<std::string> out;
  if (a.version() != b.version())
    out.push_back("GGUF version " + std::to_string(a.version()) + " -> " + std::to_string(b.version()));
  std::map<std::string, bool> ka, kb, ta, tb;
  for (const auto& kv : a.kv()) ka[kv.first] = true;
  for (const auto& kv : b.kv()) kb[kv.first] = true;
  for (const auto& t : a.tensors()) ta[t.name] = true;
  for (const auto& t : b.tensors()) tb[t.name] = true;
  auto kva = [&](size_t i) { return a.kv()[i].first; };
  auto kvb = [&](size_t i) { return b.kv()[i].first; };
  if (CommonOrder(a.kv().size(), kva, kb) != CommonOrder(b.kv().size(), kvb, ka))
    out.push_back("metadata key order differs");
  auto tna = [&](size_t i) { return a.tensors()[i].name; };
  auto tnb = [&](size_t i) { return b.tensors()[i].name; };
  if (CommonOrder(a.tensors().size(), tna, tb) != CommonOrder(b.tensors().size(), tnb, ta))
    out.push_back("tensor order differs");
  return out;
}

// ----------------------------------------------------------------- main

int Diff(const std::string& path_a, const std::string& path_b, bool json) {
  std::unique_ptr<GgufFile> fa, fb;
  for (auto [path, f] : {std::pair{&path_a, &fa}, std::pair{&path_b, &fb}}) {
    Status st = GgufFile::Open(*path, f);
    if (!st.ok()) {
      PrintError(st.message());
      return kTrouble;
    }
  }
  const GgufFile &a = *fa, &b = *fb;

  const std::vector<MetaDiff> meta = DiffMetadata(a, b);

  std::vector<TensorDiff> tensors;
  for (const auto& t : a.tensors()) {
    tensors.emplace_back();
    tensors.back().name = t.name;
    tensors.back().a = &t;
    tensors.back().b = b.FindTensor(t.name);
  }
  for (const auto& t : b.tensors()) {
    if (a.FindTensor(t.name)) continue;
    tensors.emplace_back();
    tensors.back().name = t.name;
    tensors.back().b = &t;
  }
  size_t tensors_differing = 0;
  for (auto& d : tensors) {
    Status st = DiffTensor(a, b, &d);
    if (!st.ok()) {
      PrintError(st.message());
      return kTrouble;
    }
    if (d.status != "identical") ++tensors_differing;
  }

  std::vector<std::string> layout = LayoutDifferences(a, b);
  if (meta.empty() && tensors_differing == 0 && layout.empty() && !SameBytes(path_a, path_b))
    layout.push_back("other bytes differ (padding or data offsets)");
  const bool identical = meta.empty() && tensors_differing == 0 && layout.empty();

  if (json) {
    ojson j;
    j["a"] = path_a;
    j["b"] = path_b;
    ojson added = ojson::array(), removed = ojson::array(), changed = ojson::array();
    for (const auto& d : meta) (d.kind == '+' ? added : d.kind == '-' ? removed : changed).push_back(MetaJson(d));
    j["metadata"] = {{"added", added}, {"removed", removed}, {"changed", changed}};
    ojson tj = ojson::array();
    for (const auto& d : tensors) tj.push_back(TensorJson(d));
    j["tensors"] = tj;
    j["layout"] = layout;
    j["identical"] = identical;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return identical ? kIdentical : kDifferent;
  }

  std::printf("A  %s\nB  %s\n", path_a.c_str(), path_b.c_str());
  if (meta.empty()) {
    std::printf("\nmetadata: identical (%zu keys)\n", a.kv().size());
  } else {
    size_t n[3] = {0, 0, 0};
    for (const auto& d : meta) ++n[d.kind == '+' ? 0 : d.kind == '-' ? 1 : 2];
    std::printf("\nmetadata: %zu keys differ (%zu added, %zu removed, %zu changed)\n", meta.size(), n[0], n[1],
                n[2]);
    for (const auto& d : meta) {
      std::string type, value;
      if (d.kind == '~') {
        type = d.a->TypeString() == d.b->TypeString() ? d.a->TypeString()
                                                      : d.a->TypeString() + " -> " + d.b->TypeString();
        value = DescribeChange(*d.a, *d.b);
      } else {
        const GgufValue& v = d.kind == '+' ? *d.b : *d.a;
        type = v.TypeString();
        value = ShortValue(v);
      }
      std::printf("  %c %-40s %-12s %s\n", d.kind, d.key.c_str(), type.c_str(), value.c_str());
    }
  }

  std::printf("\ntensors: %zu of %zu differ\n", tensors_differing, tensors.size());
  size_t wname = 4, wshape = 5, wtype = 4;
  std::vector<std::string> shapes, types;
  for (const auto& d : tensors) {
    std::string sa = d.a ? ShapeString(d.a->ne) : "", sb = d.b ? ShapeString(d.b->ne) : "";
    std::string ta = d.a ? GgufFile::TypeName(d.a->type) : "", tb = d.b ? GgufFile::TypeName(d.b->type) : "";
    shapes.push_back(!d.a ? sb : !d.b || sa == sb ? sa : sa + " -> " + sb);
    types.push_back(!d.a ? tb : !d.b || ta == tb ? ta : ta + " -> " + tb);
    wname = std::max(wname, std::min<size_t>(d.name.size(), 40));
    wshape = std::max(wshape, shapes.back().size());
    wtype = std::max(wtype, types.back().size());
  }
  for (size_t i = 0; i < tensors.size(); ++i)
    std::printf("  %-*s  %-*s  %-*s  %s\n", int(wname), tensors[i].name.c_str(), int(wshape), shapes[i].c_str(),
                int(wtype), types[i].c_str(), TensorText(tensors[i]).c_str());

  if (!layout.empty()) {
    std::printf("\nlayout\n");
    for (const auto& l : layout) std::printf("  %s\n", l.c_str());
  }
  std::printf("\n");
  if (identical) {
    std::printf("identical\n");
  } else {
    std::string verdict = "different: " + std::to_string(meta.size()) + " metadata key" + (meta.size() == 1 ? "" : "s") +
                          ", " + std::to_string(tensors_differing) + " tensor" + (tensors_differing == 1 ? "" : "s");
    if (!layout.empty()) {
      verdict += "; layout: ";
      for (size_t i = 0; i < layout.size(); ++i) verdict += (i ? ", " : "") + layout[i];
    }
    std::printf("%s\n", verdict.c_str());
  }
  return identical ? kIdentical : kDifferent;
}

}  // namespace

void AddDiffCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "diff", "Compare two model binaries: metadata, tensors and their values (exit 0 identical, 1 different)");
  auto a = std::make_shared<std::string>();
  auto b = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("A", *a, "First GGUF file")->required();
  cmd->add_option("B", *b, "Second GGUF file")->required();
  cmd->add_flag("--json", *json,
                "Print one JSON object: a, b, metadata {added, removed, changed}, tensors [...], layout, identical");
  cmd->footer(
      "Prints the metadata keys added, removed or changed (both values, shortened when long), then every tensor in "
      "file order: identical, only in A or B, shape or type differs, or how its decoded values differ (differing "
      "elements, max abs and max relative difference |a-b|/max(|a|,|b|), first differing flat index and its two "
      "values), then a one-line verdict.\n"
      "Elements are compared by the bit patterns of their decoded float values (F32, F16, Q8_0), so a NaN equals "
      "the same NaN and 0 differs from -0.\n"
      "When keys and tensors are equal but the files' bytes are not (GGUF version, key or tensor order, padding), "
      "the files are reported as different.\n\n"
      "Exit status: 0 the files are identical, 1 they differ, 2 trouble (a file is missing, unreadable or not a "
      "valid GGUF file).");
  cmd->callback([=] {
    try {
      *exit_code = Diff(*a, *b, *json);
    } catch (const std::bad_alloc&) {
      PrintError("out of memory comparing " + *a + " and " + *b);
      *exit_code = kTrouble;
    }
  });
}

}  // namespace modelc
