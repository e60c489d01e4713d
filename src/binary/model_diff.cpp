#include "binary/model_diff.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

namespace modelc {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::string HexBits(uint64_t bits, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, (unsigned long long)bits);
  return buf;
}

namespace {

using ojson = nlohmann::ordered_json;

// ------------------------------------------------------------ metadata

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

MetadataDiff Changed(const std::string& key, const GgufValue* a, const GgufValue* b) {
  MetadataDiff d{'~', key, a, b};
  if (a->TypeString() == b->TypeString()) {
    if (a->is_array()) {
      d.has_first_difference = true;
      d.first_difference = FirstArrayDifference(*a, *b);
    } else if (a->type() == gguf_type::kString) {
      d.has_first_difference = true;
      d.first_difference = FirstByteDifference(a->AsString(), b->AsString());
    }
  }
  return d;
}

std::vector<MetadataDiff> DiffMetadata(const GgufFile& a, const GgufFile& b) {
  std::vector<MetadataDiff> out;
  for (const auto& [k, va] : a.kv()) {
    const GgufValue* vb = b.Find(k);
    if (!vb)
      out.push_back({'-', k, &va, nullptr});
    else if (!(va == *vb))
      out.push_back(Changed(k, &va, vb));
  }
  for (const auto& [k, vb] : b.kv())
    if (!a.Find(k)) out.push_back({'+', k, nullptr, &vb});
  return out;
}

ojson ValueJson(const GgufValue& v) {
  ojson j;
  j["type"] = v.TypeString();
  if (v.is_array()) j["length"] = v.ArraySize();
  j["value"] = ojson(v.ToJson());
  return j;
}

ojson MetaJson(const MetadataDiff& d) {
  ojson j;
  j["key"] = d.key;
  if (d.kind != '~') {
    ojson v = ValueJson(d.kind == '+' ? *d.b : *d.a);
    for (auto it = v.begin(); it != v.end(); ++it) j[it.key()] = it.value();
    return j;
  }
  j["a"] = ValueJson(*d.a);
  j["b"] = ValueJson(*d.b);
  if (d.has_first_difference) {
    const uint64_t i = d.first_difference;
    if (d.a->is_array()) {
      j["first_difference"] = {
          {"index", i},
          {"a", i < d.a->ArraySize() ? ojson(d.a->ArrayElement(i).ToJson()) : ojson(nullptr)},
          {"b", i < d.b->ArraySize() ? ojson(d.b->ArrayElement(i).ToJson()) : ojson(nullptr)}};
    } else {
      j["first_difference"] = {{"byte", size_t(i)}};
    }
  }
  return j;
}

// ------------------------------------------------------------- tensors

// Element-wise comparison of decoded values. Elements differ when their bit
// patterns differ (so NaN equals the same NaN, and 0 differs from -0).
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
                               {"a_bits", HexBits(FloatBits(d.first_a), 8)},
                               {"b_bits", HexBits(FloatBits(d.first_b), 8)}};
    else
      j["first_difference"] = nullptr;
  }
  return j;
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

}  // namespace

Status DiffModels(const std::string& path_a, const std::string& path_b, ModelDiff* out) {
  ModelDiff& r = *out;
  r.path_a = path_a;
  r.path_b = path_b;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(path_a, &r.a));
  MODELC_RETURN_IF_ERROR(GgufFile::Open(path_b, &r.b));
  const GgufFile &a = *r.a, &b = *r.b;

  r.metadata = DiffMetadata(a, b);

  r.tensors.clear();
  for (const auto& t : a.tensors()) {
    r.tensors.emplace_back();
    r.tensors.back().name = t.name;
    r.tensors.back().a = &t;
    r.tensors.back().b = b.FindTensor(t.name);
  }
  for (const auto& t : b.tensors()) {
    if (a.FindTensor(t.name)) continue;
    r.tensors.emplace_back();
    r.tensors.back().name = t.name;
    r.tensors.back().b = &t;
  }
  r.tensors_differing = 0;
  for (auto& d : r.tensors) {
    MODELC_RETURN_IF_ERROR(DiffTensor(a, b, &d));
    if (d.status != "identical") ++r.tensors_differing;
  }

  r.layout = LayoutDifferences(a, b);
  if (r.metadata.empty() && r.tensors_differing == 0 && r.layout.empty() && !SameBytes(path_a, path_b))
    r.layout.push_back("other bytes differ (padding or data offsets)");
  r.identical = r.metadata.empty() && r.tensors_differing == 0 && r.layout.empty();
  return Status::OK();
}

ojson ModelDiffJson(const ModelDiff& d) {
  ojson j;
  j["a"] = d.path_a;
  j["b"] = d.path_b;
  ojson added = ojson::array(), removed = ojson::array(), changed = ojson::array();
  for (const auto& m : d.metadata) (m.kind == '+' ? added : m.kind == '-' ? removed : changed).push_back(MetaJson(m));
  j["metadata"] = {{"added", added}, {"removed", removed}, {"changed", changed}};
  ojson tj = ojson::array();
  for (const auto& t : d.tensors) tj.push_back(TensorJson(t));
  j["tensors"] = tj;
  j["layout"] = d.layout;
  j["identical"] = d.identical;
  return j;
}

}  // namespace modelc
