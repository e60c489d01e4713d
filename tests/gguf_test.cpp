#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "binary/gguf.h"
#include "binary/gpt2_vocab.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("modelc_gguf_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Little byte builder for hand-written files.
struct Bytes {
  std::string b;
  Bytes& raw(const std::string& s) { b += s; return *this; }
  Bytes& u8(uint8_t v) { b.push_back(char(v)); return *this; }
  Bytes& u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); return *this; }
  Bytes& u64(uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); return *this; }
  Bytes& f32(float v) { b.append(reinterpret_cast<const char*>(&v), 4); return *this; }
  Bytes& str(const std::string& s) { u64(s.size()); b += s; return *this; }
  Bytes& pad(size_t a) { while (b.size() % a) b.push_back('\0'); return *this; }
  size_t size() const { return b.size(); }
};

Status Parse(const std::string& bytes, std::unique_ptr<GgufFile>* out = nullptr) {
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::FromBuffer("mem.gguf", bytes.data(), bytes.size(), &f);
  if (out) *out = std::move(f);
  return st;
}

void ExpectError(const std::string& bytes, const std::string& what, uint64_t offset) {
  Status st = Parse(bytes);
  ASSERT_FALSE(st.ok()) << "expected failure containing: " << what;
  EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  const std::string at = " at byte offset " + std::to_string(offset);
  EXPECT_NE(st.message().find(at), std::string::npos) << st.message() << "  (wanted" << at << ")";
  EXPECT_EQ(st.message().rfind("mem.gguf: ", 0), 0u) << st.message();
}

// An error with no byte offset: the whole message is given.
void ExpectMessage(const std::string& bytes, const std::string& message) {
  Status st = Parse(bytes);
  ASSERT_FALSE(st.ok()) << "expected failure: " << message;
  EXPECT_EQ(st.message(), message);
}

// A minimal valid file: 2 KVs, 1 tensor of 4 floats.
// Layout: header 24 | kv0 key@24 "general.architecture" (8+20) type@52 str@56 "gpt2" (8+4)
//         | kv1 key@68 "x.n" (8+3) type@79 u32@83 | tensor name@87 "t" (8+1) n_dims@96
//         ne0@100 type@108 offset@112 | end 120 -> pad 128 | data 128..144 | pad 160
Bytes MinimalFile(uint64_t tensor_offset = 0, uint32_t kv1_type = gguf_type::kU32) {
  Bytes b;
  b.raw("GGUF").u32(3).u64(1).u64(2);
  b.str("general.architecture").u32(gguf_type::kString).str("gpt2");
  b.str("x.n").u32(kv1_type).u32(7);
  b.str("t").u32(1).u64(4).u32(ggml_type::kF32).u64(tensor_offset);
  b.pad(32);
  b.f32(1.f).f32(2.f).f32(3.f).f32(4.f);
  b.pad(32);
  return b;
}

TEST(GgufTest, HandWrittenMinimalFileParses) {
  Bytes b = MinimalFile();
  ASSERT_EQ(b.size(), 160u);
  std::unique_ptr<GgufFile> f;
  Status st = Parse(b.b, &f);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset(), 128u);
  ASSERT_EQ(f->kv().size(), 2u);
  EXPECT_EQ(f->kv()[0].first, "general.architecture");
  EXPECT_EQ(f->kv()[0].second.AsString(), "gpt2");
  uint32_t n = 0;
  ASSERT_TRUE(f->GetU32("x.n", &n).ok());
  EXPECT_EQ(n, 7u);
  ASSERT_EQ(f->tensors().size(), 1u);
  const GgufTensorInfo* t = f->FindTensor("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ne, std::vector<uint64_t>{4});
  EXPECT_EQ(t->nbytes, 16u);
  std::vector<float> vals;
  ASSERT_TRUE(f->ReadTensorF32("t", &vals).ok());
  EXPECT_EQ(vals, (std::vector<float>{1, 2, 3, 4}));

  // Same bytes through the mmap path.
  const std::string path = TempPath("minimal.gguf");
  Spit(path, b.b);
  std::unique_ptr<GgufFile> g;
  ASSERT_TRUE(GgufFile::Open(path, &g).ok());
  EXPECT_EQ(g->tensors()[0].data[0], b.b[128]);

  // Header-only file with nothing in it.
  Bytes empty;
  empty.raw("GGUF").u32(3).u64(0).u64(0);
  EXPECT_TRUE(Parse(empty.b).ok());
}

GgufWriter MakeWriterWithEverything(std::vector<float>* t0, std::vector<float>* t1,
                                    std::vector<float>* t2) {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.Set("v.u8", GgufValue::U8(200));
  w.Set("v.i8", GgufValue::I8(-100));
  w.Set("v.u16", GgufValue::U16(65000));
  w.Set("v.i16", GgufValue::I16(-32000));
  w.SetU32("v.u32", 4000000000u);
  w.SetI32("v.i32", -2000000000);
  w.SetF32("v.f32", 1e-5f);
  w.SetBool("v.bool", true);
  w.SetString("v.str", std::string("h\xC4\xA0llo\0x", 8));
  w.SetU64("v.u64", 0xFFFFFFFFFFFFFFFFull);
  w.Set("v.i64", GgufValue::I64(-9000000000000000000ll));
  w.Set("v.f64", GgufValue::F64(3.141592653589793));
  w.SetStringArray("a.str", {"a", "", "\xC4\xA0the", "zz"});
  w.SetI32Array("a.i32", {1, -2, 3});
  w.SetF32Array("a.f32", {0.5f, -1.25f});
  const uint8_t u8s[] = {1, 2, 255};
  w.Set("a.u8", GgufValue::NumericArray(gguf_type::kU8, u8s, 3));
  const int8_t i8s[] = {-1, 2};
  w.Set("a.i8", GgufValue::NumericArray(gguf_type::kI8, i8s, 2));
  const uint16_t u16s[] = {1, 65535};
  w.Set("a.u16", GgufValue::NumericArray(gguf_type::kU16, u16s, 2));
  const int16_t i16s[] = {-5};
  w.Set("a.i16", GgufValue::NumericArray(gguf_type::kI16, i16s, 1));
  const uint32_t u32s[] = {7, 8, 9};
  w.Set("a.u32", GgufValue::NumericArray(gguf_type::kU32, u32s, 3));
  const uint8_t bools[] = {1, 0, 1};
  w.Set("a.bool", GgufValue::NumericArray(gguf_type::kBool, bools, 3));
  const uint64_t u64s[] = {1ull << 63};
  w.Set("a.u64", GgufValue::NumericArray(gguf_type::kU64, u64s, 1));
  const int64_t i64s[] = {-1, 5};
  w.Set("a.i64", GgufValue::NumericArray(gguf_type::kI64, i64s, 2));
  const double f64s[] = {1.5, -2.5};
  w.Set("a.f64", GgufValue::NumericArray(gguf_type::kF64, f64s, 2));
  w.SetI32Array("a.empty", {});
  w.SetStringArray("a.empty_str", {});
  // Replace in place: position stays, value changes.
  w.SetU32("v.u32", 123);

  t0->resize(3 * 5);
  for (size_t i = 0; i < t0->size(); ++i) (*t0)[i] = float(i) * 0.5f - 3.f;
  t1->assign({1.f, -1.f, 0.25f, 8.f, 9.f, 10.f, 11.f});
  t2->resize(2 * 3 * 4);
  for (size_t i = 0; i < t2->size(); ++i) (*t2)[i] = std::sin(float(i));
  w.AddTensorF32("token_embd.weight", {3, 5}, t0->data());
  w.AddTensorF32("blk.0.attn_norm.bias", {7}, t1->data());
  w.AddTensorF32("t3", {2, 3, 4}, t2->data());
  // F16: 1.0, -2.0, 0.5, 65504
  const uint16_t halves[] = {0x3C00, 0xC000, 0x3800, 0x7BFF};
  w.AddTensorRaw("h", {4}, ggml_type::kF16, halves, sizeof halves);
  // Q8_0: 2 blocks (64 elements), scale 0.5 and 2.0
  std::vector<uint8_t> q(2 * 34);
  const uint16_t d0 = 0x3800, d1 = 0x4000;
  std::memcpy(&q[0], &d0, 2);
  std::memcpy(&q[34], &d1, 2);
  for (int j = 0; j < 32; ++j) {
    q[2 + j] = uint8_t(int8_t(j - 16));
    q[36 + j] = uint8_t(int8_t(3));
  }
  w.AddTensorRaw("q", {64}, ggml_type::kQ8_0, q.data(), q.size());
  return w;
}

TEST(GgufTest, RoundTripEveryKvTypeAndTensors) {
  std::vector<float> t0, t1, t2;
  GgufWriter w = MakeWriterWithEverything(&t0, &t1, &t2);
  const std::string p1 = TempPath("rt1.gguf"), p2 = TempPath("rt2.gguf");
  ASSERT_TRUE(w.Write(p1).ok());
  t0.assign(t0.size(), 99.f);  // data was copied at Add time
  ASSERT_TRUE(w.Write(p2).ok());
  const std::string b1 = Slurp(p1), b2 = Slurp(p2);
  EXPECT_EQ(b1, b2) << "byte-deterministic";
  std::string mem;
  ASSERT_TRUE(w.Serialize(&mem).ok());
  EXPECT_EQ(mem, b1);
  EXPECT_EQ(b1.size() % 32, 0u);

  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::Open(p1, &f);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->data_offset() % 32, 0u);

  // KV: order, types, values.
  std::vector<std::string> keys;
  for (const auto& kv : f->kv()) keys.push_back(kv.first);
  ASSERT_GE(keys.size(), 6u);
  EXPECT_EQ(keys[0], "general.architecture");
  EXPECT_EQ(keys[5], "v.u32");  // replaced in place
  EXPECT_EQ(f->Find("v.u8")->type(), gguf_type::kU8);
  EXPECT_EQ(f->Find("v.u8")->AsU64(), 200u);
  EXPECT_EQ(f->Find("v.i8")->AsI64(), -100);
  EXPECT_EQ(f->Find("v.u16")->AsU64(), 65000u);
  EXPECT_EQ(f->Find("v.i16")->AsI64(), -32000);
  EXPECT_EQ(f->Find("v.u32")->AsU64(), 123u);
  EXPECT_EQ(f->Find("v.i32")->AsI64(), -2000000000);
  EXPECT_EQ(f->Find("v.f32")->AsF64(), double(1e-5f));
  EXPECT_TRUE(f->Find("v.bool")->AsBool());
  EXPECT_EQ(f->Find("v.str")->AsString(), std::string("h\xC4\xA0llo\0x", 8));
  EXPECT_EQ(f->Find("v.u64")->AsU64(), 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(f->Find("v.i64")->AsI64(), -9000000000000000000ll);
  EXPECT_EQ(f->Find("v.f64")->AsF64(), 3.141592653589793);
  EXPECT_EQ(f->Find("a.str")->StringArray(), (std::vector<std::string>{"a", "", "\xC4\xA0the", "zz"}));
  EXPECT_EQ(f->Find("a.i32")->I32Array(), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(f->Find("a.f32")->F32Array(), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(f->Find("a.u8")->ArrayElement(2).AsU64(), 255u);
  EXPECT_EQ(f->Find("a.i8")->ArrayElement(0).AsI64(), -1);
  EXPECT_EQ(f->Find("a.u16")->ArrayElement(1).AsU64(), 65535u);
  EXPECT_EQ(f->Find("a.i16")->ArrayElement(0).AsI64(), -5);
  EXPECT_EQ(f->Find("a.u32")->ArraySize(), 3u);
  EXPECT_EQ(f->Find("a.bool")->ArrayElement(1).AsBool(), false);
  EXPECT_EQ(f->Find("a.u64")->ArrayElement(0).AsU64(), 1ull << 63);
  EXPECT_EQ(f->Find("a.i64")->ArrayElement(0).AsI64(), -1);
  EXPECT_EQ(f->Find("a.f64")->ArrayElement(1).AsF64(), -2.5);
  EXPECT_EQ(f->Find("a.empty")->ArraySize(), 0u);
  EXPECT_EQ(f->Find("a.empty")->ArrayType(), gguf_type::kI32);
  EXPECT_EQ(f->Find("a.empty_str")->ArrayType(), gguf_type::kString);

  // Every value equals what the writer holds, via a second parse of the buffer.
  std::unique_ptr<GgufFile> g;
  ASSERT_TRUE(Parse(mem, &g).ok());
  ASSERT_EQ(g->kv().size(), f->kv().size());
  for (size_t i = 0; i < f->kv().size(); ++i) EXPECT_TRUE(f->kv()[i].second == g->kv()[i].second);

  // Typed getters and their errors.
  uint32_t u32 = 0;
  EXPECT_TRUE(f->GetU32("v.u32", &u32).ok());
  Status miss = f->GetU32("nope", &u32);
  EXPECT_EQ(miss.message(), p1 + ": missing key nope");
  Status wrong = f->GetU32("v.u64", &u32);
  EXPECT_EQ(wrong.message(), p1 + ": key v.u64 has type u64, expected u32");
  std::vector<int32_t> i32s;
  Status wrong_arr = f->GetI32Array("a.f32", &i32s);
  EXPECT_EQ(wrong_arr.message(), p1 + ": key a.f32 has type arr[f32], expected arr[i32]");
  std::string s;
  EXPECT_TRUE(f->GetString("general.architecture", &s).ok());
  EXPECT_EQ(s, "gpt2");
  float fl = 0;
  EXPECT_TRUE(f->GetF32("v.f32", &fl).ok());
  EXPECT_EQ(fl, 1e-5f);

  // Tensors.
  ASSERT_EQ(f->tensors().size(), 5u);
  const auto* a = f->FindTensor("token_embd.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ne, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(a->type, ggml_type::kF32);
  EXPECT_EQ(a->nbytes, 60u);
  std::vector<float> got;
  ASSERT_TRUE(f->ReadTensorF32("token_embd.weight", &got).ok());
  std::vector<float> expect0(15);
  for (size_t i = 0; i < 15; ++i) expect0[i] = float(i) * 0.5f - 3.f;
  EXPECT_EQ(got, expect0);
  ASSERT_TRUE(f->ReadTensorF32("blk.0.attn_norm.bias", &got).ok());
  EXPECT_EQ(got, t1);
  ASSERT_TRUE(f->ReadTensorF32("t3", &got).ok());
  EXPECT_EQ(got, t2);
  EXPECT_EQ(f->FindTensor("t3")->ne, (std::vector<uint64_t>{2, 3, 4}));
  ASSERT_TRUE(f->ReadTensorF32("h", &got).ok());
  EXPECT_EQ(got, (std::vector<float>{1.f, -2.f, 0.5f, 65504.f}));
  ASSERT_TRUE(f->ReadTensorF32("q", &got).ok());
  ASSERT_EQ(got.size(), 64u);
  EXPECT_EQ(got[0], -8.f);
  EXPECT_EQ(got[31], 7.5f);
  EXPECT_EQ(got[32], 6.f);
  EXPECT_EQ(f->FindTensor("q")->nbytes, 68u);
  uint64_t expect_off = 0;
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    EXPECT_EQ(t.offset, expect_off) << t.name << " (ggml requires tensors packed in order)";
    expect_off = (t.offset + t.nbytes + 31) / 32 * 32;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u) << t.name;
  }
  EXPECT_EQ(f->data_offset() + expect_off, f->file_size());
  EXPECT_STREQ(GgufFile::TypeName(8), "Q8_0");
  EXPECT_STREQ(GgufFile::TypeName(77), "unknown");
}

TEST(GgufTest, DisplayAndJson) {
  std::vector<std::string> toks;
  for (int i = 0; i < 10; ++i) toks.push_back("t" + std::to_string(i));
  GgufValue v = GgufValue::StringArray(toks);
  EXPECT_EQ(v.ToDisplayString(3), "[\"t0\", \"t1\", \"t2\", ... (10 items)]");
  EXPECT_EQ(v.ToJson().size(), 10u);
  EXPECT_EQ(GgufValue::F32(1e-5f).ToDisplayString(), "9.99999975e-06");
  EXPECT_EQ(GgufValue::I32(-3).ToDisplayString(), "-3");
  EXPECT_EQ(GgufValue::Bool(false).ToJson(), nlohmann::json(false));
  EXPECT_EQ(GgufValue::String("a\n\"").ToDisplayString(), "\"a\\n\\\"\"");
  // Invalid UTF-8 never makes json dump throw.
  nlohmann::json j = GgufValue::String(std::string("\xff\xfe ok \xC4", 7)).ToJson();
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(GgufValue::I32Array({1, 2}).ToJson(), nlohmann::json({1, 2}));
  EXPECT_EQ(GgufValue::I32Array({1, 2}).TypeString(), "arr[i32]");
}

TEST(GgufTest, WriterRejectsBadInput) {
  const float data[4] = {1, 2, 3, 4};
  {
    GgufWriter w;
    w.AddTensorF32("a", {4}, data);
    w.AddTensorF32("a", {4}, data);
    std::string out;
    Status st = w.Serialize(&out);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("duplicate tensor name"), std::string::npos) << st.message();
  }
  {
    GgufWriter w;
    w.AddTensorRaw("a", {4}, ggml_type::kF32, data, 12);
    std::string out;
    EXPECT_FALSE(w.Serialize(&out).ok());
  }
  {
    GgufWriter w;
    w.AddTensorF32(std::string(64, 'n'), {4}, data);  // ggml names are < 64 bytes
    std::string out;
    EXPECT_FALSE(w.Serialize(&out).ok());
  }
  {
    GgufWriter w;
    w.AddTensorF32("a", {1, 1, 1, 1, 4}, data);
    std::string out;
    EXPECT_FALSE(w.Serialize(&out).ok());
  }
  {
    GgufWriter w;
    std::vector<uint8_t> q(34);
    w.AddTensorRaw("q", {16}, ggml_type::kQ8_0, q.data(), q.size());  // 16 % 32 != 0
    std::string out;
    EXPECT_FALSE(w.Serialize(&out).ok());
  }
  {
    GgufWriter w;
    w.SetU32("general.alignment", 48);
    std::string out;
    EXPECT_FALSE(w.Serialize(&out).ok());
  }
  {
    GgufWriter w;
    w.SetU32("general.alignment", 64);
    w.AddTensorF32("a", {4}, data);
    w.AddTensorF32("b", {4}, data);
    std::string out;
    ASSERT_TRUE(w.Serialize(&out).ok());
    std::unique_ptr<GgufFile> f;
    ASSERT_TRUE(Parse(out, &f).ok());
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->FindTensor("b")->offset, 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);
  }
  {
    GgufWriter w;
    const std::string path = TempPath("no/such/dir/x.gguf");
    EXPECT_FALSE(w.Write(path).ok());
  }
}

// A small valid file whose last tensor ends exactly on the alignment, so that
// every proper prefix is invalid.
std::string SmallValidFile() {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.SetU32("gpt2.block_count", 1);
  w.SetF32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "\xC4\xA0"});
  w.SetI32Array("tokenizer.ggml.token_type", {1, 1, 1});
  w.SetBool("b", true);
  const float a[5] = {1, 2, 3, 4, 5};
  const float b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.AddTensorF32("a", {5}, a);
  w.AddTensorF32("b", {4, 2}, b);
  std::string out;
  EXPECT_TRUE(w.Serialize(&out).ok());
  return out;
}

TEST(GgufTest, EveryTruncationIsRejected) {
  const std::string full = SmallValidFile();
  ASSERT_TRUE(Parse(full).ok());
  const std::string path = TempPath("trunc.gguf");
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string prefix = full.substr(0, len);
    Status st = Parse(prefix);
    EXPECT_FALSE(st.ok()) << "prefix of " << len << " bytes was accepted";
    // A cut file says it is truncated (or, cut before the magic, that it is
    // not a GGUF file).
    const std::string& m = st.message();
    EXPECT_TRUE(m.rfind("mem.gguf: truncated: ", 0) == 0 || m.rfind("mem.gguf: not a GGUF file (it is empty)", 0) == 0)
        << m;
    Spit(path, prefix);
    std::unique_ptr<GgufFile> f;
    Status st2 = GgufFile::Open(path, &f);
    EXPECT_FALSE(st2.ok()) << "file prefix of " << len << " bytes was accepted";
    EXPECT_EQ(st2.message().rfind(path + ": ", 0), 0u) << st2.message();
  }
}

void TouchEverything(const GgufFile& f) {
  size_t sink = 0;
  for (const auto& [k, v] : f.kv()) {
    sink += k.size() + v.ToDisplayString().size() + v.ToJson().dump().size();
  }
  for (const auto& t : f.tensors()) {
    for (uint64_t i = 0; i < t.nbytes; ++i) sink += t.data[i];
    std::vector<float> vals;
    (void)f.ReadTensorF32(t.name, &vals);
    sink += vals.size();
  }
  volatile size_t keep = sink;
  (void)keep;
}

TEST(GgufTest, RandomCorruptionNeverCrashes) {
  const std::string full = SmallValidFile();
  std::mt19937_64 rng(0x5eed1234);
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    std::string bytes = full;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t pos = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[pos] = char(rng()); break;
        case 1: bytes[pos] = char(bytes[pos] ^ (1 << (rng() % 8))); break;
        case 2: bytes[pos] = char(0xFF); break;
        default: bytes[pos] = 0; break;
      }
    }
    if (rng() % 8 == 0) bytes.resize(rng() % (bytes.size() + 1));
    std::unique_ptr<GgufFile> f;
    Status st = Parse(bytes, &f);
    if (st.ok()) {
      ++accepted;
      TouchEverything(*f);
    } else {
      ++rejected;
      // Corrupt structure names its byte offset; a short file says it is truncated.
      const std::string& m = st.message();
      EXPECT_TRUE(m.find(" at byte offset ") != std::string::npos ||
                  m.rfind("mem.gguf: truncated: ", 0) == 0 || m.rfind("mem.gguf: not a GGUF file (", 0) == 0)
          << m;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);  // flips inside tensor data or values are legitimately valid
}

TEST(GgufTest, SpecificCorruptionsGiveSpecificMessages) {
  // Bad magic.
  {
    Bytes b = MinimalFile();
    b.b[0] = 'X';
    ExpectMessage(b.b, "mem.gguf: not a GGUF file (it starts with \"XGUF\", a GGUF file starts with \"GGUF\")");
  }
  // Bad version.
  {
    Bytes b = MinimalFile();
    uint32_t v = 4;
    std::memcpy(&b.b[4], &v, 4);
    ExpectError(b.b, "unsupported GGUF version 4", 4);
    v = 1;
    std::memcpy(&b.b[4], &v, 4);
    ExpectError(b.b, "unsupported GGUF version 1", 4);
  }
  // Version 2 (same layout) is accepted.
  {
    Bytes b = MinimalFile();
    uint32_t v = 2;
    std::memcpy(&b.b[4], &v, 4);
    std::unique_ptr<GgufFile> f;
    ASSERT_TRUE(Parse(b.b, &f).ok());
    EXPECT_EQ(f->version(), 2u);
  }
  // Implausible counts.
  {
    Bytes b = MinimalFile();
    uint64_t n = 1ull << 40;
    std::memcpy(&b.b[8], &n, 8);
    ExpectError(b.b, "tensor_count 1099511627776 is implausible", 8);
    b = MinimalFile();
    std::memcpy(&b.b[16], &n, 8);
    ExpectError(b.b, "metadata_kv_count 1099511627776 is implausible", 16);
  }
  // Huge string length (first key).
  {
    Bytes b = MinimalFile();
    uint64_t n = 0xFFFFFFFFFFFFull;
    std::memcpy(&b.b[24], &n, 8);
    ExpectError(b.b, "key length 281474976710655 is larger than the file (160 bytes)", 24);
    // Huge string value length.
    b = MinimalFile();
    std::memcpy(&b.b[56], &n, 8);
    ExpectError(b.b,
                "string value of key 'general.architecture' length 281474976710655 is larger than the file (160 bytes)",
                56);
  }
  // Unknown KV type.
  {
    Bytes b = MinimalFile(0, 13);
    ExpectError(b.b, "unknown value type 13 for key 'x.n'", 79);
  }
  // Tensor offset out of file.
  {
    Bytes b = MinimalFile(1u << 20);
    ExpectMessage(b.b, "mem.gguf: truncated: tensor 't' data needs bytes 1048704..1048720 but the file ends at 160");
  }
  // Misaligned offset.
  {
    Bytes b = MinimalFile(4);
    ExpectError(b.b, "tensor 't' offset 4 is not a multiple of the alignment 32", 112);
  }
  // n_dims out of range, zero dimension, unknown tensor type.
  {
    Bytes b = MinimalFile();
    uint32_t v = 5;
    std::memcpy(&b.b[96], &v, 4);
    ExpectError(b.b, "tensor 't' has n_dims 5 (expected 1..4)", 96);
    b = MinimalFile();
    v = 0;
    std::memcpy(&b.b[96], &v, 4);
    ExpectError(b.b, "has n_dims 0", 96);
    b = MinimalFile();
    uint64_t z = 0;
    std::memcpy(&b.b[100], &z, 8);
    ExpectError(b.b, "tensor 't' dimension 0 is 0", 100);
    b = MinimalFile();
    v = 99;
    std::memcpy(&b.b[108], &v, 4);
    ExpectError(b.b, "tensor 't' has unknown ggml type 99", 108);
    b = MinimalFile();
    v = ggml_type::kQ8_0;  // ne[0] = 4 is not a multiple of 32
    std::memcpy(&b.b[108], &v, 4);
    ExpectError(b.b, "not a multiple of the block size 32", 96);
  }
  // Element-count overflow.
  {
    Bytes b;
    b.raw("GGUF").u32(3).u64(1).u64(0);
    b.str("t").u32(2).u64(1ull << 40).u64(1ull << 40).u32(0).u64(0);
    b.pad(32);
    ExpectError(b.b, "element count overflows", 33);
  }
  // Nested array.
  {
    Bytes b;
    b.raw("GGUF").u32(3).u64(0).u64(1);
    b.str("k").u32(gguf_type::kArray).u32(gguf_type::kArray).u64(1).u32(gguf_type::kU8).u64(1).u8(1);
    ExpectError(b.b, "nested arrays are not supported (key 'k')", 37);
  }
  // Array length larger than the file.
  {
    Bytes b;
    b.raw("GGUF").u32(3).u64(0).u64(1);
    b.str("k").u32(gguf_type::kArray).u32(gguf_type::kU32).u64(1ull << 62).u32(1);
    ExpectError(b.b, "array length 4611686018427387904 of key 'k' is larger than the file (53 bytes)", 41);
  }
  // Bad bool.
  {
    Bytes b;
    b.raw("GGUF").u32(3).u64(0).u64(1);
    b.str("k").u32(gguf_type::kBool).u8(2);
    ExpectError(b.b, "invalid bool value 2 for key 'k'", 37);
  }
  // Duplicate key.
  {
    Bytes b;
    b.raw("GGUF").u32(3).u64(0).u64(2);
    b.str("k").u32(gguf_type::kU8).u8(1);
    b.str("k").u32(gguf_type::kU8).u8(2);
    ExpectError(b.b, "duplicate key 'k'", 38);
  }
  // Duplicate tensor names, overlapping tensors.
  {
    auto two = [](const std::string& n2, uint64_t off2) {
      Bytes b;
      b.raw("GGUF").u32(3).u64(2).u64(0);
      b.str("a").u32(1).u64(8).u32(0).u64(0);
      b.str(n2).u32(1).u64(8).u32(0).u64(off2);
      b.pad(32);
      b.b.append(64, '\0');
      return b;
    };
    ExpectError(two("a", 32).b, "duplicate tensor name 'a'", 57);
    ExpectError(two("b", 0).b, "tensors 'a' and 'b' overlap", 96);
    EXPECT_TRUE(Parse(two("b", 32).b).ok());
  }
  // general.alignment honoured and validated.
  {
    auto with_align = [](uint32_t type, uint32_t align, uint64_t off) {
      Bytes b;
      b.raw("GGUF").u32(3).u64(1).u64(1);
      b.str("general.alignment").u32(type).u32(align);
      b.str("t").u32(1).u64(4).u32(0).u64(off);
      b.pad(align && (align & (align - 1)) == 0 ? align : 32);
      b.b.append(16, '\0');
      return b;
    };
    std::unique_ptr<GgufFile> f;
    ASSERT_TRUE(Parse(with_align(gguf_type::kU32, 16, 0).b, &f).ok());
    EXPECT_EQ(f->alignment(), 16u);
    EXPECT_EQ(f->data_offset(), 96u);
    ExpectError(with_align(gguf_type::kU32, 48, 0).b, "general.alignment 48 is not a power of two", 24);
    ExpectError(with_align(gguf_type::kU32, 0, 0).b, "general.alignment 0 is not a power of two", 24);
    ExpectError(with_align(gguf_type::kI32, 32, 0).b, "general.alignment has type i32, expected u32", 24);
    ExpectError(with_align(gguf_type::kU32, 64, 32).b, "offset 32 is not a multiple of the alignment 64", 82);
  }
  // Tiny / empty inputs.
  ExpectMessage("", "mem.gguf: not a GGUF file (it is empty)");
  ExpectMessage("GGU", "mem.gguf: truncated: the GGUF header needs bytes 0..24 but the file ends at 3");
  ExpectMessage("GGUX", "mem.gguf: not a GGUF file (it starts with \"GGUX\", a GGUF file starts with \"GGUF\")");
  ExpectMessage("[mod", "mem.gguf: not a GGUF file (it starts with \"[mod\", a GGUF file starts with \"GGUF\")");
}

TEST(GgufTest, OpenReportsMissingFile) {
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::Open(TempPath("does_not_exist.gguf"), &f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot open"), std::string::npos);
  EXPECT_EQ(f, nullptr);
}

TEST(Gpt2VocabTest, ByteLevelTokens) {
  const std::vector<std::string> toks = ByteLevelTokens();
  ASSERT_EQ(toks.size(), 256u);
  EXPECT_EQ(std::set<std::string>(toks.begin(), toks.end()).size(), 256u);
  EXPECT_EQ(toks['A'], "A");
  EXPECT_EQ(toks['!'], "!");
  EXPECT_EQ(toks['~'], "~");
  EXPECT_EQ(toks[' '], "\xC4\xA0");   // U+0120 Ġ
  EXPECT_EQ(toks['\n'], "\xC4\x8A");  // U+010A Ċ
  EXPECT_EQ(toks[0], "\xC4\x80");     // U+0100
  EXPECT_EQ(toks[0x7F], "\xC4\xA1");  // U+0121 (34th remapped byte)
  EXPECT_EQ(toks[0xAD], "\xC5\x83");  // U+0143 (last remapped byte, 68th)
  EXPECT_EQ(toks[0xE9], "\xC3\xA9");  // é maps to itself
  for (int b = 0; b < 256; ++b) EXPECT_EQ(UnicodeToByte(toks[b]), b);
  EXPECT_EQ(UnicodeToByte("ab"), -1);
  EXPECT_EQ(UnicodeToByte(""), -1);
  EXPECT_EQ(UnicodeToByte("\xC5\x84"), -1);  // U+0144: past the table
  EXPECT_EQ(UnicodeToByte(" "), -1);         // raw space is not a symbol
  EXPECT_EQ(ByteToCodePoint(' '), 0x120u);
}

}  // namespace
}  // namespace modelc
