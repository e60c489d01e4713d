// Checkpoint files and the training-state hash chain (compile/checkpoint.h).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "compile/checkpoint.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;

const std::string kSource(64, 'a');

struct Tmp {
  std::string dir;
  Tmp() {
    char t[] = "/tmp/modelc_ckpt_XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

TrainState MakeState(int64_t step, size_t P, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n;
  TrainState s;
  s.step = step;
  for (size_t i = 0; i < P; ++i) {
    s.params.push_back(n(g));
    s.m.push_back(n(g) * 1e-3f);
    s.v.push_back(std::fabs(n(g)) * 1e-6f);
  }
  s.params[0] = -0.0f;  // signed zero and a denormal must survive bit-exactly
  s.v[1] = 1e-40f;
  s.tokens_per_source = {123456789012ull, 7};
  for (int64_t k = 1; k <= step; ++k) s.train_curve.push_back({k, 5.0 / (double)k});
  s.val_curve.push_back({step, std::nan("")});  // any double, NaN included
  std::string prev = kSource;
  for (int64_t k = 0; k <= step; k += 2) {
    ChainLink l;
    l.step = k;
    l.state_sha256 = Sha256Hex("state" + std::to_string(k));
    l.chain_sha256 = NextChainHash(prev, k, l.state_sha256);
    prev = l.chain_sha256;
    s.chain.push_back(l);
  }
  return s;
}

// Plain write (no fsync): the corruption loops write thousands of files.
void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
  ASSERT_TRUE(f.good());
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Checkpoint, RoundTripIsBitExact) {
  Tmp t;
  const TrainState s = MakeState(6, 1000, 1);
  const std::string path = CheckpointPath(t.dir, s.step);
  EXPECT_EQ(fs::path(path).filename(), "step-000000006.ckpt");
  ASSERT_TRUE(WriteCheckpoint(path, kSource, s).ok());
  TrainState r;
  std::string src, version;
  Status st = ReadCheckpoint(path, &r, &src, &version);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(src, kSource);
  EXPECT_EQ(version, MODELC_VERSION);
  EXPECT_EQ(r.step, 6);
  EXPECT_TRUE(SameBits(r.params, s.params));
  EXPECT_TRUE(SameBits(r.m, s.m));
  EXPECT_TRUE(SameBits(r.v, s.v));
  EXPECT_EQ(r.tokens_per_source, s.tokens_per_source);
  ASSERT_EQ(r.train_curve.size(), s.train_curve.size());
  for (size_t i = 0; i < r.train_curve.size(); ++i) {
    EXPECT_EQ(r.train_curve[i].step, s.train_curve[i].step);
    EXPECT_EQ(std::memcmp(&r.train_curve[i].loss, &s.train_curve[i].loss, 8), 0);
  }
  ASSERT_EQ(r.val_curve.size(), 1u);
  EXPECT_TRUE(std::isnan(r.val_curve[0].loss));
  ASSERT_EQ(r.chain.size(), s.chain.size());
  for (size_t i = 0; i < r.chain.size(); ++i) {
    EXPECT_EQ(r.chain[i].step, s.chain[i].step);
    EXPECT_EQ(r.chain[i].state_sha256, s.chain[i].state_sha256);
    EXPECT_EQ(r.chain[i].chain_sha256, s.chain[i].chain_sha256);
  }
  EXPECT_EQ(TrainStateHash(r), TrainStateHash(s));
}

TEST(Checkpoint, EveryTruncationAndCorruptionIsDetected) {
  Tmp t;
  const TrainState s = MakeState(4, 64, 2);
  const std::string path = CheckpointPath(t.dir, 4);
  ASSERT_TRUE(WriteCheckpoint(path, kSource, s).ok());
  std::string good;
  ASSERT_TRUE(ReadFile(path, &good).ok());
  const std::string bad = t.dir + "/bad.ckpt";
  TrainState r;
  std::string src;
  for (size_t n = 0; n < good.size(); ++n) {  // every proper prefix
    WriteRaw(bad, good.substr(0, n));
    Status st = ReadCheckpoint(bad, &r, &src);
    ASSERT_FALSE(st.ok()) << "truncated to " << n << " bytes was accepted";
    ASSERT_NE(st.message().find("corrupt checkpoint"), std::string::npos) << st.message();
  }
  std::mt19937 g(3);
  for (int trial = 0; trial < 2000; ++trial) {  // single bit flips anywhere
    std::string c = good;
    const size_t pos = g() % c.size();
    c[pos] = (char)(c[pos] ^ (1 << (g() % 8)));
    WriteRaw(bad, c);
    ASSERT_FALSE(ReadCheckpoint(bad, &r, &src).ok()) << "bit flip at byte " << pos << " was accepted";
  }
  ASSERT_TRUE(WriteFileAtomic(bad, good + "x").ok());
  EXPECT_FALSE(ReadCheckpoint(bad, &r, &src).ok()) << "trailing garbage was accepted";
}

TEST(Checkpoint, StateHashCoversStepWeightsAndMoments) {
  const TrainState s = MakeState(2, 50, 4);
  const std::string h = TrainStateHash(s);
  EXPECT_EQ(h.size(), 64u);
  TrainState t = s;
  t.step = 3;
  EXPECT_NE(TrainStateHash(t), h);
  for (auto member : {&TrainState::params, &TrainState::m, &TrainState::v}) {
    t = s;
    (t.*member)[49] = std::nextafter((t.*member)[49], 1.0f);
    EXPECT_NE(TrainStateHash(t), h);
  }
  t = s;  // curves and counts are not training state
  t.train_curve.clear();
  t.tokens_per_source = {1};
  EXPECT_EQ(TrainStateHash(t), h);
  // The documented formula.
  Sha256 ref;
  ref.Update("modelc-train-state-v1\n");
  const uint64_t step = 2, P = 50;
  ref.Update(&step, 8);
  ref.Update(&P, 8);
  ref.Update(s.params.data(), 200);
  ref.Update(s.m.data(), 200);
  ref.Update(s.v.data(), 200);
  EXPECT_EQ(ref.HexDigest(), h);
  EXPECT_EQ(NextChainHash(kSource, 7, h), Sha256Hex(kSource + ":7:" + h));
}

TEST(Checkpoint, ChainJsonRoundTripAndErrors) {
  const TrainState s = MakeState(6, 4, 5);
  std::vector<ChainLink> c;
  ASSERT_TRUE(ChainFromJson(ChainToJson(s.chain), &c).ok());
  ASSERT_EQ(c.size(), s.chain.size());
  EXPECT_EQ(c.back().chain_sha256, s.chain.back().chain_sha256);
  const std::string h(64, 'b');
  for (const std::string& bad :
       {std::string("{}"), std::string("[1]"), std::string("not json"),
        "[{\"step\":0,\"state\":\"xyz\",\"chain\":\"" + h + "\"}]",
        "[{\"step\":2,\"state\":\"" + h + "\",\"chain\":\"" + h + "\"},{\"step\":1,\"state\":\"" + h +
            "\",\"chain\":\"" + h + "\"}]"}) {
    EXPECT_FALSE(ChainFromJson(bad, &c).ok()) << bad;
  }
}

TEST(Checkpoint, ResumePointSkipsCorruptAndForeignCheckpoints) {
  Tmp t;
  TrainState s2 = MakeState(2, 32, 6), s4 = MakeState(4, 32, 7), s6 = MakeState(6, 32, 8);
  ASSERT_TRUE(WriteCheckpoint(CheckpointPath(t.dir, 2), kSource, s2).ok());
  ASSERT_TRUE(WriteCheckpoint(CheckpointPath(t.dir, 4), kSource, s4).ok());
  ASSERT_TRUE(WriteCheckpoint(CheckpointPath(t.dir, 6), std::string(64, 'c'), s6).ok());  // other source
  ASSERT_TRUE(WriteFileAtomic(t.dir + "/unrelated.txt", "x").ok());
  EXPECT_EQ(ListCheckpoints(t.dir).size(), 3u);

  TrainState r;
  std::string path;
  std::vector<std::string> notes;
  ASSERT_TRUE(FindResumePoint(t.dir, kSource, 32, &r, &path, &notes));
  EXPECT_EQ(r.step, 4);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("different source"), std::string::npos) << notes[0];

  // Corrupt the step-4 file: falls back to step 2, and says why.
  std::string bytes;
  ASSERT_TRUE(ReadFile(CheckpointPath(t.dir, 4), &bytes).ok());
  bytes[bytes.size() / 2] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomic(CheckpointPath(t.dir, 4), bytes).ok());
  notes.clear();
  ASSERT_TRUE(FindResumePoint(t.dir, kSource, 32, &r, &path, &notes));
  EXPECT_EQ(r.step, 2);
  EXPECT_EQ(path, CheckpointPath(t.dir, 2));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[1].find("checksum mismatch"), std::string::npos) << notes[1];

  // Wrong parameter count, and no folder at all.
  notes.clear();
  EXPECT_FALSE(FindResumePoint(t.dir, kSource, 33, &r, &path, &notes));
  notes.clear();
  EXPECT_FALSE(FindResumePoint(t.dir + "/missing", kSource, 32, &r, &path, &notes));
  EXPECT_TRUE(notes.empty());
}

}  // namespace
}  // namespace modelc
