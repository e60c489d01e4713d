#include "binary/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include "util/atomic_file.h"
#include "util/checked_math.h"

static_assert(std::endian::native == std::endian::little,
              "GGUF I/O here assumes a little-endian host");

namespace modelc {

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = uint64_t(1) << 20;  // same cap as ggml's reader
constexpr size_t kMaxTensorName = 63;                 // ggml: GGML_MAX_NAME (64) incl. NUL
constexpr size_t kMaxKeyLength = 65535;               // spec: at most 2^16-1 bytes
constexpr uint32_t kMaxDims = 4;

// Byte size of a fixed-size GGUF value type, 0 for string/array/unknown.
uint64_t ScalarSize(uint32_t t) {
  switch (t) {
    case gguf_type::kU8: case gguf_type::kI8: case gguf_type::kBool: return 1;
    case gguf_type::kU16: case gguf_type::kI16: return 2;
    case gguf_type::kU32: case gguf_type::kI32: case gguf_type::kF32: return 4;
    case gguf_type::kU64: case gguf_type::kI64: case gguf_type::kF64: return 8;
    default: return 0;
  }
}

bool IsKnownValueType(uint32_t t) { return t <= gguf_type::kF64; }

bool IsPow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do { mant <<= 1; ++e; } while ((mant & 0x400) == 0);
      mant &= 0x3ff;
      bits = sign | (uint32_t(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

// Sign-extends / zero-extends a raw little-endian scalar of type t.
uint64_t LoadScalarBits(uint32_t t, const uint8_t* p) {
  switch (t) {
    case gguf_type::kU8: case gguf_type::kBool: return p[0];
    case gguf_type::kI8: return uint64_t(int64_t(int8_t(p[0])));
    case gguf_type::kU16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case gguf_type::kI16: { int16_t v; std::memcpy(&v, p, 2); return uint64_t(int64_t(v)); }
    case gguf_type::kU32: case gguf_type::kF32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case gguf_type::kI32: { int32_t v; std::memcpy(&v, p, 4); return uint64_t(int64_t(v)); }
    default: { uint64_t v; std::memcpy(&v, p, 8); return v; }
  }
}

void StoreScalarBits(uint32_t t, uint64_t bits, std::string* out) {
  const uint64_t n = ScalarSize(t);
  char buf[8];
  std::memcpy(buf, &bits, 8);  // little-endian: low bytes first
  out->append(buf, n);
}

void PutU32(std::string* o, uint32_t v) { o->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* o, uint64_t v) { o->append(reinterpret_cast<const char*>(&v), 8); }
void PutStr(std::string* o, const std::string& s) {
  PutU64(o, s.size());
  o->append(s);
}

std::string FormatDouble(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Replaces invalid UTF-8 sequences with U+FFFD so nlohmann::json can dump it.
std::string SanitizeUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) { len = 1; cp = c; }
    else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      // reject overlong forms, surrogates and out-of-range code points
      if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        ok = false;
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

std::string QuoteForDisplay(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

// `modelc build DIR` for the model source `path` may belong to: the folder
// itself, or the folder of a .toml file; "" when it does not look like one.
std::string BuildHint(const std::string& path, bool is_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir;
  if (is_dir) {
    if (!fs::exists(fs::path(path) / "model.toml", ec)) return "";
    dir = path;
  } else {
    if (fs::path(path).extension() != ".toml") return "";
    dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
  }
  return "; it looks like a model source: build it first with `modelc build " + dir.string() + "`";
}

// Number of bytes for a tensor; false on unknown type, bad block multiple or overflow.
bool TensorBytes(uint32_t type, const std::vector<uint64_t>& ne, uint64_t* nbytes, std::string* why) {
  uint64_t blk = 0, bb = 0;
  if (!GgmlTypeInfo(type, &blk, &bb)) {
    *why = "unknown ggml type " + std::to_string(type);
    return false;
  }
  uint64_t n = 1;
  for (uint64_t d : ne) {
    if (!CheckedMul(n, d, &n) || n > uint64_t(std::numeric_limits<int64_t>::max())) {
      *why = "element count overflows";
      return false;
    }
  }
  if (ne.empty() || ne[0] % blk != 0) {
    *why = "ne[0] is not a multiple of the block size " + std::to_string(blk) + " of type " +
           GgufFile::TypeName(type);
    return false;
  }
  if (!CheckedMul(n / blk, bb, nbytes)) {
    *why = "byte size overflows";
    return false;
  }
  return true;
}

}  // namespace

const char* GgufValueTypeName(uint32_t t) {
  switch (t) {
    case gguf_type::kU8: return "u8";
    case gguf_type::kI8: return "i8";
    case gguf_type::kU16: return "u16";
    case gguf_type::kI16: return "i16";
    case gguf_type::kU32: return "u32";
    case gguf_type::kI32: return "i32";
    case gguf_type::kF32: return "f32";
    case gguf_type::kBool: return "bool";
    case gguf_type::kString: return "str";
    case gguf_type::kArray: return "arr";
    case gguf_type::kU64: return "u64";
    case gguf_type::kI64: return "i64";
    case gguf_type::kF64: return "f64";
    default: return "unknown";
  }
}

bool GgmlTypeInfo(uint32_t t, uint64_t* block_elems, uint64_t* block_bytes) {
  switch (t) {
    case ggml_type::kF32: *block_elems = 1; *block_bytes = 4; return true;
    case ggml_type::kF16: *block_elems = 1; *block_bytes = 2; return true;
    case ggml_type::kQ8_0: *block_elems = 32; *block_bytes = 34; return true;
    default: return false;
  }
}

// ---------------------------------------------------------------- GgufValue

#define MODELC_GGUF_SCALAR_FACTORY(Name, CType, Type, Expr) \
  GgufValue GgufValue::Name(CType v) {                       \
    GgufValue r;                                             \
    r.type_ = Type;                                          \
    r.bits_ = (Expr);                                        \
    return r;                                                \
  }
MODELC_GGUF_SCALAR_FACTORY(U8, uint8_t, gguf_type::kU8, v)
MODELC_GGUF_SCALAR_FACTORY(I8, int8_t, gguf_type::kI8, uint64_t(int64_t(v)))
MODELC_GGUF_SCALAR_FACTORY(U16, uint16_t, gguf_type::kU16, v)
MODELC_GGUF_SCALAR_FACTORY(I16, int16_t, gguf_type::kI16, uint64_t(int64_t(v)))
MODELC_GGUF_SCALAR_FACTORY(U32, uint32_t, gguf_type::kU32, v)
MODELC_GGUF_SCALAR_FACTORY(I32, int32_t, gguf_type::kI32, uint64_t(int64_t(v)))
MODELC_GGUF_SCALAR_FACTORY(F32, float, gguf_type::kF32, std::bit_cast<uint32_t>(v))
MODELC_GGUF_SCALAR_FACTORY(Bool, bool, gguf_type::kBool, v ? 1u : 0u)
MODELC_GGUF_SCALAR_FACTORY(U64, uint64_t, gguf_type::kU64, v)
MODELC_GGUF_SCALAR_FACTORY(I64, int64_t, gguf_type::kI64, uint64_t(v))
MODELC_GGUF_SCALAR_FACTORY(F64, double, gguf_type::kF64, std::bit_cast<uint64_t>(v))
#undef MODELC_GGUF_SCALAR_FACTORY

GgufValue GgufValue::String(std::string v) {
  GgufValue r;
  r.type_ = gguf_type::kString;
  r.str_ = std::move(v);
  return r;
}

GgufValue GgufValue::StringArray(std::vector<std::string> v) {
  GgufValue r;
  r.type_ = gguf_type::kArray;
  r.array_type_ = gguf_type::kString;
  r.count_ = v.size();
  r.strs_ = std::move(v);
  return r;
}

GgufValue GgufValue::I32Array(const std::vector<int32_t>& v) {
  return NumericArray(gguf_type::kI32, v.data(), v.size());
}

GgufValue GgufValue::F32Array(const std::vector<float>& v) {
  return NumericArray(gguf_type::kF32, v.data(), v.size());
}

GgufValue GgufValue::NumericArray(uint32_t elem_type, const void* data, uint64_t count) {
  GgufValue r;
  r.type_ = gguf_type::kArray;
  r.array_type_ = elem_type;
  r.count_ = count;
  const uint64_t es = ScalarSize(elem_type);
  if (es && count) {
    const auto* p = static_cast<const uint8_t*>(data);
    r.raw_.assign(p, p + es * count);
  }
  return r;
}

// A float truncated to int64, saturating (NaN -> 0): casting a value out of
// range is undefined behaviour, and the value comes from a file.
static int64_t SaturatingToI64(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (d < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return int64_t(d);
}

uint64_t GgufValue::AsU64() const {
  if (type_ == gguf_type::kF32) return uint64_t(SaturatingToI64(std::bit_cast<float>(uint32_t(bits_))));
  if (type_ == gguf_type::kF64) return uint64_t(SaturatingToI64(std::bit_cast<double>(bits_)));
  if (ScalarSize(type_) == 0) return 0;
  return bits_;
}

int64_t GgufValue::AsI64() const { return int64_t(AsU64()); }

double GgufValue::AsF64() const {
  switch (type_) {
    case gguf_type::kF32: return std::bit_cast<float>(uint32_t(bits_));
    case gguf_type::kF64: return std::bit_cast<double>(bits_);
    case gguf_type::kU8: case gguf_type::kU16: case gguf_type::kU32: case gguf_type::kU64:
    case gguf_type::kBool:
      return double(bits_);
    case gguf_type::kI8: case gguf_type::kI16: case gguf_type::kI32: case gguf_type::kI64:
      return double(int64_t(bits_));
    default: return 0.0;
  }
}

const std::string& GgufValue::AsString() const {
  static const std::string kEmpty;
  return type_ == gguf_type::kString ? str_ : kEmpty;
}

const std::vector<std::string>& GgufValue::StringArray() const {
  static const std::vector<std::string> kEmpty;
  return is_array() && array_type_ == gguf_type::kString ? strs_ : kEmpty;
}

std::vector<int32_t> GgufValue::I32Array() const {
  std::vector<int32_t> out;
  if (!is_array() || array_type_ != gguf_type::kI32) return out;
  out.resize(count_);
  if (count_) std::memcpy(out.data(), raw_.data(), count_ * 4);
  return out;
}

std::vector<float> GgufValue::F32Array() const {
  std::vector<float> out;
  if (!is_array() || array_type_ != gguf_type::kF32) return out;
  out.resize(count_);
  if (count_) std::memcpy(out.data(), raw_.data(), count_ * 4);
  return out;
}

GgufValue GgufValue::ArrayElement(uint64_t i) const {
  GgufValue r;
  if (!is_array() || i >= count_) return r;
  if (array_type_ == gguf_type::kString) return String(strs_[i]);
  const uint64_t es = ScalarSize(array_type_);
  r.type_ = array_type_;
  r.bits_ = LoadScalarBits(array_type_, raw_.data() + i * es);
  return r;
}

std::string GgufValue::TypeString() const {
  if (!is_array()) return GgufValueTypeName(type_);
  return std::string("arr[") + GgufValueTypeName(array_type_) + "]";
}

std::string GgufValue::ToDisplayString(size_t max_items) const {
  switch (type_) {
    case gguf_type::kU8: case gguf_type::kU16: case gguf_type::kU32: case gguf_type::kU64:
      return std::to_string(bits_);
    case gguf_type::kI8: case gguf_type::kI16: case gguf_type::kI32: case gguf_type::kI64:
      return std::to_string(int64_t(bits_));
    case gguf_type::kF32: return FormatDouble(AsF64(), 9);
    case gguf_type::kF64: return FormatDouble(AsF64(), 17);
    case gguf_type::kBool: return bits_ ? "true" : "false";
    case gguf_type::kString: return QuoteForDisplay(str_);
    case gguf_type::kArray: {
      std::string out = "[";
      const uint64_t shown = std::min<uint64_t>(count_, max_items);
      for (uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        out += ArrayElement(i).ToDisplayString(max_items);
      }
      if (shown < count_) out += std::string(shown ? ", " : "") + "... (" + std::to_string(count_) + " items)";
      out += "]";
      return out;
    }
    default: return "?";
  }
}

nlohmann::json GgufValue::ToJson() const {
  switch (type_) {
    case gguf_type::kU8: case gguf_type::kU16: case gguf_type::kU32: case gguf_type::kU64:
      return nlohmann::json(bits_);
    case gguf_type::kI8: case gguf_type::kI16: case gguf_type::kI32: case gguf_type::kI64:
      return nlohmann::json(int64_t(bits_));
    case gguf_type::kF32: case gguf_type::kF64: return nlohmann::json(AsF64());
    case gguf_type::kBool: return nlohmann::json(bits_ != 0);
    case gguf_type::kString: return nlohmann::json(SanitizeUtf8(str_));
    case gguf_type::kArray: {
      nlohmann::json arr = nlohmann::json::array();
      for (uint64_t i = 0; i < count_; ++i) arr.push_back(ArrayElement(i).ToJson());
      return arr;
    }
    default: return nullptr;
  }
}

bool GgufValue::operator==(const GgufValue& o) const {
  return type_ == o.type_ && array_type_ == o.array_type_ && bits_ == o.bits_ && str_ == o.str_ &&
         count_ == o.count_ && raw_ == o.raw_ && strs_ == o.strs_;
}

uint64_t GgufTensorInfo::n_elements() const {
  // The reader has checked the product (TensorBytes); saturate for others.
  uint64_t n = 1;
  for (uint64_t d : ne)
    if (!CheckedMul(n, d, &n)) return std::numeric_limits<uint64_t>::max();
  return n;
}

// ---------------------------------------------------------------- writer

void GgufWriter::Set(const std::string& key, GgufValue v) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  kv_.emplace_back(key, std::move(v));
}

void GgufWriter::AddTensorF32(const std::string& name, std::vector<uint64_t> ne, const float* data) {
  uint64_t n = 1;
  bool ok = !ne.empty() && ne.size() <= kMaxDims;
  for (uint64_t d : ne) ok = ok && CheckedMul(n, d, &n) && n <= (uint64_t(1) << 60);
  if (!ok) {
    if (deferred_error_.empty())
      deferred_error_ = "tensor '" + name + "': invalid shape (need 1..4 dims, no overflow)";
    return;
  }
  AddTensorRaw(name, std::move(ne), ggml_type::kF32, data, size_t(n * 4));
}

void GgufWriter::AddTensorRaw(const std::string& name, std::vector<uint64_t> ne, uint32_t type,
                              const void* data, size_t nbytes) {
  auto fail = [&](const std::string& why) {
    if (deferred_error_.empty()) deferred_error_ = "tensor '" + name + "': " + why;
  };
  if (name.empty() || name.size() > kMaxTensorName)
    return fail("name must be 1.." + std::to_string(kMaxTensorName) + " bytes");
  for (const auto& t : tensors_)
    if (t.name == name) return fail("duplicate tensor name");
  if (ne.empty() || ne.size() > kMaxDims) return fail("n_dims must be 1..4");
  for (uint64_t d : ne)
    if (d == 0) return fail("zero-sized dimension");
  uint64_t expect = 0;
  std::string why;
  if (!TensorBytes(type, ne, &expect, &why)) return fail(why);
  if (expect != nbytes)
    return fail("data is " + std::to_string(nbytes) + " bytes, shape and type need " +
                std::to_string(expect));
  if (nbytes && !data) return fail("null data");
  PendingTensor t;
  t.name = name;
  t.ne = std::move(ne);
  t.type = type;
  const auto* p = static_cast<const uint8_t*>(data);
  if (nbytes) t.bytes.assign(p, p + nbytes);
  tensors_.push_back(std::move(t));
}

Status GgufWriter::BuildMeta(std::string* meta, std::vector<uint64_t>* offsets,
                             uint64_t* alignment) const {
  if (!deferred_error_.empty()) return Status::Error("GGUF writer: " + deferred_error_);
  *alignment = kDefaultAlignment;
  for (const auto& [key, v] : kv_) {
    if (key.empty() || key.size() > kMaxKeyLength)
      return Status::Error("GGUF writer: key length must be 1..65535 bytes");
    if (key == "general.alignment") {
      if (v.type() != gguf_type::kU32 || !IsPow2(v.AsU64()) || v.AsU64() > kMaxAlignment)
        return Status::Error("GGUF writer: general.alignment must be a u32 power of two <= 1 MiB");
      *alignment = v.AsU64();
    }
    if (v.is_array() && (v.ArrayType() == gguf_type::kArray || !IsKnownValueType(v.ArrayType())))
      return Status::Error("GGUF writer: key " + key + ": unsupported array element type");
    if (!IsKnownValueType(v.type()))
      return Status::Error("GGUF writer: key " + key + ": unknown value type");
  }
  std::string& o = *meta;
  o.clear();
  o.append("GGUF", 4);
  PutU32(&o, 3);
  PutU64(&o, tensors_.size());
  PutU64(&o, kv_.size());
  for (const auto& [key, v] : kv_) {
    PutStr(&o, key);
    PutU32(&o, v.type());
    if (v.type() == gguf_type::kString) {
      PutStr(&o, v.AsString());
    } else if (v.is_array()) {
      PutU32(&o, v.ArrayType());
      PutU64(&o, v.ArraySize());
      if (v.ArrayType() == gguf_type::kString) {
        for (const auto& s : v.StringArray()) PutStr(&o, s);
      } else {
        const auto& raw = v.RawArrayBytes();
        o.append(reinterpret_cast<const char*>(raw.data()), raw.size());
      }
    } else {
      StoreScalarBits(v.type(), v.RawBits(), &o);
    }
  }
  offsets->clear();
  uint64_t off = 0;
  for (const auto& t : tensors_) {
    PutStr(&o, t.name);
    PutU32(&o, uint32_t(t.ne.size()));
    for (uint64_t d : t.ne) PutU64(&o, d);
    PutU32(&o, t.type);
    PutU64(&o, off);
    offsets->push_back(off);
    off = AlignUp(off + t.bytes.size(), *alignment);
  }
  o.resize(AlignUp(o.size(), *alignment), '\0');
  return Status::OK();
}

Status GgufWriter::Serialize(std::string* out) const {
  std::vector<uint64_t> offsets;
  uint64_t alignment = 0;
  MODELC_RETURN_IF_ERROR(BuildMeta(out, &offsets, &alignment));
  for (const auto& t : tensors_) {
    out->append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    out->resize(AlignUp(out->size(), alignment), '\0');
  }
  return Status::OK();
}

Status GgufWriter::Write(const std::string& path) const {
  std::string meta;
  std::vector<uint64_t> offsets;
  uint64_t alignment = 0;
  Status st = BuildMeta(&meta, &offsets, &alignment);
  if (!st.ok()) return st.Wrap(path);
  AtomicFile f(path);
  MODELC_RETURN_IF_ERROR(f.Open());
  MODELC_RETURN_IF_ERROR(f.Write(meta.data(), meta.size()));
  static const char kZeros[kMaxAlignment > 4096 ? 4096 : kMaxAlignment] = {};
  for (const auto& t : tensors_) {
    MODELC_RETURN_IF_ERROR(f.Write(t.bytes.data(), t.bytes.size()));
    uint64_t pad = AlignUp(t.bytes.size(), alignment) - t.bytes.size();
    while (pad) {
      const size_t n = size_t(std::min<uint64_t>(pad, sizeof kZeros));
      MODELC_RETURN_IF_ERROR(f.Write(kZeros, n));
      pad -= n;
    }
  }
  return f.Commit();
}

// ---------------------------------------------------------------- reader

class GgufParser {
 public:
  GgufParser(GgufFile* f) : f_(f), p_(f->base_), size_(f->size_) {}

  Status Parse() {
    const std::string& path = f_->path_;
    if (size_ == 0)
      return Status::Error(path + ": not a GGUF file (it is empty)" + BuildHint(path, false));
    const size_t head = size_t(std::min<uint64_t>(size_, 4));
    if (std::memcmp(p_, "GGUF", head) != 0)
      return Status::Error(path + ": not a GGUF file (it starts with " +
                           QuoteForDisplay(std::string(reinterpret_cast<const char*>(p_), head)) +
                           ", a GGUF file starts with \"GGUF\")" + BuildHint(path, false));
    if (size_ < 24) return Truncated("the GGUF header", 0, 24);
    pos_ = 4;
    uint32_t version = 0;
    ReadU32(&version);
    if (version != 3 && version != 2)
      return Err("unsupported GGUF version " + std::to_string(version) + " (expected 3)", 4);
    f_->version_ = version;
    uint64_t n_tensors = 0, n_kv = 0;
    ReadU64(&n_tensors);
    ReadU64(&n_kv);
    // No count may promise more entries than the file can hold. Smallest
    // possible kv: key len (8) + 1 key byte + type (4) + 1 value byte;
    // tensor info: name len (8) + 1 + n_dims (4) + ne (8) + type (4) +
    // offset (8). A count the size of the file or more is corrupt; a smaller
    // one that does not fit says the file was cut short.
    if (!Fits(24, n_kv, 14, size_)) {
      if (n_kv >= size_)
        return Err("metadata_kv_count " + std::to_string(n_kv) + " is implausible for file size " +
                       std::to_string(size_),
                   16);
      return Truncated("metadata_kv_count " + std::to_string(n_kv) + " (at least 14 bytes each)", 24, n_kv * 14);  // n_kv < size_: no overflow
    }
    if (!Fits(24, n_tensors, 33, size_)) {
      if (n_tensors >= size_)
        return Err("tensor_count " + std::to_string(n_tensors) + " is implausible for file size " +
                       std::to_string(size_),
                   8);
      return Truncated("tensor_count " + std::to_string(n_tensors) + " (at least 33 bytes each)", 24, n_tensors * 33);  // likewise
    }

    std::unordered_set<std::string> keys;
    std::vector<uint64_t> key_pos;
    // No reserve() from header counts: a corrupt count must not drive an
    // allocation; vectors grow only as entries actually parse.
    for (uint64_t i = 0; i < n_kv; ++i) {
      const uint64_t kpos = pos_;
      std::string key;
      MODELC_RETURN_IF_ERROR(ReadString(&key, "the key"));
      if (key.empty()) return Err("empty metadata key", kpos);
      if (key.size() > kMaxKeyLength) return Err("metadata key longer than 65535 bytes", kpos);
      if (!keys.insert(key).second) return Err("duplicate key '" + key + "'", kpos);
      key_pos.push_back(kpos);
      GgufValue v;
      MODELC_RETURN_IF_ERROR(ReadValue(key, &v));
      f_->kv_.emplace_back(std::move(key), std::move(v));
    }

    // Alignment.
    f_->alignment_ = kDefaultAlignment;
    for (size_t i = 0; i < f_->kv_.size(); ++i) {
      const auto& [key, v] = f_->kv_[i];
      if (key != "general.alignment") continue;
      if (v.type() != gguf_type::kU32)
        return Err("general.alignment has type " + v.TypeString() + ", expected u32", key_pos[i]);
      const uint64_t a = v.AsU64();
      if (!IsPow2(a) || a > kMaxAlignment)
        return Err("general.alignment " + std::to_string(a) + " is not a power of two <= 1 MiB",
                   key_pos[i]);
      f_->alignment_ = a;
    }
    const uint64_t align = f_->alignment_;

    std::unordered_set<std::string> names;
    std::vector<uint64_t> offset_pos;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensorInfo t;
      const uint64_t npos = pos_;
      MODELC_RETURN_IF_ERROR(ReadString(&t.name, "the tensor name"));
      if (t.name.empty() || t.name.size() > kMaxTensorName)
        return Err("tensor name length " + std::to_string(t.name.size()) + " not in 1.." +
                       std::to_string(kMaxTensorName),
                   npos);
      if (!names.insert(t.name).second) return Err("duplicate tensor name '" + t.name + "'", npos);
      const uint64_t dpos = pos_;
      uint32_t n_dims = 0;
      if (!ReadU32(&n_dims)) return Truncated("tensor '" + t.name + "' n_dims", pos_, 4);
      if (n_dims < 1 || n_dims > kMaxDims)
        return Err("tensor '" + t.name + "' has n_dims " + std::to_string(n_dims) + " (expected 1..4)", dpos);
      t.ne.resize(n_dims);
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t epos = pos_;
        if (!ReadU64(&t.ne[d])) return Truncated("tensor '" + t.name + "' dimensions", pos_, 8);
        if (t.ne[d] == 0 || t.ne[d] > uint64_t(std::numeric_limits<int64_t>::max()))
          return Err("tensor '" + t.name + "' dimension " + std::to_string(d) + " is " +
                         std::to_string(t.ne[d]),
                     epos);
      }
      const uint64_t tpos = pos_;
      if (!ReadU32(&t.type)) return Truncated("tensor '" + t.name + "' type", pos_, 4);
      uint64_t blk, bb;
      if (!GgmlTypeInfo(t.type, &blk, &bb))
        return Err("tensor '" + t.name + "' has unknown ggml type " + std::to_string(t.type), tpos);
      std::string why;
      if (!TensorBytes(t.type, t.ne, &t.nbytes, &why))
        return Err("tensor '" + t.name + "': " + why, dpos);
      offset_pos.push_back(pos_);
      if (!ReadU64(&t.offset)) return Truncated("tensor '" + t.name + "' offset", pos_, 8);
      if (t.offset % align != 0)
        return Err("tensor '" + t.name + "' offset " + std::to_string(t.offset) +
                       " is not a multiple of the alignment " + std::to_string(align),
                   offset_pos.back());
      f_->tensors_.push_back(std::move(t));
    }

    // Data section.
    uint64_t data_start = pos_;
    if (n_tensors > 0) {
      data_start = AlignUp(pos_, align);  // pos_ <= size_, align <= 1 MiB: no overflow
      if (data_start > size_) return Truncated("the padding before the tensor data", pos_, data_start - pos_);
    }
    f_->data_offset_ = data_start;
    for (size_t i = 0; i < f_->tensors_.size(); ++i) {
      GgufTensorInfo& t = f_->tensors_[i];
      uint64_t start = 0;
      if (!CheckedAdd(data_start, t.offset, &start))
        return Err("tensor '" + t.name + "' offset " + std::to_string(t.offset) + " overflows",
                   offset_pos[i]);
      if (!Fits(start, t.nbytes, 1, size_))
        return Truncated("tensor '" + t.name + "' data", start, t.nbytes);
      t.data = p_ + start;
    }
    // Overlap check.
    std::vector<size_t> order(f_->tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return f_->tensors_[a].offset < f_->tensors_[b].offset;
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& a = f_->tensors_[order[k - 1]];
      const auto& b = f_->tensors_[order[k]];
      if (a.offset + a.nbytes > b.offset)
        return Err("tensors '" + a.name + "' and '" + b.name + "' overlap", data_start + b.offset);
    }
    return Status::OK();
  }

 private:
  Status Err(const std::string& what, uint64_t off) const {
    return Status::Error(f_->path_ + ": " + what + " at byte offset " + std::to_string(off));
  }
  // "PATH: truncated: WHAT needs bytes START..END but the file ends at SIZE"
  Status Truncated(const std::string& what, uint64_t start, uint64_t len) const {
    uint64_t end = 0;
    const std::string range = std::to_string(start) + ".." +
                              (CheckedAdd(start, len, &end) ? std::to_string(end) : std::string("2^64+"));
    return Status::Error(f_->path_ + ": truncated: " + what + " needs bytes " + range +
                         " but the file ends at " + std::to_string(size_));
  }
  bool Have(uint64_t n) const { return n <= size_ - pos_; }
  bool ReadU32(uint32_t* v) {
    if (!Have(4)) return false;
    std::memcpy(v, p_ + pos_, 4);
    pos_ += 4;
    return true;
  }
  bool ReadU64(uint64_t* v) {
    if (!Have(8)) return false;
    std::memcpy(v, p_ + pos_, 8);
    pos_ += 8;
    return true;
  }
  Status ReadString(std::string* s, const std::string& what) {
    const uint64_t lpos = pos_;
    uint64_t len = 0;
    if (!ReadU64(&len)) return Truncated("the length of " + what, pos_, 8);
    if (!Have(len)) {
      // Longer than the whole file: corrupt; else the file was cut short.
      if (len >= size_)
        return Err(what + " length " + std::to_string(len) + " is larger than the file (" +
                       std::to_string(size_) + " bytes)",
                   lpos);
      return Truncated(what + " (" + std::to_string(len) + " bytes)", pos_, len);
    }
    s->assign(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += len;
    return Status::OK();
  }
  Status ReadValue(const std::string& key, GgufValue* v) {
    const uint64_t tpos = pos_;
    uint32_t type = 0;
    if (!ReadU32(&type)) return Truncated("the value type of key '" + key + "'", pos_, 4);
    if (!IsKnownValueType(type))
      return Err("unknown value type " + std::to_string(type) + " for key '" + key + "'", tpos);
    v->type_ = type;
    if (type == gguf_type::kString) return ReadString(&v->str_, "the string value of key '" + key + "'");
    if (type != gguf_type::kArray) {
      const uint64_t n = ScalarSize(type);
      if (!Have(n)) return Truncated("the value of key '" + key + "'", pos_, n);
      if (type == gguf_type::kBool && p_[pos_] > 1)
        return Err("invalid bool value " + std::to_string(p_[pos_]) + " for key '" + key + "'", pos_);
      v->bits_ = LoadScalarBits(type, p_ + pos_);
      pos_ += n;
      return Status::OK();
    }
    const uint64_t epos = pos_;
    uint32_t et = 0;
    if (!ReadU32(&et)) return Truncated("the array element type of key '" + key + "'", pos_, 4);
    if (et == gguf_type::kArray) return Err("nested arrays are not supported (key '" + key + "')", epos);
    if (!IsKnownValueType(et))
      return Err("unknown array element type " + std::to_string(et) + " for key '" + key + "'", epos);
    const uint64_t cpos = pos_;
    uint64_t count = 0;
    if (!ReadU64(&count)) return Truncated("the array length of key '" + key + "'", pos_, 8);
    // Each element takes at least min_elem bytes (a string: its length), so
    // the count is bounded by the rest of the file before anything is read
    // or allocated.
    const uint64_t min_elem = et == gguf_type::kString ? 8 : ScalarSize(et);
    if (!Fits(pos_, count, min_elem, size_)) {
      if (count >= size_)
        return Err("array length " + std::to_string(count) + " of key '" + key +
                       "' is larger than the file (" + std::to_string(size_) + " bytes)",
                   cpos);
      return Truncated("array '" + key + "' (" + std::to_string(count) + " x " + GgufValueTypeName(et) + ")",
                       pos_, count * min_elem);
    }
    v->array_type_ = et;
    v->count_ = count;
    if (et == gguf_type::kString) {
      for (uint64_t i = 0; i < count; ++i) {
        std::string s;
        MODELC_RETURN_IF_ERROR(ReadString(&s, "element " + std::to_string(i) + " of array '" + key + "'"));
        v->strs_.push_back(std::move(s));
      }
    } else {
      const uint64_t n = count * min_elem;  // no overflow: Fits above
      if (et == gguf_type::kBool) {
        for (uint64_t i = 0; i < count; ++i)
          if (p_[pos_ + i] > 1)
            return Err("invalid bool value " + std::to_string(p_[pos_ + i]) + " in array '" + key + "'",
                       pos_ + i);
      }
      v->raw_.assign(p_ + pos_, p_ + pos_ + n);
      pos_ += n;
    }
    return Status::OK();
  }

  GgufFile* f_;
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

GgufFile::~GgufFile() {
  if (map_) ::munmap(map_, size_t(size_));
}

Status GgufFile::Open(const std::string& path, std::unique_ptr<GgufFile>* out) {
  out->reset();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Status::Error(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode))
      return Status::Error(path + ": is a folder, not a GGUF file" + BuildHint(path, true));
    return Status::Error(path + ": not a regular file");
  }
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->size_ = uint64_t(st.st_size);
  if (f->size_ > 0) {
    void* m = ::mmap(nullptr, size_t(f->size_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      return Status::Error(path + ": mmap failed: " + std::strerror(e));
    }
    f->map_ = m;
    f->base_ = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
  GgufParser parser(f.get());
  MODELC_RETURN_IF_ERROR(parser.Parse());
  *out = std::move(f);
  return Status::OK();
}

Status GgufFile::FromBuffer(const std::string& name, const void* data, size_t size,
                            std::unique_ptr<GgufFile>* out) {
  out->reset();
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  const auto* p = static_cast<const uint8_t*>(data);
  if (size) f->owned_.assign(p, p + size);
  f->base_ = f->owned_.data();
  f->size_ = size;
  GgufParser parser(f.get());
  MODELC_RETURN_IF_ERROR(parser.Parse());
  *out = std::move(f);
  return Status::OK();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  for (const auto& kv : kv_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

Status GgufFile::Lookup(const std::string& key, uint32_t type, uint32_t array_type,
                        const GgufValue** v) const {
  *v = Find(key);
  if (!*v) return Status::Error(path_ + ": missing key " + key);
  const bool match = (*v)->type() == type && (type != gguf_type::kArray || (*v)->ArrayType() == array_type);
  if (!match) {
    std::string expected = type == gguf_type::kArray
                               ? std::string("arr[") + GgufValueTypeName(array_type) + "]"
                               : std::string(GgufValueTypeName(type));
    return Status::Error(path_ + ": key " + key + " has type " + (*v)->TypeString() + ", expected " +
                         expected);
  }
  return Status::OK();
}

Status GgufFile::GetU32(const std::string& key, uint32_t* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kU32, 0, &v));
  *out = uint32_t(v->AsU64());
  return Status::OK();
}
Status GgufFile::GetI32(const std::string& key, int32_t* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kI32, 0, &v));
  *out = int32_t(v->AsI64());
  return Status::OK();
}
Status GgufFile::GetU64(const std::string& key, uint64_t* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kU64, 0, &v));
  *out = v->AsU64();
  return Status::OK();
}
Status GgufFile::GetF32(const std::string& key, float* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kF32, 0, &v));
  *out = float(v->AsF64());
  return Status::OK();
}
Status GgufFile::GetBool(const std::string& key, bool* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kBool, 0, &v));
  *out = v->AsBool();
  return Status::OK();
}
Status GgufFile::GetString(const std::string& key, std::string* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kString, 0, &v));
  *out = v->AsString();
  return Status::OK();
}
Status GgufFile::GetStringArray(const std::string& key, std::vector<std::string>* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kArray, gguf_type::kString, &v));
  *out = v->StringArray();
  return Status::OK();
}
Status GgufFile::GetI32Array(const std::string& key, std::vector<int32_t>* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kArray, gguf_type::kI32, &v));
  *out = v->I32Array();
  return Status::OK();
}
Status GgufFile::GetF32Array(const std::string& key, std::vector<float>* out) const {
  const GgufValue* v;
  MODELC_RETURN_IF_ERROR(Lookup(key, gguf_type::kArray, gguf_type::kF32, &v));
  *out = v->F32Array();
  return Status::OK();
}

Status GgufFile::ReadTensorF32(const std::string& name, std::vector<float>* out) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (!t) return Status::Error(path_ + ": missing tensor " + name);
  const uint64_t n = t->n_elements();
  out->resize(size_t(n));
  switch (t->type) {
    case ggml_type::kF32:
      if (n) std::memcpy(out->data(), t->data, size_t(n) * 4);
      return Status::OK();
    case ggml_type::kF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t->data + 2 * i, 2);
        (*out)[i] = HalfToFloat(h);
      }
      return Status::OK();
    case ggml_type::kQ8_0:
      for (uint64_t b = 0; b < n / 32; ++b) {
        const uint8_t* blk = t->data + b * 34;
        uint16_t h;
        std::memcpy(&h, blk, 2);
        const float d = HalfToFloat(h);
        for (int j = 0; j < 32; ++j) (*out)[b * 32 + j] = d * float(int8_t(blk[2 + j]));
      }
      return Status::OK();
    default:
      return Status::Error(path_ + ": tensor " + name + " has unsupported type " + TypeName(t->type));
  }
}

const char* GgufFile::TypeName(uint32_t t) {
  switch (t) {
    case ggml_type::kF32: return "F32";
    case ggml_type::kF16: return "F16";
    case ggml_type::kQ8_0: return "Q8_0";
    default: return "unknown";
  }
}

}  // namespace modelc
