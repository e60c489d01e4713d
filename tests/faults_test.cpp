// Write faults: a full disk or a file-size limit while modelc writes the
// model binary, a checkpoint, the build report, the provenance statement or
// a quantized binary. Each must end in one clear error naming the file, a
// non-zero exit, no partial or temp file, and an earlier file at the same
// path left byte for byte as it was.
//
// The limits are real: modelc runs as a child with RLIMIT_FSIZE set (and
// SIGXFSZ ignored, so write() returns EFBIG instead of the signal killing
// it), at sizes picked between the sizes of the files a build writes, so
// that exactly the write under test fails. Where the test may mount a small
// tmpfs (root, and a kernel that lets it), the same writes also meet ENOSPC.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {
namespace {

using namespace testutil;
namespace fs = std::filesystem;

// Runs `modelc ARGS...` with RLIMIT_FSIZE = `limit` bytes (0: no limit) and
// SIGXFSZ ignored. stdout / stderr go to temp files as in RunModelc.
Proc RunLimited(const std::vector<std::string>& args, uint64_t limit) {
  std::vector<std::string> argv_s = {MODELC_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("OMP_WAIT_POLICY=", 0) != 0) env_s.push_back(*e);
  env_s.push_back("OMP_WAIT_POLICY=passive");
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  Spawned sp;
  sp.out_fd = TempFd();
  sp.err_fd = TempFd();
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    if (limit > 0) {
      struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
      if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(126);
    }
    ::signal(SIGXFSZ, SIG_IGN);
    ::dup2(null_fd, 0);
    ::dup2(sp.out_fd, 1);
    ::dup2(sp.err_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(null_fd);
  EXPECT_GT(pid, 0) << "fork: " << std::strerror(errno);
  sp.pid = pid;
  return WaitModelc(sp);
}

uint64_t SizeOf(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  EXPECT_FALSE(ec) << path << ": " << ec.message();
  return ec ? 0 : (uint64_t)n;
}

// Names under `dir` (recursively) that look like AtomicFile temp files.
std::vector<std::string> TempFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename().string().find(".tmp.") != std::string::npos) out.push_back(it->path().string());
  return out;
}

int CountOf(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// The failed run: non-zero exit, exactly one error, naming `file` and saying
// `problem`; no temp file anywhere under `dir`.
void ExpectCleanFailure(const Proc& p, const std::string& file, const std::string& problem,
                        const std::string& dir) {
  EXPECT_TRUE(p.exited) << "killed by a signal instead of failing: " << p;
  EXPECT_NE(p.code, 0) << p;
  EXPECT_EQ(CountOf(p.err, "error:"), 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: " + file + ": ")) << "the error must name " << file << "\n" << p;
  EXPECT_TRUE(Contains(p.err, problem)) << p;
  EXPECT_EQ(TempFiles(dir), std::vector<std::string>{}) << p;
}

// One tiny model, built once without limits: the earlier outputs.
class Faults : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    SourceSpec s;
    s.name = "tiny-faults";
    s.n_layer = 1;
    s.n_embd = 16;
    s.context = 16;
    s.steps = 4;
    s.eval_every = 2;
    s.corpus_bytes = 6000;
    WriteSource(*dir_ / "src", s);
    s.seed = 8;  // a second source: its build differs from the first
    WriteSource(*dir_ / "src2", s);
    Proc p = RunModelc({"build", *dir_ / "src", "-o", *dir_ / "good.gguf", "--threads", "1", "-q"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    // The sizes the limits are picked between: the checkpoint (weights and
    // two moments) is the largest file a build writes.
    Proc k = RunModelc({"build", *dir_ / "src2", "-o", *dir_ / "two.gguf", "--threads", "1", "-q",
                        "--keep-checkpoints"});
    ASSERT_TRUE(k.exited && k.code == 0) << k;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    // A fresh copy of the earlier outputs for each test.
    work_ = std::make_unique<TempDir>();
    for (const char* f : {"good.gguf", "good.gguf.intoto.json", "good.report.html"}) {
      std::error_code ec;
      fs::copy_file(*dir_ / f, *work_ / f, ec);
      ASSERT_FALSE(ec) << f << ": " << ec.message();
    }
  }
  static std::string Ckpt() {
    std::vector<std::string> c;
    for (const std::string& n : ListDir(*dir_ / "two.build"))
      if (n.size() > 5 && n.substr(n.size() - 5) == ".ckpt") c.push_back(*dir_ / ("two.build/" + n));
    EXPECT_FALSE(c.empty()) << "no checkpoint kept in " << (*dir_ / "two.build");
    return c.empty() ? "" : c.back();
  }
  static TempDir* dir_;
  std::unique_ptr<TempDir> work_;
};
TempDir* Faults::dir_ = nullptr;

TEST_F(Faults, FileSizesAllowEachLimit) {
  // The limits below rely on this order of sizes.
  const uint64_t gguf = SizeOf(*dir_ / "good.gguf"), ckpt = SizeOf(Ckpt());
  const uint64_t statement = SizeOf(*dir_ / "good.gguf.intoto.json"), report = SizeOf(*dir_ / "good.report.html");
  EXPECT_GT(ckpt, gguf);
  EXPECT_GT(gguf, 4 * 4096u);
  EXPECT_GT(statement, 2048u);
  EXPECT_GT(report, 2048u);
  std::printf("sizes: checkpoint %llu, gguf %llu, statement %llu, report %llu\n", (unsigned long long)ckpt,
              (unsigned long long)gguf, (unsigned long long)statement, (unsigned long long)report);
}

TEST_F(Faults, CheckpointWriteFails) {
  // A new source into the earlier output: its first checkpoint cannot be
  // written. The earlier binary stays as it was; nothing partial remains.
  const std::string out = *work_ / "good.gguf";
  const std::string before = FileSha(out);
  const uint64_t limit = SizeOf(Ckpt()) / 2;
  Proc p = RunLimited({"build", *dir_ / "src2", "-o", out, "--threads", "1", "-q"}, limit);
  // The first checkpoint (a hash-chain link) is the one that fails.
  const std::string ckpt = Capture(p.err, "error: ([^:]*/good\\.build/step-[0-9]+\\.ckpt): ");
  ASSERT_FALSE(ckpt.empty()) << "the error must name the checkpoint\n" << p;
  ExpectCleanFailure(p, ckpt, "write failed: File too large (EFBIG) after ", work_->path());
  EXPECT_TRUE(Contains(p.err, ckpt + " was not written")) << p;
  EXPECT_FALSE(fs::exists(ckpt));
  EXPECT_EQ(FileSha(out), before);
}

TEST_F(Faults, OutputWriteFailsAfterTheCheckpoint) {
  // The build resumes from its last checkpoint (in --build-dir: nothing left
  // to train, no checkpoint to write), then writes the binary: a limit below
  // the binary's size makes exactly that write fail.
  const std::string out = *work_ / "good.gguf";
  const std::string before = FileSha(out);
  const std::string build_dir = *work_ / "b";
  fs::create_directories(build_dir);
  fs::copy_file(Ckpt(), build_dir + "/" + fs::path(Ckpt()).filename().string());
  const uint64_t gguf = SizeOf(*dir_ / "two.gguf");
  Proc p = RunLimited({"build", *dir_ / "src2", "-o", out, "--threads", "1", "-q", "--build-dir", build_dir},
                      gguf / 2);
  ExpectCleanFailure(p, out, "write failed: File too large (EFBIG) after ", work_->path());
  EXPECT_TRUE(Contains(p.err, "; the earlier " + out + " is unchanged")) << p;
  EXPECT_EQ(FileSha(out), before);
  // The checkpoint is still there, and the same build without a limit
  // completes from it (no statement or report of the failed build exists).
  Proc again = RunModelc({"build", *dir_ / "src2", "-o", out, "--threads", "1", "-q", "--build-dir", build_dir});
  ASSERT_TRUE(again.exited && again.code == 0) << again;
  EXPECT_EQ(FileSha(out), FileSha(*dir_ / "two.gguf"));
}

TEST_F(Faults, StatementWriteFails) {
  // An up-to-date binary whose statement is missing gets it written; a limit
  // below the statement's size makes that fail, and nothing is left.
  const std::string out = *work_ / "good.gguf", st = *work_ / "good.gguf.intoto.json";
  fs::remove(st);
  const std::string before = FileSha(out);
  Proc p = RunLimited({"build", *dir_ / "src", "-o", out, "--threads", "1", "-q"},
                      SizeOf(*dir_ / "good.gguf.intoto.json") / 2);
  ExpectCleanFailure(p, st, "write failed: File too large", work_->path());
  EXPECT_FALSE(fs::exists(st));
  EXPECT_EQ(FileSha(out), before);
}

TEST_F(Faults, ReportWriteFails) {
  const std::string out = *work_ / "good.gguf", rep = *work_ / "good.report.html";
  const std::string before = FileSha(rep);
  const uint64_t limit = SizeOf(rep) / 2;
  // `modelc report` over the earlier report: it stays as it was.
  Proc p = RunLimited({"report", out}, limit);
  ExpectCleanFailure(p, rep, "write failed: File too large", work_->path());
  EXPECT_TRUE(Contains(p.err, "; the earlier " + rep + " is unchanged")) << p;
  EXPECT_EQ(FileSha(rep), before);
  // The build writing a missing report (binary up to date).
  fs::remove(rep);
  Proc b = RunLimited({"build", *dir_ / "src", "-o", out, "--threads", "1", "-q"}, limit);
  ExpectCleanFailure(b, rep, "write failed: File too large", work_->path());
  EXPECT_FALSE(fs::exists(rep));
}

TEST_F(Faults, QuantizeWriteFails) {
  const std::string out = *work_ / "q.gguf";
  WriteText(out, "an earlier file at the output path\n");
  const std::string before = FileSha(out);
  Proc p = RunLimited({"quantize", *work_ / "good.gguf", out, "--type", "q8_0"}, 8192);
  ExpectCleanFailure(p, out, "write failed: File too large (EFBIG) after 8,192 bytes", work_->path());
  EXPECT_TRUE(Contains(p.err, "; the earlier " + out + " is unchanged")) << p;
  EXPECT_EQ(FileSha(out), before);
  // Without the limit it works (the limit, not the input, was the problem).
  Proc ok = RunModelc({"quantize", *work_ / "good.gguf", out, "--type", "q8_0"});
  EXPECT_TRUE(ok.exited && ok.code == 0) << ok;
  EXPECT_NE(FileSha(out), before);
}

// A small tmpfs: ENOSPC instead of EFBIG.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& dir, uint64_t bytes) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opt = "size=" + std::to_string(bytes) + ",mode=0755";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opt.c_str()) == 0;
    if (!mounted_) why_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_, why_;
  bool mounted_ = false;
};

TEST_F(Faults, DiskFullOnTmpfs) {
  const std::string mnt = *work_ / "small";
  // Room for the earlier binary and a bit, not for a second copy of it.
  const uint64_t gguf = SizeOf(*work_ / "good.gguf");
  SmallTmpfs t(mnt, ((gguf + gguf / 2) / 4096 + 1) * 4096);
  if (!t.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (uid " << ::getuid() << "): " << t.why();
  const std::string out = mnt + "/good.gguf";
  fs::copy_file(*work_ / "good.gguf", out);
  const std::string before = FileSha(out);
  // The build's checkpoint (larger than the binary) meets a full disk.
  Proc b = RunModelc({"build", *dir_ / "src2", "-o", out, "--threads", "1", "-q"});
  const std::string ckpt = Capture(b.err, "error: ([^:]*/good\\.build/step-[0-9]+\\.ckpt): ");
  ASSERT_FALSE(ckpt.empty()) << "the error must name the checkpoint\n" << b;
  ExpectCleanFailure(b, ckpt, "No space left on device (ENOSPC)", mnt);
  EXPECT_EQ(FileSha(out), before);
  // Fill the rest but for less than a page: a report and a quantized
  // binary written there meet a full disk too.
  std::error_code ec;
  const uint64_t avail = fs::space(mnt, ec).available;
  ASSERT_FALSE(ec) << ec.message();
  WriteText(mnt + "/filler", std::string(size_t(avail > 1024 ? avail - 1024 : 0), 'x'));
  const std::string rep = mnt + "/good.report.html";
  Proc r = RunModelc({"report", *work_ / "good.gguf", "-o", rep});
  ExpectCleanFailure(r, rep, "No space left on device (ENOSPC)", mnt);
  EXPECT_FALSE(fs::exists(rep));
  Proc q = RunModelc({"quantize", *work_ / "good.gguf", out, "--type", "q8_0"});
  ExpectCleanFailure(q, out, "No space left on device (ENOSPC)", mnt);
  EXPECT_TRUE(Contains(q.err, "; the earlier " + out + " is unchanged")) << q;
  EXPECT_EQ(FileSha(out), before);
}

}  // namespace
}  // namespace modelc

namespace modelc {
namespace {

// Reading a path that is not a regular file -- a FIFO with no writer (which
// would block a plain open), a character device (endless), a directory -- is
// one error naming what it is, at once; hashing likewise.
TEST(ReadRegularFile, RefusesFifoDeviceAndDirectoryWithoutBlocking) {
  char tmpl[] = "/tmp/modelc-readfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct Want {
    std::string path, what;
  };
  for (const Want& w : {Want{fifo, "a FIFO (named pipe)"}, Want{"/dev/zero", "a character device"},
                        Want{dir, "a directory"}}) {
    std::string text, hex;
    Status st = ReadFile(w.path, &text);
    ASSERT_FALSE(st.ok()) << w.path;
    EXPECT_EQ(st.message(), w.path + " is " + w.what + ", not a regular file");
    st = Sha256File(w.path, &hex);
    ASSERT_FALSE(st.ok()) << w.path;
    EXPECT_EQ(st.message(), w.path + " is " + w.what + ", not a regular file");
  }
  // A regular file reads whole, through a symbolic link too.
  const std::string file = dir + "/f.txt", link = dir + "/link";
  ASSERT_TRUE(WriteFileAtomic(file, std::string(100000, 'x') + "end").ok());
  ASSERT_EQ(::symlink(file.c_str(), link.c_str()), 0);
  std::string text;
  ASSERT_TRUE(ReadFile(link, &text).ok());
  EXPECT_EQ(text.size(), 100003u);
  EXPECT_EQ(text.substr(100000), "end");
  Status st = ReadFile(dir + "/missing", &text);
  EXPECT_NE(st.message().find("cannot open: No such file or directory"), std::string::npos) << st.message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace modelc
