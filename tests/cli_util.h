// Helpers for end-to-end tests that run the modelc binary: temp folders,
// files, subprocesses (run, or spawn and watch), and generated model sources.
// Header-only, for the test binary.
#pragma once
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

#include "util/atomic_file.h"
#include "util/sha256.h"

extern char** environ;

namespace modelc {
namespace testutil {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Helpers: temp folders, files, subprocesses.

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/modelc_cli_XXXXXX";
    char* d = ::mkdtemp(tmpl.data());
    if (d == nullptr) {
      ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteText(const std::string& path, const std::string& contents) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << contents;
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

inline std::string Slurp(const std::string& path) {
  std::string s;
  Status st = ReadFile(path, &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

inline std::string FileSha(const std::string& path) {
  std::string hex;
  Status st = Sha256File(path, &hex);
  EXPECT_TRUE(st.ok()) << st.message();
  return hex;
}

inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline int CountLines(const std::string& s) { return (int)std::count(s.begin(), s.end(), '\n'); }

inline bool IsHex64(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

// 1-based number of the first line of `text` that contains `needle`.
inline int LineOf(const std::string& text, const std::string& needle) {
  size_t pos = text.find(needle);
  if (pos == std::string::npos) {
    ADD_FAILURE() << "'" << needle << "' not in text";
    return 0;
  }
  return 1 + (int)std::count(text.begin(), text.begin() + (long)pos, '\n');
}

struct Proc {
  bool exited = false;   // terminated normally (not by a signal)
  int code = -1;         // exit status when exited
  int signal = 0;        // terminating signal otherwise
  std::string out, err;  // captured stdout / stderr
};

inline std::ostream& operator<<(std::ostream& os, const Proc& p) {
  os << "[exited=" << p.exited << " code=" << p.code << " signal=" << p.signal
     << "]\n--- stdout ---\n" << p.out.substr(0, 4000) << "\n--- stderr ---\n" << p.err.substr(0, 4000);
  return os;
}

inline std::string ReadFd(int fd) {
  std::string s;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, (size_t)n);
  }
  return s;
}

inline int TempFd() {
  char tmpl[] = "/tmp/modelc_cli_io_XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd >= 0) ::unlink(tmpl);
  return fd;
}

struct Spawned {
  pid_t pid = -1;
  int out_fd = -1, err_fd = -1;
};

// Starts `PROGRAM ARGS...` (SpawnModelc: the modelc under test) with stdin from /dev/null and stdout / stderr
// going to (unlinked) temp files, so stderr is not a terminal.
// `env` entries are set (or replaced) in the child's environment; `cwd`, if
// given, is the child's working directory.
inline Spawned SpawnProgram(const std::string& program, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {}, const std::string& cwd = "") {
  Spawned sp;
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  bool has_wait_policy = env.count("OMP_WAIT_POLICY") > 0;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) env_s.push_back(kv);
    has_wait_policy |= key == "OMP_WAIT_POLICY";
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  // libgomp's default spin-waiting makes a multi-threaded build tens to
  // hundreds of times slower when another process holds one of the cores (a
  // busy 2-core CI machine); passive waiting does not change any result.
  if (!has_wait_policy) env_s.push_back("OMP_WAIT_POLICY=passive");
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  sp.out_fd = TempFd();
  sp.err_fd = TempFd();
  if (sp.out_fd < 0 || sp.err_fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return sp;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, sp.out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, sp.err_fd, 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  int rc = posix_spawn(&sp.pid, program.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << program << ": " << std::strerror(rc);
    sp.pid = -1;
  }
  return sp;
}

inline Spawned SpawnModelc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                           const std::string& cwd = "") {
  return SpawnProgram(MODELC_BIN, args, env, cwd);
}

// Waits for a spawned modelc and collects its output.
inline Proc WaitModelc(Spawned& sp) {
  Proc p;
  if (sp.pid > 0) {
    int status = 0;
    while (::waitpid(sp.pid, &status, 0) < 0 && errno == EINTR) {
    }
    p.exited = WIFEXITED(status);
    p.code = p.exited ? WEXITSTATUS(status) : -1;
    p.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  if (sp.out_fd >= 0) p.out = ReadFd(sp.out_fd), ::close(sp.out_fd);
  if (sp.err_fd >= 0) p.err = ReadFd(sp.err_fd), ::close(sp.err_fd);
  sp = Spawned{};
  return p;
}

// What a spawned process has written to `fd` so far (pread: does not move
// the offset the child writes at).
inline std::string PeekFd(int fd) {
  std::string s;
  char buf[65536];
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, (size_t)n);
    off += n;
  }
  return s;
}

// Polls the child's stderr until it matches `re` (true), or the child has
// exited or `timeout_s` passed (false). Leaves the child running.
inline bool WaitForStderr(const Spawned& sp, const std::string& re, double timeout_s = 120) {
  const std::regex r(re);
  for (int i = 0; i < (int)(timeout_s * 500); ++i) {
    if (std::regex_search(PeekFd(sp.err_fd), r)) return true;
    int status;
    if (::waitpid(sp.pid, &status, WNOHANG) == sp.pid) {
      ADD_FAILURE() << "process exited before printing /" << re << "/:\n" << PeekFd(sp.err_fd);
      return false;
    }
    ::usleep(2000);
  }
  return false;
}

// Runs `modelc ARGS...` to completion (see SpawnModelc).
// `mpirun -np np modelc ARGS` (MODELC_MPIRUN; "" when built without MPI):
// as root (CI), oversubscribed (more ranks than cores), shared memory only.
inline std::vector<std::string> MpirunArgs(int np, const std::vector<std::string>& modelc_args) {
  std::vector<std::string> a = {"--allow-run-as-root", "--oversubscribe", "-np", std::to_string(np),
                                "--mca", "btl", "self,vader", MODELC_BIN};
  a.insert(a.end(), modelc_args.begin(), modelc_args.end());
  return a;
}
inline const std::map<std::string, std::string>& MpirunEnv() {
  static const std::map<std::string, std::string> env = {{"OMPI_MCA_rmaps_base_oversubscribe", "1"},
                                                         {"OMP_WAIT_POLICY", "passive"}};
  return env;
}

inline Proc RunModelc(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
               const std::string& cwd = "") {
  Spawned sp = SpawnModelc(args, env, cwd);
  return WaitModelc(sp);
}

// First capture group of `re` in `s` ("" if no match).
inline std::string Capture(const std::string& s, const std::string& re) {
  std::smatch m;
  if (std::regex_search(s, m, std::regex(re)) && m.size() > 1) return m[1].str();
  return "";
}

// ---------------------------------------------------------------------------
// The model source generator.

// English-like text from a fixed-seed generator: sentences of common words.
inline std::string MakeCorpus(uint64_t seed, size_t bytes) {
  static const char* const kWords[] = {
      "the",    "of",    "and",   "to",    "a",      "in",     "is",    "it",    "you",   "that",
      "he",     "was",   "for",   "on",    "are",    "with",   "as",    "his",   "they",  "be",
      "at",     "one",   "have",  "this",  "from",   "or",     "had",   "by",    "word",  "but",
      "what",   "some",  "we",    "can",   "out",    "other",  "were",  "all",   "there", "when",
      "up",     "use",   "your",  "how",   "said",   "an",     "each",  "she",   "which", "do",
      "their",  "time",  "if",    "will",  "way",    "about",  "many",  "then",  "them",  "write",
      "would",  "like",  "so",    "these", "her",    "long",   "make",  "thing", "see",   "him",
      "two",    "has",   "look",  "more",  "day",    "could",  "go",    "come",  "did",   "number",
      "sound",  "no",    "most",  "people", "my",    "over",   "know",  "water", "than",  "call",
      "first",  "who",   "may",   "down",  "side",   "been",   "now",   "find",  "garden", "river",
      "little", "house", "old",   "night", "morning", "light", "story", "under", "small", "quiet"};
  const size_t n_words = sizeof(kWords) / sizeof(kWords[0]);
  uint64_t state = seed;
  auto next = [&state]() {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::string text;
  while (text.size() < bytes) {
    const int sentences = 1 + (int)(next() % 3);
    for (int s = 0; s < sentences; ++s) {
      const int words = 4 + (int)(next() % 9);
      for (int w = 0; w < words; ++w) {
        std::string word = kWords[next() % n_words];
        if (w == 0) word[0] = (char)std::toupper((unsigned char)word[0]);
        if (w > 0) text += (next() % 7 == 0) ? ", " : " ";
        text += word;
      }
      const uint64_t p = next() % 10;
      text += p < 7 ? "." : (p < 9 ? "?" : "!");
      if (s + 1 < sentences) text += ' ';
    }
    text += '\n';
  }
  return text;
}

struct SourceSpec {
  std::string name = "tiny-cli";
  std::string license = "MIT";
  std::string family = "gpt";
  std::string arch_extra;  // more [architecture] lines ("n_head_kv = 1\n")
  std::string tokenizer = "kind = \"byte\"\n";  // the [tokenizer] table's lines
  int n_layer = 2, n_head = 2, n_embd = 32, context = 32;
  int steps = 20, batch_size = 4, micro_batch_size = 2;
  std::string learning_rate = "0.003";
  int eval_every = 10, eval_batches = 2;
  int seed = 7;
  uint64_t corpus_seed = 42;
  size_t corpus_bytes = 30000;
};

inline const char kDataTitle[] = "Generated words";
inline const char kDataUrl[] = "https://example.invalid/generated-words";

// model.toml text for `s`; `sha256_line` is put into [[data]] (e.g. a
// sha256 = "..." line, or "" for none); `data_extra` is appended to [[data]].
inline std::string ModelToml(const SourceSpec& s, const std::string& sha256_line = "",
                      const std::string& data_extra = "") {
  std::ostringstream t;
  t << "# generated by cli_test\n"
    << "[model]\n"
    << "name = \"" << s.name << "\"\n"
    << "description = \"A tiny test model\"\n"
    << "license = \"" << s.license << "\"\n"
    << "authors = [\"cli_test\"]\n"
    << "\n[architecture]\n"
    << "family = \"" << s.family << "\"\n"
    << "n_layer = " << s.n_layer << "\n"
    << "n_head = " << s.n_head << "\n"
    << "n_embd = " << s.n_embd << "\n"
    << "context = " << s.context << "\n"
    << s.arch_extra
    << "\n[tokenizer]\n"
    << s.tokenizer
    << "\n[train]\n"
    << "steps = " << s.steps << "\n"
    << "batch_size = " << s.batch_size << "\n"
    << "micro_batch_size = " << s.micro_batch_size << "\n"
    << "learning_rate = " << s.learning_rate << "\n"
    << "warmup_steps = 2\n"
    << "lr_schedule = \"cosine\"\n"
    << "seed = " << s.seed << "\n"
    << "eval_every = " << s.eval_every << "\n"
    << "eval_batches = " << s.eval_batches << "\n"
    << "\n[[data]]\n"
    << "path = \"corpus.txt\"\n"
    << sha256_line << (sha256_line.empty() ? "" : "\n")
    << "title = \"" << kDataTitle << "\"\n"
    << "author = \"cli_test\"\n"
    << "license = \"CC0-1.0\"\n"
    << "source_url = \"" << kDataUrl << "\"\n"
    << "split = 0.1\n"
    << data_extra;
  return t.str();
}

// Writes a model source (model.toml + corpus.txt) into `dir` and, if `pin`,
// pins the data hash with `modelc build --pin DIR`.
inline void WriteSource(const std::string& dir, const SourceSpec& s = {}, bool pin = true) {
  WriteText(dir + "/corpus.txt", MakeCorpus(s.corpus_seed, s.corpus_bytes));
  WriteText(dir + "/model.toml", ModelToml(s));
  if (!pin) return;
  Proc p = RunModelc({"build", "--pin", dir});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  ASSERT_TRUE(Contains(p.out, "pinned corpus.txt")) << p;
  ASSERT_TRUE(Contains(Slurp(dir + "/model.toml"), "sha256 = \"" + FileSha(dir + "/corpus.txt") + "\""));
}

}  // namespace testutil
}  // namespace modelc
