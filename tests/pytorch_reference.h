// Running a PyTorch reference (tests/reference/*.py) from a parity test: raw
// little-endian arrays in and out of a scratch folder, and the script's run.
#pragma once
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace modelc {
namespace pytorch_ref {

template <class T>
void WriteRaw(const std::filesystem::path& p, const std::vector<T>& v) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), (std::streamsize)(v.size() * sizeof(T)));
}

inline std::vector<float> ReadF32(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), {});
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// Runs `python3 tests/reference/<script> <dir>`; returns pclose()'s status
// (0: success; -1: could not start) and the combined output in *out.
inline int Run(const std::string& script, const std::filesystem::path& dir, std::string* out) {
  const std::string cmd = std::string("/usr/bin/python3 ") + MODELC_SOURCE_DIR + "/tests/reference/" + script +
                          " " + dir.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out->append(buf, n);
  return pclose(pipe);
}

}  // namespace pytorch_ref
}  // namespace modelc
