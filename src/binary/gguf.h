// GGUF v3 writer and validating reader.
//
// Byte layout (all integers little-endian; this code only supports
// little-endian hosts and files):
//
//   offset  size  field
//   0       4     magic: the bytes 'G' 'G' 'U' 'F' (0x47 0x47 0x55 0x46)
//   4       4     u32 version (3; version 2 has the same layout and is read too)
//   8       8     u64 tensor_count
//   16      8     u64 metadata_kv_count
//   24      ...   metadata_kv_count key/value pairs:
//                   string key; u32 value_type; value
//                 then tensor_count tensor infos:
//                   string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type;
//                   u64 offset (relative to the start of the data section)
//                 zero padding up to a multiple of ALIGNMENT
//   data_start    tensor data; every tensor offset is a multiple of
//                 ALIGNMENT; tensors are zero padded to ALIGNMENT (the writer
//                 also pads after the last one, as ggml does).
//
//   string  = u64 byte length, then that many bytes (UTF-8, no terminator)
//   value   = by value_type:
//               0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32,
//               7 bool (1 byte, 0 or 1), 8 string,
//               9 array: u32 element_type, u64 count, count values
//                        (nested arrays are rejected by this reader),
//               10 u64, 11 i64, 12 f64
//   ALIGNMENT = the u32 value of "general.alignment" if present (must be a
//               power of two), else 32.
//   ne[0] is the innermost (contiguous) dimension, ggml convention.
//   Tensor types understood here: F32 (0, 4 bytes), F16 (1, 2 bytes),
//   Q8_0 (8, blocks of 32 elements = 34 bytes: f16 scale + 32 x i8).
//
// See docs/gguf.md for the sources this was checked against and the exact
// keys and tensor shapes modelc writes (binary/model_file.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace modelc {

// GGUF metadata value types.
namespace gguf_type {
constexpr uint32_t kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6,
                   kBool = 7, kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12;
}  // namespace gguf_type

// ggml tensor types this code knows how to size.
namespace ggml_type {
constexpr uint32_t kF32 = 0, kF16 = 1, kQ8_0 = 8;
}  // namespace ggml_type

// "u8", "i32", "f32", "bool", "str", "arr", ... ; "unknown" otherwise.
const char* GgufValueTypeName(uint32_t gguf_value_type);
// Block size (elements) and block byte size of a ggml type; false if unknown.
bool GgmlTypeInfo(uint32_t ggml_type, uint64_t* block_elems, uint64_t* block_bytes);

// One metadata value: a scalar, a string or a (non-nested) array.
class GgufValue {
 public:
  GgufValue() = default;

  // Factories.
  static GgufValue U8(uint8_t v);
  static GgufValue I8(int8_t v);
  static GgufValue U16(uint16_t v);
  static GgufValue I16(int16_t v);
  static GgufValue U32(uint32_t v);
  static GgufValue I32(int32_t v);
  static GgufValue F32(float v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  static GgufValue U64(uint64_t v);
  static GgufValue I64(int64_t v);
  static GgufValue F64(double v);
  static GgufValue StringArray(std::vector<std::string> v);
  static GgufValue I32Array(const std::vector<int32_t>& v);
  static GgufValue F32Array(const std::vector<float>& v);
  // Array of a fixed-size element type (anything but string/array); `data`
  // holds `count` little-endian elements. Bool elements must be 0 or 1.
  static GgufValue NumericArray(uint32_t elem_type, const void* data, uint64_t count);

  uint32_t type() const { return type_; }
  bool is_array() const { return type_ == gguf_type::kArray; }

  // Scalar accessors. Integers and bools convert between each other
  // (AsU64 of a negative value wraps); floats truncate toward zero,
  // saturating at the int64 range (NaN gives 0); AsF64 accepts every numeric type.
  // On a string or array they return 0 / false.
  uint64_t AsU64() const;
  int64_t AsI64() const;
  double AsF64() const;
  bool AsBool() const { return AsU64() != 0; }
  // The string value; empty for non-strings.
  const std::string& AsString() const;
  // Scalar bit pattern as stored (floats: their IEEE bits; signed ints:
  // sign-extended to 64 bits).
  uint64_t RawBits() const { return bits_; }

  // Array accessors (0 / empty for non-arrays or other element types).
  uint32_t ArrayType() const { return is_array() ? array_type_ : 0; }
  uint64_t ArraySize() const { return is_array() ? count_ : 0; }
  const std::vector<std::string>& StringArray() const;  // string arrays
  std::vector<int32_t> I32Array() const;                // i32 arrays
  std::vector<float> F32Array() const;                  // f32 arrays
  // Element i of any array as a scalar value (i < ArraySize()).
  GgufValue ArrayElement(uint64_t i) const;
  // Raw little-endian element bytes of a numeric array.
  const std::vector<uint8_t>& RawArrayBytes() const { return raw_; }

  // "42", "1e-05", "\"gpt2\"", "[\"a\", \"b\", ... (50257 items)]".
  std::string ToDisplayString(size_t max_items = 8) const;
  // Numbers, bools, strings (invalid UTF-8 replaced by U+FFFD) and full arrays.
  nlohmann::json ToJson() const;

  // The type name as shown in errors: "u32", "arr[str]".
  std::string TypeString() const;

  bool operator==(const GgufValue& o) const;

 private:
  friend class GgufParser;
  uint32_t type_ = gguf_type::kU8;
  uint32_t array_type_ = 0;
  uint64_t bits_ = 0;                 // scalar bit pattern (ints: sign-extended)
  std::string str_;                   // string scalar
  uint64_t count_ = 0;                // array element count
  std::vector<uint8_t> raw_;          // numeric array elements, little-endian
  std::vector<std::string> strs_;     // string array elements
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;   // ne[0] innermost
  uint32_t type = 0;          // ggml type
  uint64_t offset = 0;        // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapped file; valid while the GgufFile lives
  uint64_t n_elements() const;
};

class GgufWriter {
 public:
  // Keys keep insertion order; setting an existing key replaces its value in
  // place (position unchanged).
  void Set(const std::string& key, GgufValue v);
  void SetU32(const std::string& key, uint32_t v) { Set(key, GgufValue::U32(v)); }
  void SetI32(const std::string& key, int32_t v) { Set(key, GgufValue::I32(v)); }
  void SetU64(const std::string& key, uint64_t v) { Set(key, GgufValue::U64(v)); }
  void SetF32(const std::string& key, float v) { Set(key, GgufValue::F32(v)); }
  void SetBool(const std::string& key, bool v) { Set(key, GgufValue::Bool(v)); }
  void SetString(const std::string& key, std::string v) { Set(key, GgufValue::String(std::move(v))); }
  void SetStringArray(const std::string& key, std::vector<std::string> v) {
    Set(key, GgufValue::StringArray(std::move(v)));
  }
  void SetI32Array(const std::string& key, const std::vector<int32_t>& v) {
    Set(key, GgufValue::I32Array(v));
  }
  void SetF32Array(const std::string& key, const std::vector<float>& v) {
    Set(key, GgufValue::F32Array(v));
  }

  // Tensor data is COPIED at Add time; the caller's buffer may be freed right
  // after. Tensors are laid out in the order added. Errors (duplicate name,
  // bad shape, size mismatch, unknown type) are reported by Write().
  // AddTensorF32 reads product(ne) floats from `data`.
  void AddTensorF32(const std::string& name, std::vector<uint64_t> ne, const float* data);
  // nbytes must equal the size implied by ne and ggml_type (F32/F16/Q8_0).
  void AddTensorRaw(const std::string& name, std::vector<uint64_t> ne, uint32_t ggml_type,
                    const void* data, size_t nbytes);

  // Serialises to memory (same bytes as Write).
  Status Serialize(std::string* out) const;
  // Atomic (temp file, fsync, rename); alignment 32 unless general.alignment
  // is set; zero padding; byte-deterministic for the same inputs.
  Status Write(const std::string& path) const;

  size_t kv_count() const { return kv_.size(); }
  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::vector<uint8_t> bytes;
  };
  Status BuildMeta(std::string* meta, std::vector<uint64_t>* offsets, uint64_t* alignment) const;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
  std::string deferred_error_;
};

class GgufFile {
 public:
  // Memory-maps `path` read-only and validates the whole structure before
  // returning. Errors read "PATH: <what> at byte offset N".
  static Status Open(const std::string& path, std::unique_ptr<GgufFile>* out);
  // Same validation over an in-memory copy of `data` (`name` is used in
  // messages in place of the path).
  static Status FromBuffer(const std::string& name, const void* data, size_t size,
                           std::unique_ptr<GgufFile>* out);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset of the data section
  uint64_t file_size() const { return size_; }

  const std::vector<std::pair<std::string, GgufValue>>& kv() const { return kv_; }
  const GgufValue* Find(const std::string& key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;

  // Typed getters: exact type match required. Errors: "PATH: missing key X",
  // "PATH: key X has type u64, expected u32".
  Status GetU32(const std::string& key, uint32_t* out) const;
  Status GetI32(const std::string& key, int32_t* out) const;
  Status GetU64(const std::string& key, uint64_t* out) const;
  Status GetF32(const std::string& key, float* out) const;
  Status GetBool(const std::string& key, bool* out) const;
  Status GetString(const std::string& key, std::string* out) const;
  Status GetStringArray(const std::string& key, std::vector<std::string>* out) const;
  Status GetI32Array(const std::string& key, std::vector<int32_t>* out) const;
  Status GetF32Array(const std::string& key, std::vector<float>* out) const;

  // Tensor data as floats (F32 copied, F16 and Q8_0 dequantised).
  Status ReadTensorF32(const std::string& name, std::vector<float>* out) const;

  // "F32", "F16", "Q8_0"; "unknown" otherwise.
  static const char* TypeName(uint32_t ggml_type);

 private:
  friend class GgufParser;
  GgufFile() = default;
  Status Lookup(const std::string& key, uint32_t type, uint32_t array_type,
                const GgufValue** v) const;

  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  void* map_ = nullptr;              // mmap base, or null
  std::vector<uint8_t> owned_;       // FromBuffer copy
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace modelc
