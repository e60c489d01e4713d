#include "compile/memory_estimate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "compile/trainer.h"

namespace modelc {

namespace {

constexpr uint64_t kMiB = uint64_t(1) << 20;

// Saturating arithmetic in double, then clamped: shapes come from model.toml
// and may be absurd (the point is to refuse them, not to overflow).
uint64_t Clamp(double x) {
  if (!(x > 0)) return 0;
  if (x >= 1.8e19) return UINT64_MAX / 2;
  return (uint64_t)x;
}

// First number in a file ("max" or unreadable: false).
bool ReadNumberFile(const std::string& path, uint64_t* v) {
  std::ifstream f(path);
  std::string s;
  if (!(f >> s) || s.empty() || !std::isdigit((unsigned char)s[0])) return false;
  try {
    *v = std::stoull(s);
  } catch (...) {
    return false;
  }
  return true;
}

// "key value" lines (memory.stat).
bool ReadStatKey(const std::string& path, const std::string& key, uint64_t* v) {
  std::ifstream f(path);
  std::string k;
  uint64_t x;
  while (f >> k >> x)
    if (k == key) {
      *v = x;
      return true;
    }
  return false;
}

}  // namespace

uint64_t MemoryEstimate::total() const {
  const uint64_t parts[] = {weights, gradients, optimizer, grad_sum, activations, data,
                            scratch, base,      checkpoint, mpi,     runtime};
  uint64_t t = 0;
  for (uint64_t p : parts) t = std::min<uint64_t>(UINT64_MAX / 2, t + p);
  return t;
}

std::string MemoryEstimate::Breakdown() const {
  const std::pair<const char*, uint64_t> parts[] = {
      {"weights", weights},        {"gradients", gradients},   {"AdamW state", optimizer},
      {"gradient sum", grad_sum},  {"activations", activations}, {"data", data},
      {"per-thread scratch", scratch}, {"base weights", base}, {"checkpoint read", checkpoint},
      {"MPI buffers", mpi},        {"runtime", runtime}};
  std::string s;
  for (const auto& [name, v] : parts) {
    if (v == 0) continue;
    if (!s.empty()) s += ", ";
    s += std::string(name) + " " + FormatBytes(v);
  }
  return s;
}

MemoryEstimate EstimateBuildMemory(const Recipe& r, const MemoryShape& sh) {
  const ModelConfig c = ConfigFromRecipe(r);
  // Parameter count in double (ModelParamCount would overflow nothing at sane
  // sizes, but this must not either at insane ones).
  const double C = c.n_embd, L = c.n_layer, V = c.vocab, T = c.context, H = c.n_head;
  const bool llama = c.family == "llama";
  const double KV = llama ? (double)c.n_head_kv * (C / H) : C, F = c.ffn_hidden;
  const double P = llama ? V * C * (c.tie_embeddings ? 1 : 2) + C +
                               L * (2 * C + 2 * C * C + 2 * C * KV + 3 * C * F)
                         : V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
  const double mb = std::max(1, r.train.micro_batch_size);
  const double N = mb * T;
  const int n_micro = std::max(1, r.train.batch_size / std::max(1, r.train.micro_batch_size));
  const int threads = std::max(1, sh.threads);

  MemoryEstimate e;
  e.weights = Clamp(4 * P);
  e.gradients = Clamp(4 * P);
  e.optimizer = Clamp(8 * P);
  // One micro-batch on one process quantizes in place (trainer.cpp: one_term).
  if (n_micro > 1 || sh.ranks > 1) e.grad_sum = Clamp(16 * P);
  // model/gpt.cpp GptActivations::Resize (model/llama.cpp
  // LlamaActivations::Resize): forward (every layer) + gradient mirror (one
  // layer, no attention matrix, statistics or residual branches).
  const double fwd =
      llama ? L * (8 * N * C + 2 * N * KV + 3 * N * F + 2 * N + H * mb * T * T) + 2 * N * C + 2 * N * V + 2 * N
            : L * (16 * N * C + 4 * N + H * mb * T * T) + 3 * N * C + 2 * N * V + 3 * N;
  const double bwd = llama ? 6 * N * C + 2 * N * KV + 3 * N * F + N * V : 16 * N * C + N * V;
  e.activations = Clamp(4 * (fwd + bwd));
  e.data = Clamp(4.0 * (double)sh.data_bytes);
  // Per thread: attention backward's T x T scores, LayerNorm rows, GEMM
  // packing buffers (A tile + B block of the widest operand, K block 192).
  const double widest = std::max({4 * C, V, 3 * C, F});
  e.scratch = Clamp(threads * 4 * (T * T + 2 * C + 8 * 32 * 192 + 32 * 32) + 4 * widest * 192 * 2);
  if (r.base) e.base = Clamp(8 * P);  // base weights read (file + floats), kept beside the state
  // Resuming reads a checkpoint (12 bytes per parameter) and parses it into
  // a state of the same size before training allocates its buffers.
  if (sh.resuming) e.checkpoint = Clamp(std::max(0.0, 24 * P - (double)(e.weights + e.gradients + e.optimizer + e.grad_sum + e.activations)));
  if (sh.ranks > 1) {
    // Open MPI's shared-memory and user-op buffers: a temporary copy of the
    // largest allreduce chunk (2^26 128-bit words, see dist/comm.cpp).
    e.mpi = Clamp(std::min(16 * P, 16.0 * (1 << 26)) + 64.0 * kMiB);
  }
  // Code, libraries, heap arenas and thread stacks (measured: about 9 MiB
  // for one thread of a tiny build).
  e.runtime = 10 * kMiB + (uint64_t)threads * kMiB;
  return e;
}

uint64_t RecipeDataBytes(const Recipe& r) {
  uint64_t n = 0;
  for (const DataSource& d : r.data) {
    std::error_code ec;
    const auto s = std::filesystem::file_size(d.resolved, ec);
    if (!ec) n += s;
  }
  return n;
}

bool AvailableMemory(uint64_t* bytes, std::string* what) {
  bool known = false;
  uint64_t avail = UINT64_MAX;
  {
    std::ifstream f("/proc/meminfo");
    std::string k;
    uint64_t kb;
    std::string unit;
    while (f >> k >> kb) {
      std::getline(f, unit);
      if (k == "MemAvailable:") {
        avail = kb * 1024;
        *what = "MemAvailable";
        known = true;
        break;
      }
    }
  }
  // The cgroup of this process ("0::/path" for v2, "N:memory:/path" for v1)
  // and each of its parents: the room left under each limit.
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string ctrl = line.substr(a + 1, b - a - 1);
    const bool v2 = line.compare(0, a, "0") == 0 && ctrl.empty();
    const bool v1 = ctrl.find("memory") != std::string::npos;
    if (!v2 && !v1) continue;
    std::string path = line.substr(b + 1);
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    for (;;) {
      const std::string dir = root + (path == "/" ? "" : path);
      uint64_t limit = 0, usage = 0, inactive = 0;
      const bool has_limit = v2 ? ReadNumberFile(dir + "/memory.max", &limit)
                                : ReadNumberFile(dir + "/memory.limit_in_bytes", &limit);
      if (has_limit && limit < (uint64_t(1) << 60)) {
        ReadNumberFile(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"), &usage);
        // Page cache the kernel can drop counts as free, as in MemAvailable.
        ReadStatKey(dir + "/memory.stat", v2 ? "inactive_file" : "total_inactive_file", &inactive);
        const uint64_t used = usage > inactive ? usage - inactive : 0;
        const uint64_t room = limit > used ? limit - used : 0;
        if (room < avail) {
          avail = room;
          *what = std::string("cgroup ") + (v2 ? "memory.max " : "memory.limit_in_bytes ") +
                  FormatBytes(limit);
        }
        known = true;
      }
      if (path.empty() || path == "/") break;
      const size_t slash = path.rfind('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  }
  if (known) *bytes = avail;
  return known;
}

Status ParseMemorySize(const std::string& text, uint64_t* bytes) {
  std::string t;
  for (char ch : text)
    if (!std::isspace((unsigned char)ch)) t += (char)std::tolower((unsigned char)ch);
  if (t == "none") {
    *bytes = kNoMemoryCheck;
    return Status::OK();
  }
  const Status bad = Status::Error("--max-memory " + text +
                                   ": expected a size such as 8G, 512M, 1.5GiB or 1000000 (bytes), or none");
  size_t i = 0;
  while (i < t.size() && (std::isdigit((unsigned char)t[i]) || t[i] == '.')) ++i;
  if (i == 0) return bad;
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(t.substr(0, i), &used);
    if (used != i) return bad;
  } catch (...) {
    return bad;
  }
  std::string unit = t.substr(i);
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();  // "gb", "gib" -> "g", "gi"
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
  double mul = 1;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k")
    mul = 1024.0;
  else if (unit == "m")
    mul = 1024.0 * 1024;
  else if (unit == "g")
    mul = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mul = 1024.0 * 1024 * 1024 * 1024;
  else
    return bad;
  const double b = v * mul;
  if (!(b >= 1) || b > 1.0e18) return bad;
  *bytes = (uint64_t)b;
  return Status::OK();
}

std::string FormatBytes(uint64_t b) {
  char buf[48];
  const double x = (double)b;
  if (b >= (uint64_t(1) << 40))
    std::snprintf(buf, sizeof buf, "%.1f TiB", x / (double)(uint64_t(1) << 40));
  else if (b >= (uint64_t(1) << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", x / (double)(uint64_t(1) << 30));
  else if (b >= kMiB)
    std::snprintf(buf, sizeof buf, "%.0f MiB", x / (double)kMiB);
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.0f KiB", x / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", (unsigned long long)b);
  return buf;
}

Status CheckBuildMemory(const Recipe& r, const MemoryEstimate& e, uint64_t limit, bool from_flag,
                        const std::string& what, int local_processes) {
  const int k = std::max(1, local_processes);
  const uint64_t need = std::min<uint64_t>(UINT64_MAX / 2, e.total() * (uint64_t)k);
  if (limit == 0 || need <= limit) return Status::OK();
  std::string msg = r.toml_path + ": this build needs about " + FormatBytes(e.total());
  if (k > 1) msg += " per process (" + FormatBytes(need) + " for " + std::to_string(k) + " processes on this machine)";
  msg += " (" + e.Breakdown() + ") but ";
  msg += from_flag ? "--max-memory allows " + FormatBytes(limit)
                   : "the machine has " + FormatBytes(limit) + " available (" + what + ")";
  msg += "; reduce n_embd/n_layer/micro_batch_size/context or pass --max-memory SIZE (or none) to override";
  return Status::Error(msg);
}

}  // namespace modelc
