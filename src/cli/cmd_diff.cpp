// modelc diff A.gguf B.gguf [--json]
//
// Prints the comparison binary/model_diff.h computes: every metadata key
// that differs (values shortened when long), every tensor in file order, a
// one-line verdict; or (--json) ModelDiffJson. Exit status as diffoscope:
// 0 identical, 1 different, 2 trouble.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "binary/model_diff.h"
#include "cli/commands.h"
#include "cli/gguf_print.h"

namespace modelc {

namespace {

constexpr int kIdentical = 0, kDifferent = 1, kTrouble = 2;
constexpr size_t kMaxShown = 80;  // longest value shown in full in text output

bool IsUtf8Continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

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

// Text for a changed value: "A -> B", shortened when long, with the first
// differing index (arrays) or byte (strings).
std::string DescribeChange(const MetadataDiff& d) {
  const GgufValue &a = *d.a, &b = *d.b;
  if (a.TypeString() != b.TypeString()) return ShortValue(a) + " -> " + ShortValue(b);
  if (a.is_array()) {
    const std::string da = a.ToDisplayString(8), db = b.ToDisplayString(8);
    if (a.ArraySize() <= 8 && b.ArraySize() <= 8 && da.size() <= kMaxShown && db.size() <= kMaxShown)
      return da + " -> " + db;
    const uint64_t i = d.first_difference;
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
    const size_t i = size_t(d.first_difference);
    std::string s = sa.size() == sb.size()
                        ? std::to_string(sa.size()) + " bytes"
                        : std::to_string(sa.size()) + " -> " + std::to_string(sb.size()) + " bytes";
    return s + ", first difference at byte " + std::to_string(i) + ": " + StringWindow(sa, i) + " -> " +
           StringWindow(sb, i);
  }
  std::string da = a.ToDisplayString(), db = b.ToDisplayString();
  if (da == db) {  // e.g. two NaNs with different payloads
    const int digits = a.type() == gguf_type::kF64 ? 16 : 8;
    da += " (" + HexBits(a.RawBits(), digits) + ")";
    db += " (" + HexBits(b.RawBits(), digits) + ")";
  }
  return da + " -> " + db;
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
  if (s == obuf) s += " (" + HexBits(FloatBits(v), 8) + ")";
  return s;
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

void PrintText(const ModelDiff& r) {
  const std::vector<MetadataDiff>& meta = r.metadata;
  const std::vector<TensorDiff>& tensors = r.tensors;
  const size_t tensors_differing = r.tensors_differing;
  const std::vector<std::string>& layout = r.layout;
  std::printf("A  %s\nB  %s\n", r.path_a.c_str(), r.path_b.c_str());
  if (meta.empty()) {
    std::printf("\nmetadata: identical (%zu keys)\n", r.a->kv().size());
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
        value = DescribeChange(d);
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
  if (r.identical) {
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
}

int Diff(const std::string& path_a, const std::string& path_b, bool json) {
  ModelDiff r;
  Status st = DiffModels(path_a, path_b, &r);
  if (!st.ok()) {
    PrintError(st.message());
    return kTrouble;
  }
  if (json)
    std::printf("%s\n",
                ModelDiffJson(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    PrintText(r);
  return r.identical ? kIdentical : kDifferent;
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
