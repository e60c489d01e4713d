#include "compile/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/checked_math.h"
#include "util/sha256.h"

namespace modelc {

namespace {

constexpr char kMagic[8] = {'M', 'O', 'D', 'E', 'L', 'C', 'K', 'P'};
constexpr uint32_t kVersion = 1;
constexpr size_t kDigest = 32;

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE sizes");

// The project targets little-endian x86-64 only (see docs/design.md), so
// in-memory integers and floats are already in file byte order.
template <class T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool HexToBytes(const std::string& hex, std::string* out) {
  if (hex.size() != 2 * kDigest) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexVal(hex[i]), lo = HexVal(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back((char)(hi * 16 + lo));
  }
  return true;
}

std::string BytesToHex(const char* b, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[(unsigned char)b[i] >> 4]);
    s.push_back(d[(unsigned char)b[i] & 15]);
  }
  return s;
}

// Bounds-checked reader over the file contents. Counts come from the
// header: an array is allocated only after its bytes are known to be in the
// file (Fits: count x element size, then + position, overflow-checked).
struct Reader {
  const std::string& buf;
  size_t pos = 0;
  bool ok = true;
  bool Take(void* dst, size_t n) {
    if (!ok || !Fits(pos, n, 1, buf.size())) return ok = false;
    if (n) std::memcpy(dst, buf.data() + pos, n);  // dst may be null when n == 0
    pos += n;
    return true;
  }
  template <class T>
  bool Get(T* v) { return Take(v, sizeof(T)); }
  template <class T>
  bool GetArray(std::vector<T>* v, uint64_t n) {
    if (!ok || !Fits(pos, n, sizeof(T), buf.size())) return ok = false;
    v->resize(n);
    return Take(v->data(), n * sizeof(T));
  }
  // True when `n` records of `record` bytes are left (checked before a loop
  // that reads them one by one).
  bool Holds(uint64_t n, uint64_t record) const { return ok && Fits(pos, n, record, buf.size()); }
};

}  // namespace

std::string TrainStateHash(const TrainState& s) {
  Sha256 h;
  h.Update("modelc-train-state-v1\n");
  const uint64_t step = (uint64_t)s.step, P = s.params.size();
  h.Update(&step, sizeof step);
  h.Update(&P, sizeof P);
  h.Update(s.params.data(), P * sizeof(float));
  h.Update(s.m.data(), s.m.size() * sizeof(float));
  h.Update(s.v.data(), s.v.size() * sizeof(float));
  return h.HexDigest();
}

std::string NextChainHash(const std::string& prev_hex, int64_t step, const std::string& state_hex) {
  return Sha256Hex(prev_hex + ":" + std::to_string(step) + ":" + state_hex);
}

std::string ChainToJson(const std::vector<ChainLink>& chain) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const ChainLink& l : chain)
    j.push_back({{"step", l.step}, {"state", l.state_sha256}, {"chain", l.chain_sha256}});
  return j.dump();
}

Status ChainFromJson(const std::string& text, std::vector<ChainLink>* chain) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return Status::Error("hash chain is not a JSON array");
  chain->clear();
  std::string tmp;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("step") || !e["step"].is_number_integer() ||
        !e.contains("state") || !e["state"].is_string() || !e.contains("chain") ||
        !e["chain"].is_string())
      return Status::Error("hash chain entry " + std::to_string(chain->size()) + " is malformed");
    ChainLink l;
    l.step = e["step"].get<int64_t>();
    l.state_sha256 = e["state"].get<std::string>();
    l.chain_sha256 = e["chain"].get<std::string>();
    if (!HexToBytes(l.state_sha256, &tmp) || !HexToBytes(l.chain_sha256, &tmp))
      return Status::Error("hash chain entry " + std::to_string(chain->size()) + " has a bad sha256");
    if (!chain->empty() && l.step <= chain->back().step)
      return Status::Error("hash chain steps are not increasing at entry " + std::to_string(chain->size()));
    chain->push_back(l);
  }
  return Status::OK();
}

std::string CheckpointPath(const std::string& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "step-%09lld.ckpt", (long long)step);
  return (std::filesystem::path(dir) / name).string();
}

Status WriteCheckpoint(const std::string& path, const std::string& source_hash,
                       const TrainState& s) {
  nlohmann::ordered_json h;
  h["source_hash"] = source_hash;
  h["modelc_version"] = MODELC_VERSION;
  h["step"] = s.step;
  h["params"] = s.params.size();
  h["sources"] = s.tokens_per_source.size();
  h["train_points"] = s.train_curve.size();
  h["val_points"] = s.val_curve.size();
  h["links"] = s.chain.size();
  const std::string header = h.dump();
  if (s.m.size() != s.params.size() || s.v.size() != s.params.size())
    return Status::Error(path + ": internal error: moment sizes differ from parameter count");

  // Streamed to the temp file with a running sha256: no copy of the state
  // in memory (it can be most of the build's memory).
  AtomicFile f(path);
  MODELC_RETURN_IF_ERROR(f.Open());
  Sha256 h_all;
  Status st = Status::OK();
  auto emit = [&](const void* p, size_t n) {
    if (!st.ok() || n == 0) return;
    h_all.Update(p, n);
    st = f.Write(p, n);
  };
  auto emit_str = [&](const std::string& b) { emit(b.data(), b.size()); };
  std::string small;
  small.append(kMagic, sizeof kMagic);
  Put(&small, kVersion);
  Put(&small, (uint32_t)header.size());
  small += header;
  emit_str(small);
  emit(s.params.data(), s.params.size() * sizeof(float));
  emit(s.m.data(), s.m.size() * sizeof(float));
  emit(s.v.data(), s.v.size() * sizeof(float));
  emit(s.tokens_per_source.data(), s.tokens_per_source.size() * sizeof(uint64_t));
  small.clear();
  for (const auto* curve : {&s.train_curve, &s.val_curve})
    for (const LossPoint& p : *curve) {
      Put(&small, p.step);
      Put(&small, p.loss);
    }
  std::string bytes;
  for (const ChainLink& l : s.chain) {
    Put(&small, l.step);
    if (!HexToBytes(l.state_sha256, &bytes)) return Status::Error(path + ": bad state hash in chain");
    small += bytes;
    if (!HexToBytes(l.chain_sha256, &bytes)) return Status::Error(path + ": bad chain hash in chain");
    small += bytes;
  }
  emit_str(small);
  MODELC_RETURN_IF_ERROR(st);
  std::string digest;
  HexToBytes(h_all.HexDigest(), &digest);
  MODELC_RETURN_IF_ERROR(f.Write(digest.data(), digest.size()));
  return f.Commit();
}

Status ReadCheckpoint(const std::string& path, TrainState* s, std::string* source_hash,
                      std::string* version) {
  std::string buf;
  MODELC_RETURN_IF_ERROR(ReadFile(path, &buf));
  return ParseCheckpoint(buf, path, s, source_hash, version);
}

Status ParseCheckpoint(const std::string& buf, const std::string& path, TrainState* s,
                       std::string* source_hash, std::string* version) {
  auto corrupt = [&](const std::string& why) {
    return Status::Error(path + ": corrupt checkpoint: " + why);
  };
  if (buf.size() < sizeof kMagic + 8 + kDigest) return corrupt("file too short");
  if (std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0) return corrupt("not a modelc checkpoint (bad magic)");
  const std::string body = buf.substr(0, buf.size() - kDigest);
  if (BytesToHex(buf.data() + body.size(), kDigest) != Sha256Hex(body))
    return corrupt("checksum mismatch");
  Reader r{body, sizeof kMagic};
  uint32_t format = 0, hlen = 0;
  r.Get(&format);
  r.Get(&hlen);
  if (format != kVersion) return corrupt("unsupported format version " + std::to_string(format));
  if (!r.ok || !Fits(r.pos, hlen, 1, body.size())) return corrupt("bad header length");
  const auto h = nlohmann::json::parse(body.substr(r.pos, hlen), nullptr, false);
  r.pos += hlen;
  auto num = [&](const char* k) -> int64_t {
    return h.is_object() && h.contains(k) && h[k].is_number_integer() ? h[k].get<int64_t>() : -1;
  };
  if (!h.is_object() || !h.contains("source_hash") || !h["source_hash"].is_string())
    return corrupt("bad header");
  const int64_t step = num("step"), P = num("params"), S = num("sources"), nt = num("train_points"),
                nv = num("val_points"), nl = num("links");
  if (step < 0 || P < 0 || S < 0 || nt < 0 || nv < 0 || nl < 0) return corrupt("bad header fields");
  // The counts must describe exactly the rest of the body (before anything
  // is allocated): P * 3 floats, S u64, (nt + nv) * 16 and nl * 72 bytes.
  {
    uint64_t need = 0, part = 0;
    bool fits = CheckedProduct({uint64_t(P), 3, sizeof(float)}, &need) &&
                CheckedMul(uint64_t(S), sizeof(uint64_t), &part) && CheckedAdd(need, part, &need) &&
                CheckedAdd(uint64_t(nt), uint64_t(nv), &part) && CheckedMul(part, 16, &part) &&
                CheckedAdd(need, part, &need) && CheckedMul(uint64_t(nl), 8 + 2 * kDigest, &part) &&
                CheckedAdd(need, part, &need);
    if (!fits || need != body.size() - r.pos) return corrupt("sizes do not match the header");
  }
  TrainState t;
  t.step = step;
  r.GetArray(&t.params, P);
  r.GetArray(&t.m, P);
  r.GetArray(&t.v, P);
  r.GetArray(&t.tokens_per_source, S);
  for (auto [curve, n] : {std::pair{&t.train_curve, nt}, std::pair{&t.val_curve, nv}}) {
    if (!r.Holds(uint64_t(n), 16)) {
      r.ok = false;
      break;
    }
    curve->reserve(size_t(n));
    for (int64_t i = 0; i < n && r.ok; ++i) {
      LossPoint p{};
      r.Get(&p.step);
      r.Get(&p.loss);
      curve->push_back(p);
    }
  }
  if (r.Holds(uint64_t(nl), 8 + 2 * kDigest)) t.chain.reserve(size_t(nl));
  for (int64_t i = 0; i < nl && r.ok; ++i) {
    ChainLink l;
    char d[kDigest];
    r.Get(&l.step);
    if (r.Take(d, kDigest)) l.state_sha256 = BytesToHex(d, kDigest);
    if (r.Take(d, kDigest)) l.chain_sha256 = BytesToHex(d, kDigest);
    t.chain.push_back(l);
  }
  if (!r.ok || r.pos != body.size()) return corrupt("sizes do not match the header");
  *s = std::move(t);
  *source_hash = h["source_hash"].get<std::string>();
  if (version)
    *version = h.contains("modelc_version") && h["modelc_version"].is_string()
                   ? h["modelc_version"].get<std::string>()
                   : "";
  return Status::OK();
}

std::vector<std::string> ListCheckpoints(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> v;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return v;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 19 && name.rfind("step-", 0) == 0 && name.substr(14) == ".ckpt")
      v.push_back(e.path().string());
  }
  std::sort(v.begin(), v.end());  // zero-padded step: name order is step order
  return v;
}

bool FindResumePoint(const std::string& dir, const std::string& source_hash, size_t n_params,
                     TrainState* s, std::string* path, std::vector<std::string>* notes) {
  const auto files = ListCheckpoints(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    TrainState t;
    std::string src, version;
    Status st = ReadCheckpoint(*it, &t, &src, &version);
    if (!st.ok()) {
      notes->push_back("skipping " + st.message());
      continue;
    }
    if (src != source_hash) {
      notes->push_back("skipping " + *it + ": made from a different source (" + src.substr(0, 12) + ")");
      continue;
    }
    if (version != MODELC_VERSION) {
      notes->push_back("skipping " + *it + ": made by modelc " + version);
      continue;
    }
    if (t.params.size() != n_params) {
      notes->push_back("skipping " + *it + ": parameter count does not match the model");
      continue;
    }
    *s = std::move(t);
    *path = *it;
    return true;
  }
  return false;
}

}  // namespace modelc
