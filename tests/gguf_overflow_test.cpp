// The GGUF reader against crafted headers whose sizes overflow or point past
// the file (util/checked_math.h), and its messages for truncated files and
// for things that are not GGUF files at all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "util/checked_math.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

struct Bytes {
  std::string b;
  Bytes& raw(const std::string& s) { b += s; return *this; }
  Bytes& u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); return *this; }
  Bytes& u64(uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); return *this; }
  Bytes& str(const std::string& s) { u64(s.size()); b += s; return *this; }
  Bytes& pad(size_t a) { while (b.size() % a) b.push_back('\0'); return *this; }
};

std::string ParseError(const std::string& bytes) {
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::FromBuffer("x.gguf", bytes.data(), bytes.size(), &f);
  EXPECT_FALSE(st.ok()) << "accepted";
  EXPECT_EQ(f, nullptr);
  return st.message();
}

// Header with one tensor of the given dims and type at `offset`, no KVs,
// then `data` bytes of tensor data.
std::string OneTensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data = 64) {
  Bytes b;
  b.raw("GGUF").u32(3).u64(1).u64(0);
  b.str("t").u32(uint32_t(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  b.u32(type).u64(offset);
  b.pad(32);
  b.b.append(data, '\0');
  return b.b;
}

std::string TempDir() {
  const fs::path d = fs::path(::testing::TempDir()) / ("modelc_gguf_overflow_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(CheckedMath, Helpers) {
  uint64_t r = 0;
  EXPECT_TRUE(CheckedMul(1ull << 32, (1ull << 32) - 1, &r));
  EXPECT_FALSE(CheckedMul(1ull << 32, 1ull << 32, &r));
  EXPECT_TRUE(CheckedAdd(kMax - 1, 1, &r));
  EXPECT_EQ(r, kMax);
  EXPECT_FALSE(CheckedAdd(kMax, 1, &r));
  EXPECT_TRUE(CheckedProduct({}, &r));
  EXPECT_EQ(r, 1u);
  EXPECT_FALSE(CheckedProduct({1ull << 21, 1ull << 21, 1ull << 21, 2}, &r));
  EXPECT_TRUE(Fits(10, 5, 2, 20));
  EXPECT_FALSE(Fits(10, 6, 2, 21));
  EXPECT_FALSE(Fits(1, kMax / 2 + 1, 2, kMax));  // count * size overflows
  EXPECT_FALSE(Fits(kMax, 1, 1, kMax));          // offset + size overflows
}

TEST(GgufOverflow, DimsMultiplyPast2To64) {
  // (2^32 + 1)^2 * 2^40: every dimension is valid, the product is not.
  const uint64_t big = (1ull << 32) + 1;
  std::string m = ParseError(OneTensor({big, big, 1ull << 40}, ggml_type::kF32, 0));
  EXPECT_NE(m.find("tensor 't': element count overflows"), std::string::npos) << m;
  // Element count fits in int64, byte count (x 4 for F32) does not.
  m = ParseError(OneTensor({1ull << 31, 1ull << 31}, ggml_type::kF32, 0));
  EXPECT_NE(m.find("tensor 't': byte size overflows"), std::string::npos) << m;
  // Four dimensions of 2^16 each wrap to exactly 2^64 = 0 without the check.
  m = ParseError(OneTensor({1ull << 16, 1ull << 16, 1ull << 16, 1ull << 16}, ggml_type::kF16, 0));
  EXPECT_NE(m.find("overflows"), std::string::npos) << m;
}

TEST(GgufOverflow, OffsetPastTheEnd) {
  // Aligned offset far past the end: the data is not in the file.
  std::string m = ParseError(OneTensor({4}, ggml_type::kF32, 1ull << 62));
  EXPECT_EQ(m, "x.gguf: truncated: tensor 't' data needs bytes 4611686018427387968..4611686018427387984 "
               "but the file ends at 128");
  // data_start + offset wraps past 2^64.
  m = ParseError(OneTensor({4}, ggml_type::kF32, kMax - 31));
  EXPECT_NE(m.find("tensor 't' offset 18446744073709551584 overflows at byte offset"), std::string::npos) << m;
  // Offset inside the file, size past its end.
  m = ParseError(OneTensor({64}, ggml_type::kF32, 32));
  EXPECT_EQ(m, "x.gguf: truncated: tensor 't' data needs bytes 96..352 but the file ends at 128");
}

TEST(GgufOverflow, HugeStringLength) {
  for (uint64_t len : {kMax, kMax - 7, uint64_t(1) << 63, uint64_t(1000)}) {
    Bytes b;
    b.raw("GGUF").u32(3).u64(0).u64(1).u64(len).raw("abcdefgh");
    const std::string m = ParseError(b.b);
    if (len >= b.b.size())
      EXPECT_EQ(m, "x.gguf: the key length " + std::to_string(len) + " is larger than the file (40 bytes) at byte offset 24");
  }
  // A string value: its length counts from after the length field.
  Bytes b;
  b.raw("GGUF").u32(3).u64(0).u64(1).str("k").u32(gguf_type::kString).u64(kMax - 40);
  std::string m = ParseError(b.b);
  EXPECT_NE(m.find("string value of key 'k' length 18446744073709551575 is larger than the file"), std::string::npos)
      << m;
}

TEST(GgufOverflow, HugeArrayCount) {
  for (uint32_t et : {gguf_type::kU8, gguf_type::kU64, gguf_type::kString, gguf_type::kBool}) {
    for (uint64_t count : {kMax, kMax / 8 + 1, uint64_t(1) << 61}) {
      Bytes b;
      b.raw("GGUF").u32(3).u64(0).u64(1).str("a").u32(gguf_type::kArray).u32(et).u64(count).u64(0);
      const std::string m = ParseError(b.b);
      EXPECT_EQ(m, "x.gguf: array length " + std::to_string(count) +
                       " of key 'a' is larger than the file (57 bytes) at byte offset 41");
    }
  }
  // A count that is plausible but cut short: truncated.
  Bytes b;
  b.raw("GGUF").u32(3).u64(0).u64(1).str("a").u32(gguf_type::kArray).u32(gguf_type::kU32).u64(10).u32(7);
  EXPECT_EQ(ParseError(b.b), "x.gguf: truncated: array 'a' (10 x u32) needs bytes 49..89 but the file ends at 53");
}

TEST(GgufOverflow, HugeTensorAndKeyCounts) {
  for (uint64_t n : {kMax, kMax / 33 + 1, uint64_t(1) << 40}) {
    Bytes b;
    b.raw("GGUF").u32(3).u64(n).u64(0);
    b.b.append(40, '\0');
    EXPECT_EQ(ParseError(b.b), "x.gguf: tensor_count " + std::to_string(n) +
                                   " is implausible for file size 64 at byte offset 8");
    Bytes k;
    k.raw("GGUF").u32(3).u64(0).u64(n);
    k.b.append(40, '\0');
    EXPECT_EQ(ParseError(k.b), "x.gguf: metadata_kv_count " + std::to_string(n) +
                                   " is implausible for file size 64 at byte offset 16");
  }
  // Counts smaller than the file that still cannot fit: the file was cut.
  Bytes b;
  b.raw("GGUF").u32(3).u64(0).u64(20);
  b.b.append(40, '\0');
  EXPECT_EQ(ParseError(b.b), "x.gguf: truncated: metadata_kv_count 20 (at least 14 bytes each) needs bytes 24..304 but the file ends at 64");
}

// A real file cut short anywhere gives one "truncated" line (or, when the cut
// falls in the fixed header, the same), never a crash.
TEST(GgufOverflow, TruncatedFileSaysTruncated) {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "c"});
  std::vector<float> qkv(8 * 24, 0.5f), bias(24, 0.25f);
  w.AddTensorF32("blk.0.attn_qkv.weight", {8, 24}, qkv.data());
  w.AddTensorF32("blk.0.attn_qkv.bias", {24}, bias.data());
  std::string full;
  ASSERT_TRUE(w.Serialize(&full).ok());
  std::unique_ptr<GgufFile> f;
  ASSERT_TRUE(GgufFile::FromBuffer("model.gguf", full.data(), full.size(), &f).ok());
  const uint64_t qkv_start = f->data_offset() + f->FindTensor("blk.0.attn_qkv.weight")->offset;
  const uint64_t cut = qkv_start + 100;
  std::unique_ptr<GgufFile> g;
  Status st = GgufFile::FromBuffer("model.gguf", full.data(), cut, &g);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "model.gguf: truncated: tensor 'blk.0.attn_qkv.weight' data needs bytes " +
                              std::to_string(qkv_start) + ".." + std::to_string(qkv_start + 8 * 24 * 4) +
                              " but the file ends at " + std::to_string(cut));
  for (size_t n = 0; n < full.size(); ++n) {
    st = GgufFile::FromBuffer("model.gguf", full.data(), n, &g);
    ASSERT_FALSE(st.ok()) << n;
    const std::string& m = st.message();
    EXPECT_TRUE(m.rfind("model.gguf: truncated: ", 0) == 0 || m.find("is larger than the file") != std::string::npos ||
                m.find("implausible") != std::string::npos || n == 0)
        << n << ": " << m;
  }
  // In a key string (the second key, "tokenizer.ggml.tokens", at 68).
  st = GgufFile::FromBuffer("model.gguf", full.data(), 90, &g);
  EXPECT_EQ(st.message(), "model.gguf: truncated: the key (21 bytes) needs bytes 76..97 but the file ends at 90");
}

TEST(GgufOverflow, NotAGgufFileSaysSo) {
  const std::string dir = TempDir() + "/src";
  fs::create_directories(dir);
  const std::string toml = dir + "/model.toml";
  Spit(toml, "[model]\nname = \"x\"\n");
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::Open(toml, &f);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), toml + ": not a GGUF file (it starts with \"[mod\", a GGUF file starts with \"GGUF\"); "
                                 "it looks like a model source: build it first with `modelc build " + dir + "`");
  // The model loader (modelc run, serve, inspect, ...) says the same.
  LoadedModel m;
  EXPECT_EQ(LoadModelFile(toml, &m).message(), st.message());
  // The folder itself.
  st = GgufFile::Open(dir, &f);
  EXPECT_EQ(st.message(), dir + ": is a folder, not a GGUF file; it looks like a model source: "
                                "build it first with `modelc build " + dir + "`");
  // Some other file: no hint; control bytes are escaped.
  const std::string other = TempDir() + "/notes.bin";
  Spit(other, std::string("\x7f" "ELF\x02", 5));
  EXPECT_EQ(GgufFile::Open(other, &f).message(),
            other + ": not a GGUF file (it starts with \"\\x7fELF\", a GGUF file starts with \"GGUF\")");
  const std::string empty = TempDir() + "/empty.gguf";
  Spit(empty, "");
  EXPECT_EQ(GgufFile::Open(empty, &f).message(), empty + ": not a GGUF file (it is empty)");
  // A file named relative to the current folder gets "." as the folder.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  EXPECT_NE(GgufFile::Open("model.toml", &f).message().find("`modelc build .`"), std::string::npos);
  fs::current_path(cwd);
}

// Fuzz finding (fuzz/regressions/gguf/float-to-int-overflow.gguf): AsU64 of
// an f32/f64 value out of int64's range was an undefined conversion.
TEST(GgufOverflow, FloatValuesConvertSaturating) {
  EXPECT_EQ(GgufValue::F32(1e30f).AsI64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(GgufValue::F64(-1e300).AsI64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(GgufValue::F64(std::nan("")).AsU64(), 0u);
  EXPECT_EQ(GgufValue::F32(-2.75f).AsI64(), -2);
  EXPECT_EQ(GgufValue::F64(9.2e18).AsI64(), int64_t(9.2e18));
  EXPECT_EQ(GgufValue::F64(std::numeric_limits<double>::infinity()).AsI64(), std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace modelc
