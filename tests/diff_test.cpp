// Tests of `modelc diff A.gguf B.gguf [--json]`: small GGUF files written
// with GgufWriter give exact cases (one metadata key, one tensor element,
// shapes, types, NaN, layout), plus two real builds of a tiny model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "binary/gguf.h"
#include "cli_util.h"

namespace modelc {
namespace {

using namespace testutil;
using nlohmann::json;

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void Write(const GgufWriter& w, const std::string& path) {
  Status st = w.Write(path);
  ASSERT_TRUE(st.ok()) << st.message();
}

// A base file: three keys and two F32 tensors (x.weight holds `x`).
GgufWriter Base(const std::vector<float>& x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
  GgufWriter w;
  w.SetString("general.architecture", "gpt2");
  w.SetString("general.name", "diff-test");
  w.SetU32("test.count", 5);
  w.AddTensorF32("x.weight", {5, 2}, x.data());
  const std::vector<float> y = {1.5f, -2.5f, 3.25f};
  w.AddTensorF32("y.bias", {3}, y.data());
  return w;
}

// The output lines of `text`.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  for (std::string l; std::getline(s, l);) out.push_back(l);
  return out;
}

// The line of `text` that contains `needle` ("" if none).
std::string LineWith(const std::string& text, const std::string& needle) {
  for (const auto& l : Lines(text))
    if (Contains(l, needle)) return l;
  ADD_FAILURE() << "no line with '" << needle << "' in:\n" << text;
  return "";
}

std::string LastLine(const std::string& text) {
  auto l = Lines(text);
  return l.empty() ? "" : l.back();
}

json DiffJson(const std::string& a, const std::string& b, int want_code) {
  Proc p = RunModelc({"diff", a, b, "--json"});
  EXPECT_TRUE(p.exited && p.code == want_code) << p;
  EXPECT_EQ(p.err, "") << p;
  json j = json::parse(p.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "diff --json output is not JSON:\n" << p.out;
  return j;
}

const json& TensorEntry(const json& j, const std::string& name) {
  static const json kNull;
  for (const auto& t : j["tensors"])
    if (t["name"] == name) return t;
  ADD_FAILURE() << "no tensor " << name << " in " << j.dump(1);
  return kNull;
}

class DiffTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  // Writes Base() changed by `edit_a` / `edit_b` to a.gguf / b.gguf.
  void WritePair(const std::function<void(GgufWriter&)>& edit_a, const std::function<void(GgufWriter&)>& edit_b) {
    GgufWriter a = Base(), b = Base();
    if (edit_a) edit_a(a);
    if (edit_b) edit_b(b);
    Write(a, A());
    Write(b, B());
  }
  std::string A() const { return tmp_ / "a.gguf"; }
  std::string B() const { return tmp_ / "b.gguf"; }
};

TEST_F(DiffTest, IdenticalFilesExitZero) {
  WritePair(nullptr, nullptr);
  for (const auto& [a, b] : {std::pair{A(), B()}, std::pair{A(), A()}}) {
    Proc p = RunModelc({"diff", a, b});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_EQ(p.err, "") << p;
    EXPECT_EQ(LastLine(p.out), "identical") << p;
    EXPECT_TRUE(Contains(p.out, "metadata: identical (3 keys)")) << p;
    EXPECT_TRUE(Contains(p.out, "tensors: 0 of 2 differ")) << p;
    EXPECT_TRUE(Contains(LineWith(p.out, "x.weight"), "identical")) << p;
    EXPECT_TRUE(Contains(LineWith(p.out, "y.bias"), "identical")) << p;
    EXPECT_TRUE(Contains(LineWith(p.out, "x.weight"), "[2, 5]")) << p;
  }
  json j = DiffJson(A(), B(), 0);
  EXPECT_EQ(j["identical"], true);
  EXPECT_EQ(j["metadata"]["added"], json::array());
  EXPECT_EQ(j["metadata"]["removed"], json::array());
  EXPECT_EQ(j["metadata"]["changed"], json::array());
  ASSERT_EQ(j["tensors"].size(), 2u);
  EXPECT_EQ(j["tensors"][0]["name"], "x.weight");
  EXPECT_EQ(j["tensors"][0]["status"], "identical");
  EXPECT_EQ(j["tensors"][0]["shape_a"], json::array({2, 5}));
  EXPECT_EQ(j["tensors"][0]["elements"], 10);
  EXPECT_EQ(j["tensors"][0]["differing_elements"], 0);
  EXPECT_EQ(j["tensors"][1]["status"], "identical");
  EXPECT_EQ(j["layout"], json::array());
}

TEST_F(DiffTest, MetadataAddedRemovedChanged) {
  WritePair([](GgufWriter& w) { w.SetU32("test.old", 1); },
            [](GgufWriter& w) {
              w.SetU32("test.count", 6);
              w.SetString("test.new", "hi");
            });
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "metadata: 3 keys differ (1 added, 1 removed, 1 changed)")) << p;
  EXPECT_TRUE(std::regex_search(p.out, std::regex(R"(\n  ~ test\.count +u32 +5 -> 6\n)"))) << p;
  EXPECT_TRUE(std::regex_search(p.out, std::regex(R"(\n  - test\.old +u32 +1\n)"))) << p;
  EXPECT_TRUE(std::regex_search(p.out, std::regex(R"(\n  \+ test\.new +str +"hi"\n)"))) << p;
  EXPECT_FALSE(Contains(p.out, "general.name")) << "an unchanged key is listed\n" << p;
  EXPECT_TRUE(Contains(p.out, "tensors: 0 of 2 differ")) << p;
  EXPECT_EQ(LastLine(p.out), "different: 3 metadata keys, 0 tensors") << p;

  json j = DiffJson(A(), B(), 1);
  EXPECT_EQ(j["identical"], false);
  ASSERT_EQ(j["metadata"]["added"].size(), 1u);
  EXPECT_EQ(j["metadata"]["added"][0], json({{"key", "test.new"}, {"type", "str"}, {"value", "hi"}}));
  ASSERT_EQ(j["metadata"]["removed"].size(), 1u);
  EXPECT_EQ(j["metadata"]["removed"][0], json({{"key", "test.old"}, {"type", "u32"}, {"value", 1}}));
  ASSERT_EQ(j["metadata"]["changed"].size(), 1u);
  const json& c = j["metadata"]["changed"][0];
  EXPECT_EQ(c["key"], "test.count");
  EXPECT_EQ(c["a"], json({{"type", "u32"}, {"value", 5}}));
  EXPECT_EQ(c["b"], json({{"type", "u32"}, {"value", 6}}));
  EXPECT_EQ(j["a"], A());
  EXPECT_EQ(j["b"], B());
  // Keys in a fixed order (ordered_json).
  const std::string out = RunModelc({"diff", A(), B(), "--json"}).out;
  size_t last = 0;
  for (const char* k : {"\"a\":", "\"b\":", "\"metadata\":", "\"tensors\":", "\"layout\":", "\"identical\":"}) {
    const size_t pos = out.find(k);
    EXPECT_NE(pos, std::string::npos) << k;
    EXPECT_GT(pos, last) << k << " out of order in\n" << out;
    last = pos;
  }
}

TEST_F(DiffTest, MetadataTypeChangeWithSameNumber) {
  WritePair(nullptr, [](GgufWriter& w) { w.SetU64("test.count", 5); });
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(std::regex_search(p.out, std::regex(R"(~ test\.count +u32 -> u64 +5 -> 5\n)"))) << p;
  json j = DiffJson(A(), B(), 1);
  EXPECT_EQ(j["metadata"]["changed"][0]["a"]["type"], "u32");
  EXPECT_EQ(j["metadata"]["changed"][0]["b"]["type"], "u64");
}

TEST_F(DiffTest, LongStringIsShortenedAroundTheFirstDifference) {
  std::string s(300, 'a');
  for (size_t i = 0; i < s.size(); ++i) s[i] = char('a' + i % 26);
  std::string t = s;
  t[200] = 'Z';
  WritePair([&](GgufWriter& w) { w.SetString("test.long", s); }, [&](GgufWriter& w) { w.SetString("test.long", t); });
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  const std::string line = LineWith(p.out, "test.long");
  EXPECT_TRUE(Contains(line, "300 bytes, first difference at byte 200: ")) << line;
  EXPECT_LT(line.size(), 260u) << "a long string is not shortened: " << line;
  // The window around byte 200 on both sides: ...s[170..240)... -> ...t[170..240)...
  EXPECT_TRUE(Contains(line, "...\"" + s.substr(170, 70) + "\"... -> ...\"" + t.substr(170, 70) + "\"...")) << line;
  json j = DiffJson(A(), B(), 1);
  const json& c = j["metadata"]["changed"][0];
  EXPECT_EQ(c["first_difference"]["byte"], 200);
  EXPECT_EQ(c["a"]["value"], s);  // JSON keeps the full values
  EXPECT_EQ(c["b"]["value"], t);
}

TEST_F(DiffTest, ArraysSummarisedWithFirstDifferingIndex) {
  std::vector<int32_t> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i;
  std::vector<int32_t> w = v, longer = v;
  w[17] = 99;
  longer.push_back(5);
  const std::vector<std::string> tok_a = {"a", "b", "c"}, tok_b = {"a", "b", "d"};
  WritePair(
      [&](GgufWriter& g) {
        g.SetI32Array("test.arr", v);
        g.SetI32Array("test.grow", v);
        g.SetStringArray("test.small", tok_a);
      },
      [&](GgufWriter& g) {
        g.SetI32Array("test.arr", w);
        g.SetI32Array("test.grow", longer);
        g.SetStringArray("test.small", tok_b);
      });
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(std::regex_search(
      p.out, std::regex(R"(~ test\.arr +arr\[i32\] +100 items, first difference at \[17\]: 17 -> 99\n)")))
      << p;
  EXPECT_TRUE(std::regex_search(
      p.out, std::regex(R"(~ test\.grow +arr\[i32\] +100 -> 101 items, first difference at \[100\]: \(none\) -> 5\n)")))
      << p;
  // Short arrays are shown whole.
  EXPECT_TRUE(Contains(LineWith(p.out, "test.small"), R"(["a", "b", "c"] -> ["a", "b", "d"])")) << p;
  EXPECT_EQ(LastLine(p.out), "different: 3 metadata keys, 0 tensors") << p;

  json j = DiffJson(A(), B(), 1);
  const json& ch = j["metadata"]["changed"];
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch[0]["key"], "test.arr");
  EXPECT_EQ(ch[0]["a"]["type"], "arr[i32]");
  EXPECT_EQ(ch[0]["a"]["length"], 100);
  EXPECT_EQ(ch[0]["first_difference"], json({{"index", 17}, {"a", 17}, {"b", 99}}));
  EXPECT_EQ(ch[1]["first_difference"], json({{"index", 100}, {"a", nullptr}, {"b", 5}}));
  EXPECT_EQ(ch[1]["b"]["length"], 101);
  EXPECT_EQ(ch[2]["first_difference"], json({{"index", 2}, {"a", "c"}, {"b", "d"}}));
}

TEST_F(DiffTest, TensorElementsExactStatistics) {
  // x.weight: index 3: 3 -> 1 (abs 2, rel 2/3), index 7: 7 -> 7.5 (abs 0.5),
  // index 9: 9 -> -9 (abs 18, rel 2). Max abs 18, max rel 2, 3 differ, first 3.
  Write(Base(), A());
  Write(Base({0, 1, 2, 1, 4, 5, 6, 7.5f, 8, -9}), B());

  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.out, "metadata: identical (3 keys)")) << p;
  EXPECT_TRUE(Contains(p.out, "tensors: 1 of 2 differ")) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "x.weight"),
                       "3 of 10 elements differ, max abs 18, max rel 2, first at [3]: 3 -> 1"))
      << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "y.bias"), "identical")) << p;
  EXPECT_EQ(LastLine(p.out), "different: 0 metadata keys, 1 tensor") << p;

  json j = DiffJson(A(), B(), 1);
  const json& t = TensorEntry(j, "x.weight");
  EXPECT_EQ(t["status"], "values_differ");
  EXPECT_EQ(t["elements"], 10);
  EXPECT_EQ(t["differing_elements"], 3);
  EXPECT_EQ(t["nan_differing_elements"], 0);
  EXPECT_EQ(t["max_abs_diff"].get<double>(), 18.0);
  EXPECT_EQ(t["max_rel_diff"].get<double>(), 2.0);
  EXPECT_EQ(t["first_difference"]["index"], 3);
  EXPECT_EQ(t["first_difference"]["a"].get<double>(), 3.0);
  EXPECT_EQ(t["first_difference"]["b"].get<double>(), 1.0);
  EXPECT_EQ(t["first_difference"]["a_bits"], "0x40400000");
  EXPECT_EQ(t["first_difference"]["b_bits"], "0x3f800000");
  EXPECT_EQ(TensorEntry(j, "y.bias")["status"], "identical");
}

TEST_F(DiffTest, RelativeDifferenceIsAgainstTheLargerMagnitude) {
  // One element: 4 -> 5: abs 1, rel 1/5 (not 1/4).
  GgufWriter a, b;
  const float va = 4, vb = 5;
  a.AddTensorF32("t", {1}, &va);
  b.AddTensorF32("t", {1}, &vb);
  Write(a, A());
  Write(b, B());
  json j = DiffJson(A(), B(), 1);
  EXPECT_EQ(j["tensors"][0]["max_abs_diff"].get<double>(), 1.0);
  EXPECT_EQ(j["tensors"][0]["max_rel_diff"].get<double>(), 1.0 / 5.0);
}

TEST_F(DiffTest, ShapeTypeAndOnlyInOneFile) {
  const std::vector<float> four = {1, 2, -0.5f, 0};
  const uint16_t four_f16[4] = {0x3C00, 0x4000, 0xB800, 0x0000};  // 1, 2, -0.5, 0
  GgufWriter a, b;
  a.AddTensorF32("same", {4}, four.data());
  a.AddTensorF32("shape", {4}, four.data());
  a.AddTensorF32("type", {4}, four.data());
  a.AddTensorF32("only_a", {2}, four.data());
  b.AddTensorF32("same", {4}, four.data());
  b.AddTensorF32("shape", {2, 2}, four.data());
  b.AddTensorRaw("type", {4}, ggml_type::kF16, four_f16, sizeof four_f16);
  b.AddTensorF32("only_b", {3}, four.data());
  Write(a, A());
  Write(b, B());
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  auto lines = Lines(p.out);
  // In file order: A's tensors, then those only in B.
  std::vector<std::string> order;
  for (const auto& l : lines)
    for (const char* n : {"same ", "shape ", "type ", "only_a ", "only_b "})
      if (l.rfind(std::string("  ") + n, 0) == 0) order.push_back(n);
  EXPECT_EQ(order, (std::vector<std::string>{"same ", "shape ", "type ", "only_a ", "only_b "})) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  same "), "identical")) << p;
  EXPECT_TRUE(std::regex_search(LineWith(p.out, "  shape "), std::regex(R"(\[4\] -> \[2, 2\] +F32 +shape differs$)")))
      << p;
  EXPECT_TRUE(
      std::regex_search(LineWith(p.out, "  type "), std::regex(R"(F32 -> F16 +type differs; decoded values equal$)")))
      << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  only_a "), "only in A")) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  only_b "), "only in B")) << p;
  EXPECT_EQ(LastLine(p.out), "different: 0 metadata keys, 4 tensors") << p;

  json j = DiffJson(A(), B(), 1);
  ASSERT_EQ(j["tensors"].size(), 5u);
  EXPECT_EQ(TensorEntry(j, "same")["status"], "identical");
  const json& sh = TensorEntry(j, "shape");
  EXPECT_EQ(sh["status"], "shape_differs");
  EXPECT_EQ(sh["shape_a"], json::array({4}));
  EXPECT_EQ(sh["shape_b"], json::array({2, 2}));
  EXPECT_FALSE(sh.contains("differing_elements"));
  const json& ty = TensorEntry(j, "type");
  EXPECT_EQ(ty["status"], "type_differs");
  EXPECT_EQ(ty["type_a"], "F32");
  EXPECT_EQ(ty["type_b"], "F16");
  EXPECT_EQ(ty["differing_elements"], 0);
  EXPECT_EQ(TensorEntry(j, "only_a")["status"], "only_in_a");
  EXPECT_EQ(TensorEntry(j, "only_a")["shape_b"], nullptr);
  EXPECT_EQ(TensorEntry(j, "only_b")["status"], "only_in_b");
  EXPECT_EQ(TensorEntry(j, "only_b")["type_a"], nullptr);
  EXPECT_EQ(j["tensors"][4]["name"], "only_b");
}

// Two Q8_0 blocks: scale 0.5, quants i - 32.
std::vector<uint8_t> Q8Blocks(int change_at, int delta, uint16_t scale = 0x3800) {
  std::vector<uint8_t> d(2 * 34);
  for (int b = 0; b < 2; ++b) {
    std::memcpy(&d[b * 34], &scale, 2);
    for (int j = 0; j < 32; ++j) {
      const int i = b * 32 + j;
      d[b * 34 + 2 + j] = uint8_t(int8_t(i - 32 + (i == change_at ? delta : 0)));
    }
  }
  return d;
}

TEST_F(DiffTest, Q8_0IsComparedDecoded) {
  // Element 40: 0.5 * 8 = 4 -> 0.5 * 11 = 5.5: abs 1.5, rel 1.5 / 5.5.
  const auto qa = Q8Blocks(-1, 0), qb = Q8Blocks(40, 3);
  GgufWriter a, b;
  a.AddTensorRaw("q", {64}, ggml_type::kQ8_0, qa.data(), qa.size());
  b.AddTensorRaw("q", {64}, ggml_type::kQ8_0, qb.data(), qb.size());
  Write(a, A());
  Write(b, B());
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  q "), "Q8_0  1 of 64 elements differ, max abs 1.5, max rel 0.272727, "
                                                "first at [40]: 4 -> 5.5"))
      << p;
  json j = DiffJson(A(), B(), 1);
  const json& t = j["tensors"][0];
  EXPECT_EQ(t["differing_elements"], 1);
  EXPECT_EQ(t["max_abs_diff"].get<double>(), 1.5);
  EXPECT_EQ(t["max_rel_diff"].get<double>(), 1.5 / 5.5);
  EXPECT_EQ(t["first_difference"]["index"], 40);
}

TEST_F(DiffTest, Q8_0DifferentBytesSameValues) {
  // Scale 0: every element decodes to +0 whatever the (non-negative) quants.
  std::vector<uint8_t> qa(34, 0), qb(34, 0);
  for (int j = 0; j < 32; ++j) {
    qa[2 + j] = 1;
    qb[2 + j] = 2;
  }
  GgufWriter a, b;
  a.AddTensorRaw("q", {32}, ggml_type::kQ8_0, qa.data(), qa.size());
  b.AddTensorRaw("q", {32}, ggml_type::kQ8_0, qb.data(), qb.size());
  Write(a, A());
  Write(b, B());
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  q "), "data bytes differ, decoded values equal")) << p;
  EXPECT_EQ(LastLine(p.out), "different: 0 metadata keys, 1 tensor") << p;
  EXPECT_EQ(DiffJson(A(), B(), 1)["tensors"][0]["status"], "bytes_differ");
}

TEST_F(DiffTest, NaNAndSignedZeroAreComparedBitwise) {
  const float qnan = FromBits(0x7fc00000), nan1 = FromBits(0x7fc00001), nan2 = FromBits(0x7fc00002);
  const std::vector<float> va = {qnan, nan1, 0.0f, 1.0f, 2.0f};
  GgufWriter a, a2;
  a.AddTensorF32("t", {5}, va.data());
  a2.AddTensorF32("t", {5}, va.data());
  Write(a, A());
  Write(a2, B());
  // The same NaNs: identical.
  Proc same = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(same.exited && same.code == 0) << same;
  EXPECT_EQ(LastLine(same.out), "identical") << same;

  // [1]: other NaN payload, [2]: -0, [3]: NaN vs 1, [4]: 2 -> 2.5.
  const std::vector<float> vb = {qnan, nan2, -0.0f, qnan, 2.5f};
  GgufWriter b;
  b.AddTensorF32("t", {5}, vb.data());
  Write(b, B());
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(LineWith(p.out, "  t "), "4 of 5 elements differ (2 with NaN), max abs 0.5, max rel 0.2, "
                                                "first at [1]: nan (0x7fc00001) -> nan (0x7fc00002)"))
      << p;
  json j = DiffJson(A(), B(), 1);
  const json& t = j["tensors"][0];
  EXPECT_EQ(t["differing_elements"], 4);
  EXPECT_EQ(t["nan_differing_elements"], 2);
  EXPECT_EQ(t["max_abs_diff"].get<double>(), 0.5);
  EXPECT_EQ(t["max_rel_diff"].get<double>(), 0.2);
  EXPECT_EQ(t["first_difference"], json({{"index", 1}, {"a", "nan"}, {"b", "nan"},
                                         {"a_bits", "0x7fc00001"}, {"b_bits", "0x7fc00002"}}));
}

TEST_F(DiffTest, InfinitiesAndZeros) {
  const float inf = std::numeric_limits<float>::infinity();
  // [0] 0 -> -0: differs, abs 0, rel 0. [1] inf -> 1: abs inf, rel 1.
  // [2] inf -> -inf: rel 2.
  const std::vector<float> va = {0.0f, inf, inf}, vb = {-0.0f, 1.0f, -inf};
  GgufWriter a, b;
  a.AddTensorF32("t", {3}, va.data());
  b.AddTensorF32("t", {3}, vb.data());
  Write(a, A());
  Write(b, B());
  json j = DiffJson(A(), B(), 1);
  const json& t = j["tensors"][0];
  EXPECT_EQ(t["differing_elements"], 3);
  EXPECT_EQ(t["max_abs_diff"], "inf");
  EXPECT_EQ(t["max_rel_diff"].get<double>(), 2.0);
  EXPECT_EQ(t["first_difference"]["index"], 0);
  EXPECT_EQ(t["first_difference"]["b_bits"], "0x80000000");
  Proc p = RunModelc({"diff", A(), B()});
  EXPECT_TRUE(Contains(LineWith(p.out, "  t "), "3 of 3 elements differ, max abs inf, max rel 2, first at [0]: 0 -> -0"))
      << p;
}

TEST_F(DiffTest, LayoutOnlyDifferencesAreDifferent) {
  // Same keys and tensors, other order.
  const std::vector<float> x = {1, 2}, y = {3};
  GgufWriter a, b;
  a.SetU32("k1", 1);
  a.SetU32("k2", 2);
  a.AddTensorF32("x", {2}, x.data());
  a.AddTensorF32("y", {1}, y.data());
  b.SetU32("k2", 2);
  b.SetU32("k1", 1);
  b.AddTensorF32("y", {1}, y.data());
  b.AddTensorF32("x", {2}, x.data());
  Write(a, A());
  Write(b, B());
  Proc p = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_EQ(LastLine(p.out),
            "different: 0 metadata keys, 0 tensors; layout: metadata key order differs, tensor order differs")
      << p;
  json j = DiffJson(A(), B(), 1);
  EXPECT_EQ(j["identical"], false);
  EXPECT_EQ(j["layout"], json::array({"metadata key order differs", "tensor order differs"}));

  // The same content as GGUF version 2.
  std::string bytes;
  ASSERT_TRUE(a.Serialize(&bytes).ok());
  bytes[4] = 2;
  WriteText(B(), bytes);
  Proc v = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(v.exited && v.code == 1) << v;
  EXPECT_EQ(LastLine(v.out), "different: 0 metadata keys, 0 tensors; layout: GGUF version 3 -> 2") << v;

  // Without the zero padding after the last tensor (the reader accepts a
  // file that ends right after the last tensor's data): same content, other
  // bytes.
  ASSERT_TRUE(a.Serialize(&bytes).ok());
  ASSERT_EQ(bytes.size() % 32, 0u);
  WriteText(B(), bytes.substr(0, bytes.size() - 28));  // y is the last 4 data bytes, then 28 padding
  Proc pad = RunModelc({"diff", A(), B()});
  ASSERT_TRUE(pad.exited && pad.code == 1) << pad;
  EXPECT_EQ(LastLine(pad.out), "different: 0 metadata keys, 0 tensors; layout: other bytes differ (padding or data "
                               "offsets)")
      << pad;
}

TEST_F(DiffTest, BadFilesExitTwoWithOneErrorLine) {
  WritePair(nullptr, nullptr);
  const std::string good = Slurp(A());
  ASSERT_GT(good.size(), 100u);
  std::vector<std::string> bad = {tmp_ / "missing.gguf", tmp_.path()};
  WriteText(tmp_ / "text.gguf", "this is not a model\n");
  bad.push_back(tmp_ / "text.gguf");
  WriteText(tmp_ / "empty.gguf", "");
  bad.push_back(tmp_ / "empty.gguf");
  // (The last 20 bytes are padding after y.bias: good.size() - 32 cuts its data.)
  for (size_t len : {(size_t)10, (size_t)24, (size_t)60, good.size() / 2, good.size() - 32}) {
    const std::string path = tmp_ / ("trunc" + std::to_string(len) + ".gguf");
    WriteText(path, good.substr(0, len));
    bad.push_back(path);
  }
  for (const std::string& path : bad) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"diff", path, A()}, {"diff", A(), path}, {"diff", path, A(), "--json"}, {"diff", path, path}}) {
      SCOPED_TRACE(args[1] + " " + args[2]);
      Proc p = RunModelc(args);
      EXPECT_TRUE(p.exited) << p;
      EXPECT_EQ(p.code, 2) << p;
      EXPECT_EQ(p.out, "") << p;
      EXPECT_EQ(CountLines(p.err), 1) << p;
      EXPECT_EQ(p.err.rfind("modelc: error: " + path + ": ", 0), 0u) << p;
    }
  }
}

TEST_F(DiffTest, HelpAndUsage) {
  Proc h = RunModelc({"diff", "--help"});
  ASSERT_TRUE(h.exited && h.code == 0) << h;
  for (const char* s : {"A", "B", "--json", "Exit status: 0 the files are identical, 1 they differ, 2 trouble",
                        "max abs", "first differing"})
    EXPECT_TRUE(Contains(h.out, s)) << "diff --help lacks " << s << "\n" << h;
  Proc top = RunModelc({"--help"});
  EXPECT_TRUE(Contains(top.out, "diff")) << top;
  Proc missing = RunModelc({"diff", tmp_ / "only-one.gguf"});
  EXPECT_TRUE(missing.exited && missing.code != 0) << missing;
  EXPECT_FALSE(missing.err.empty()) << missing;
}

// Two real builds of a tiny model: rebuilt from the same source, identical;
// one more training step, the step count, losses and every tensor differ.
TEST_F(DiffTest, RealBuilds) {
  SourceSpec spec;
  spec.n_layer = 1;
  spec.steps = 6;
  spec.eval_every = 3;
  WriteSource(tmp_ / "src_a", spec);
  spec.steps = 7;
  WriteSource(tmp_ / "src_b", spec);
  for (const auto& [src, out] : {std::pair{"src_a", "a.gguf"}, std::pair{"src_a", "a2.gguf"},
                                 std::pair{"src_b", "b.gguf"}}) {
    Proc p = RunModelc({"build", src, "-o", out, "-q"}, {}, tmp_.path());
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }
  Proc same = RunModelc({"diff", tmp_ / "a.gguf", tmp_ / "a2.gguf"});
  ASSERT_TRUE(same.exited && same.code == 0) << same;
  EXPECT_EQ(LastLine(same.out), "identical") << same;

  Proc p = RunModelc({"diff", tmp_ / "a.gguf", tmp_ / "b.gguf"});
  ASSERT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(std::regex_search(p.out, std::regex(R"(~ modelc\.steps +u64 +6 -> 7\n)"))) << p;
  const size_t n_tensors = 2 + 12 * spec.n_layer + 2;  // token/pos embd, 12 per block, output norm
  EXPECT_TRUE(Contains(p.out, "tensors: " + std::to_string(n_tensors) + " of " + std::to_string(n_tensors) +
                                  " differ"))
      << p;
  EXPECT_TRUE(std::regex_search(LastLine(p.out), std::regex(R"(^different: [0-9]+ metadata keys, )" +
                                                            std::to_string(n_tensors) + " tensors$")))
      << p;
  json j = DiffJson(tmp_ / "a.gguf", tmp_ / "b.gguf", 1);
  EXPECT_EQ(j["tensors"].size(), n_tensors);
  for (const auto& t : j["tensors"]) {
    EXPECT_EQ(t["status"], "values_differ") << t;
    EXPECT_GT(t["differing_elements"].get<uint64_t>(), 0u) << t;
    EXPECT_GT(t["max_abs_diff"].get<double>(), 0.0) << t;
  }
}

}  // namespace
}  // namespace modelc
