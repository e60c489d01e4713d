// Content comparison of two GGUF files (what `modelc diff` reports).
//
// Every metadata key/value (typed, bitwise for floats), then every tensor by
// shape, type and decoded values (F32 / F16 / Q8_0 decoded to float, elements
// compared by their float bit patterns, so a NaN equals the same NaN and 0
// differs from -0). When the content is the same, the files' bytes are
// compared too and a layout-only difference (GGUF version, key or tensor
// order, padding) still counts as "different".
//
// The result is data: the CLI (src/cli/cmd_diff.cpp) prints it as text; the
// JSON form (ModelDiffJson) is part of the data contract (README, `modelc
// diff --json`) and lives here so that other callers get the same object.
// Nothing here knows model families: any two GGUF files compare.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binary/gguf.h"
#include "util/status.h"

namespace modelc {

struct MetadataDiff {
  char kind = '~';  // '+' added (only in B), '-' removed (only in A), '~' changed
  std::string key;
  const GgufValue* a = nullptr;  // the value in A (nullptr when added); owned by ModelDiff::a
  const GgufValue* b = nullptr;  // the value in B (nullptr when removed); owned by ModelDiff::b
  // '~' with the same type (GgufValue::TypeString) on both sides, arrays and
  // strings only: the first differing element index (arrays) or byte
  // (strings); the shorter length when one is a prefix of the other.
  bool has_first_difference = false;
  uint64_t first_difference = 0;
};

struct TensorDiff {
  std::string name;
  const GgufTensorInfo* a = nullptr;  // nullptr: only in B
  const GgufTensorInfo* b = nullptr;  // nullptr: only in A
  // identical, values_differ, type_differs, shape_differs, bytes_differ,
  // only_in_a, only_in_b.
  std::string status;
  bool compared = false;  // the value statistics below are set
  uint64_t elements = 0, differing = 0, nan_differing = 0;
  // Over differing pairs without a NaN (those are counted in nan_differing);
  // an infinity against a finite value has abs inf, rel 1; opposite
  // infinities abs inf, rel 2. rel = |a-b| / max(|a|,|b|).
  double max_abs = 0, max_rel = 0;
  bool has_first = false;  // first differing flat index and its two values
  uint64_t first_index = 0;
  float first_a = 0, first_b = 0;
};

struct ModelDiff {
  std::string path_a, path_b;
  std::unique_ptr<GgufFile> a, b;  // both files, open (the diffs point into them)
  // Keys of A in file order (removed or changed), then keys only in B.
  std::vector<MetadataDiff> metadata;
  // Tensors of A in file order, then the tensors only in B.
  std::vector<TensorDiff> tensors;
  size_t tensors_differing = 0;  // status other than "identical"
  // Layout differences (GGUF version, key order, tensor order; "other bytes
  // differ (padding or data offsets)" when the content is equal but the bytes are not).
  std::vector<std::string> layout;
  bool identical = false;  // no metadata, tensor or layout difference
};

// Opens both files and compares them. An error (a missing, unreadable or
// corrupt file, or a tensor that cannot be decoded) names the file; *out is
// then incomplete.
Status DiffModels(const std::string& path_a, const std::string& path_b, ModelDiff* out);

// The `modelc diff --json` object: a, b, metadata {added, removed, changed}
// (full values), tensors (status, shapes, types, element statistics,
// first_difference with the values and their bits), layout, identical.
// NaN and infinities are written as the strings "nan", "inf", "-inf".
nlohmann::ordered_json ModelDiffJson(const ModelDiff& d);

// The bit pattern of a float, and bits as "0x" + `digits` hex digits.
uint32_t FloatBits(float f);
std::string HexBits(uint64_t bits, int digits);

}  // namespace modelc
