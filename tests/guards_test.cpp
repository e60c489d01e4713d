// Guards around `modelc build` (issue 12): Ctrl-C / SIGTERM stop a build
// with one line and a checkpoint and the resumed build gives the same bytes;
// the memory estimate is close to the measured peak and refuses what cannot
// fit before allocating it; the build folder's lock makes a second build of
// the same output wait (or, with --no-wait, fail naming the holder).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli_util.h"
#include "compile/build.h"
#include "compile/build_lock.h"
#include "compile/checkpoint.h"
#include "compile/memory_estimate.h"

namespace modelc {
namespace {

using namespace testutil;
using nlohmann::json;

// Steps of a few milliseconds, so that a signal lands in the middle.
SourceSpec GuardSpec(int steps = 40) {
  SourceSpec s;
  s.name = "guard";
  s.n_layer = 2;
  s.n_head = 2;
  s.n_embd = 48;
  s.context = 48;
  s.steps = steps;
  s.batch_size = 8;
  s.micro_batch_size = 4;
  s.eval_every = 10;
  s.corpus_bytes = 40000;
  return s;
}

// Temp files (".tmp.") anywhere under `dir`.
std::vector<std::string> TempFiles(const std::string& dir) {
  std::vector<std::string> v;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (Contains(e.path().filename().string(), ".tmp.")) v.push_back(e.path().string());
  return v;
}

int CountMatches(const std::string& s, const std::string& re) {
  const std::regex r(re);
  return (int)std::distance(std::sregex_iterator(s.begin(), s.end(), r), std::sregex_iterator());
}

class Guards : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string src_, ref_hash_;

  void MakeSource(const SourceSpec& spec) {
    src_ = tmp_ / "src";
    WriteSource(src_, spec);
    const std::string ref = tmp_ / "ref.gguf";
    Proc p = RunModelc({"build", src_, "-o", ref, "-q", "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    ref_hash_ = FileSha(ref);
  }

  // Starts a build into `out`, sends `sig` once its progress shows step
  // `k`, and checks the stop: exit 128+sig, one "interrupted at step N"
  // line, a checkpoint at N, no output and no temp file. Returns N.
  int64_t InterruptAt(const std::string& out, int k, int sig) {
    Spawned sp = SpawnModelc({"build", src_, "-o", out, "--threads", "1"});
    EXPECT_GT(sp.pid, 0);
    const bool seen = WaitForStderr(sp, "step " + std::to_string(k) + "/");
    if (seen) ::kill(sp.pid, sig);
    Proc p = WaitModelc(sp);
    EXPECT_TRUE(seen) << p;
    EXPECT_TRUE(p.exited) << "killed by the signal instead of stopping\n" << p;
    EXPECT_EQ(p.code, 128 + sig) << p;
    EXPECT_EQ(CountMatches(p.err, "interrupted"), 1) << p;
    const std::string n = Capture(p.err, "modelc: interrupted at step ([0-9]+); run the same command to resume\n");
    EXPECT_FALSE(n.empty()) << "no (or not exactly the) interrupt line\n" << p;
    EXPECT_FALSE(Contains(p.out, "built ")) << p;
    EXPECT_FALSE(fs::exists(out)) << "an interrupted build left an output file";
    EXPECT_TRUE(TempFiles(tmp_.path()).empty()) << TempFiles(tmp_.path())[0];
    if (n.empty()) return -1;
    const int64_t step = std::stoll(n);
    EXPECT_GE(step, k);
    EXPECT_LT(step, GuardSpec().steps) << "stopped only at the end\n" << p;
    // The state at the stop was saved: that is what "resume from N" needs.
    const auto files = ListCheckpoints(DefaultBuildDir(out));
    EXPECT_FALSE(files.empty());
    if (!files.empty()) EXPECT_EQ(files.back(), CheckpointPath(DefaultBuildDir(out), step));
    EXPECT_FALSE(fs::exists(DefaultBuildDir(out) + "/lock")) << "lock file left after the stop";
    return step;
  }

  void ResumeAndCompare(const std::string& out, int64_t from) {
    Proc p = RunModelc({"build", src_, "-o", out, "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_TRUE(Contains(p.err, "resuming from step " + std::to_string(from) + " ")) << p;
    EXPECT_EQ(FileSha(out), ref_hash_) << "resumed build differs from an uninterrupted one\n" << p;
    EXPECT_FALSE(fs::exists(DefaultBuildDir(out))) << "build folder left after success";
  }
};

TEST_F(Guards, CtrlCStopsWithOneLineAndTheResumeGivesTheSameBytes) {
  MakeSource(GuardSpec());
  const std::string out = tmp_ / "int.gguf";
  const int64_t n = InterruptAt(out, 14, SIGINT);
  ASSERT_GT(n, 0);
  ResumeAndCompare(out, n);
}

TEST_F(Guards, SigtermStopsLikeCtrlCAndTwoStopsResumeToTheSameBytes) {
  MakeSource(GuardSpec());
  const std::string out = tmp_ / "term.gguf";
  const int64_t a = InterruptAt(out, 6, SIGTERM);
  ASSERT_GT(a, 0);
  const int64_t b = InterruptAt(out, 26, SIGINT);  // resumes from a, stops again
  ASSERT_GT(b, a);
  ResumeAndCompare(out, b);
}

// The test process holds the lock itself, so the timing is under its control.
TEST_F(Guards, BuildWaitsForTheLockHolderAndNoWaitFailsNamingIt) {
  src_ = tmp_ / "src";
  WriteSource(src_, GuardSpec(6));
  const std::string out = tmp_ / "m.gguf";
  const std::string dir = DefaultBuildDir(out);
  const std::string me = std::to_string((long)::getpid());
  BuildLock held;
  bool intr = false;
  ASSERT_TRUE(held.Acquire(dir, {}, &intr).ok());
  EXPECT_EQ(LockHolderPid(dir + "/lock"), me);

  // --no-wait: fails at once, naming the pid.
  Proc nw = RunModelc({"build", src_, "-o", out, "--no-wait"});
  EXPECT_TRUE(nw.exited && nw.code == 1) << nw;
  EXPECT_TRUE(Contains(nw.err, dir + ": another build (pid " + me + ") holds it")) << nw;
  EXPECT_FALSE(fs::exists(out));

  // Ctrl-C while waiting: stops, says so, nothing written.
  Spawned c = SpawnModelc({"build", src_, "-o", out});
  ASSERT_TRUE(WaitForStderr(c, "waiting for "));
  ::kill(c.pid, SIGINT);
  Proc cp = WaitModelc(c);
  EXPECT_TRUE(cp.exited && cp.code == 130) << cp;
  EXPECT_TRUE(Contains(cp.err, "interrupted while waiting for " + dir)) << cp;

  // Waiting: one message, then the build runs once the lock is released.
  Spawned w = SpawnModelc({"build", src_, "-o", out, "--threads", "1"});
  ASSERT_TRUE(WaitForStderr(w, "waiting for " + dir + ": another build \\(pid " + me + "\\) holds it"));
  ::usleep(300000);  // it keeps waiting
  EXPECT_FALSE(Contains(PeekFd(w.err_fd), "building ")) << PeekFd(w.err_fd);
  held.Release();
  Proc wp = WaitModelc(w);
  EXPECT_TRUE(wp.exited && wp.code == 0) << wp;
  EXPECT_EQ(CountMatches(wp.err, "waiting for"), 1) << wp;
  EXPECT_TRUE(Contains(wp.out, "built guard")) << wp;
  EXPECT_FALSE(fs::exists(dir)) << "build folder (or its lock file) left after success";
}

TEST_F(Guards, TwoBuildsOfTheSameOutputAtOnceShareNothingAndAgree) {
  MakeSource(GuardSpec(120));
  const std::string out = tmp_ / "both.gguf";
  Spawned a = SpawnModelc({"build", src_, "-o", out, "--threads", "1"});
  ASSERT_TRUE(WaitForStderr(a, "step [0-9]+/120"));
  Spawned b = SpawnModelc({"build", src_, "-o", out, "--threads", "1"});
  const bool waited = WaitForStderr(
      b, "waiting for " + DefaultBuildDir(out) + ": another build \\(pid " + std::to_string(a.pid) + "\\) holds it",
      60);
  Proc pa = WaitModelc(a);
  Proc pb = WaitModelc(b);
  EXPECT_TRUE(waited) << pa << pb;
  EXPECT_TRUE(pa.exited && pa.code == 0) << pa;
  EXPECT_TRUE(pb.exited && pb.code == 0) << pb;
  EXPECT_TRUE(Contains(pb.out, "is up to date")) << pb;  // a built it while b waited
  EXPECT_EQ(FileSha(out), ref_hash_);
  EXPECT_FALSE(fs::exists(DefaultBuildDir(out)));
}

TEST(GuardsLock, ReleasedLockFileIsRemovedAndALaterAcquireWorks) {
  TempDir tmp;
  const std::string dir = tmp / "x.build";
  bool intr = false;
  {
    BuildLock a;
    ASSERT_TRUE(a.Acquire(dir, {}, &intr).ok());
    ASSERT_TRUE(fs::exists(dir + "/lock"));
    BuildLock b;
    BuildLock::Wait nowait;
    nowait.wait = false;
    const Status st = b.Acquire(dir, nowait, &intr);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(Contains(st.message(), "(pid " + std::to_string((long)::getpid()) + ")")) << st.message();
    // Waiting, with an interrupt after the first poll.
    BuildLock::Wait w;
    int told = 0;
    w.on_wait = [&](const std::string&) { ++told; };
    w.interrupted = [] { return true; };
    ASSERT_TRUE(b.Acquire(dir, w, &intr).ok());
    EXPECT_TRUE(intr);
    EXPECT_EQ(told, 1);
    EXPECT_FALSE(b.held());
  }
  EXPECT_FALSE(fs::exists(dir + "/lock"));
  BuildLock c;
  ASSERT_TRUE(c.Acquire(dir, {}, &intr).ok());
  EXPECT_FALSE(intr);
  EXPECT_TRUE(c.held());
}

TEST(GuardsMemory, ParseMemorySize) {
  uint64_t b = 0;
  ASSERT_TRUE(ParseMemorySize("8G", &b).ok());
  EXPECT_EQ(b, uint64_t(8) << 30);
  ASSERT_TRUE(ParseMemorySize("512M", &b).ok());
  EXPECT_EQ(b, uint64_t(512) << 20);
  ASSERT_TRUE(ParseMemorySize("1.5GiB", &b).ok());
  EXPECT_EQ(b, uint64_t(3) << 29);
  ASSERT_TRUE(ParseMemorySize("64kb", &b).ok());
  EXPECT_EQ(b, uint64_t(64) << 10);
  ASSERT_TRUE(ParseMemorySize("1000000", &b).ok());
  EXPECT_EQ(b, 1000000u);
  ASSERT_TRUE(ParseMemorySize("none", &b).ok());
  EXPECT_EQ(b, kNoMemoryCheck);
  for (const char* bad : {"", "G", "8X", "-1G", "1.2.3G", "0", "8 GB extra"})
    EXPECT_FALSE(ParseMemorySize(bad, &b).ok()) << bad;
  EXPECT_EQ(FormatBytes(uint64_t(51) << 30), "51.0 GiB");
  EXPECT_EQ(FormatBytes(uint64_t(157) << 20), "157 MiB");
  uint64_t avail = 0;
  std::string what;
  ASSERT_TRUE(AvailableMemory(&avail, &what));  // /proc/meminfo at least
  EXPECT_GT(avail, uint64_t(16) << 20) << what;
}

// The estimate against the peak RSS the build reports (--json peak_rss_mb),
// for shapes where weights, activations and data in turn dominate.
TEST(GuardsMemory, EstimateIsWithinAFactorOfTwoOfTheMeasuredPeak) {
  struct Shape {
    const char* what;
    int n_layer, n_head, n_embd, context, batch, micro;
    size_t corpus;
  };
  const Shape shapes[] = {
      {"weights", 4, 4, 256, 32, 4, 2, 30000},
      {"activations", 2, 4, 64, 256, 8, 8, 30000},
      {"data", 1, 2, 32, 32, 2, 2, 6000000},
  };
  for (const Shape& sh : shapes) {
    SCOPED_TRACE(sh.what);
    TempDir tmp;
    SourceSpec s;
    s.name = std::string("mem-") + sh.what;
    s.n_layer = sh.n_layer;
    s.n_head = sh.n_head;
    s.n_embd = sh.n_embd;
    s.context = sh.context;
    s.batch_size = sh.batch;
    s.micro_batch_size = sh.micro;
    s.steps = 2;
    s.eval_every = 2;
    s.eval_batches = 1;
    s.corpus_bytes = sh.corpus;
    WriteSource(tmp / "src", s);
    Proc p = RunModelc({"build", tmp / "src", "-o", tmp / "m.gguf", "--json", "--threads", "1"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    const json j = json::parse(p.out);
    const double peak = j["peak_rss_mb"].get<double>(), est = j["memory_estimate_mb"].get<double>();
    std::printf("[ memory   ] %-12s estimate %7.1f MiB, peak %7.1f MiB, ratio %.2f\n", sh.what, est, peak,
                est / peak);
    EXPECT_GE(est / peak, 0.5) << "estimate " << est << " MiB, peak " << peak << " MiB";
    EXPECT_LE(est / peak, 2.0) << "estimate " << est << " MiB, peak " << peak << " MiB";
  }
}

TEST(GuardsMemory, HugeModelIsRefusedQuicklyWithTheEstimate) {
  TempDir tmp;
  SourceSpec s;
  s.name = "huge";
  s.n_layer = 4;
  s.n_head = 16;
  s.n_embd = 16384;
  WriteSource(tmp / "src", s);
  const auto t0 = std::chrono::steady_clock::now();
  Proc p = RunModelc({"build", tmp / "src", "-o", tmp / "huge.gguf"});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_LT(secs, 1.0) << "refusing took " << secs << " s\n" << p;
  EXPECT_TRUE(std::regex_search(
      p.err, std::regex("model\\.toml: this build needs about [0-9.]+ [GT]iB \\(weights [0-9.]+ [GT]iB, "
                        "gradients .*, AdamW state .*, activations .*\\) but the machine has [0-9.]+ "
                        "[KMGT]iB available \\(.*\\); reduce n_embd/n_layer/micro_batch_size/context or "
                        "pass --max-memory")))
      << p;
  EXPECT_FALSE(fs::exists(tmp / "huge.gguf"));
  EXPECT_FALSE(fs::exists(tmp / "huge.build")) << "refused build left its folder";

  // --max-memory lowers the limit below a tiny build; a bad size is named.
  TempDir t2;
  WriteSource(t2 / "src", SourceSpec{});
  Proc small = RunModelc({"build", t2 / "src", "-o", t2 / "s.gguf", "--max-memory", "2M"});
  EXPECT_TRUE(small.exited && small.code == 1) << small;
  EXPECT_TRUE(Contains(small.err, "but --max-memory allows 2 MiB")) << small;
  Proc bad = RunModelc({"build", t2 / "src", "-o", t2 / "s.gguf", "--max-memory", "lots"});
  EXPECT_TRUE(bad.exited && bad.code == 1) << bad;
  EXPECT_TRUE(Contains(bad.err, "--max-memory lots: expected a size")) << bad;
  Proc ok = RunModelc({"build", t2 / "src", "-o", t2 / "s.gguf", "-q", "--max-memory", "4G"});
  EXPECT_TRUE(ok.exited && ok.code == 0) << ok;
}

}  // namespace
}  // namespace modelc
