// Helpers shared by the fuzz targets (fuzz/*_fuzz.cpp).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <string>

namespace modelc_fuzz {

// A fuzz-property failure: print and abort (libFuzzer saves the input).
[[noreturn]] inline void Fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "FUZZ PROPERTY FAILED: %s %s\n", what, detail.c_str());
  std::abort();
}
#define FUZZ_CHECK(cond, ...)                                        \
  do {                                                               \
    if (!(cond)) ::modelc_fuzz::Fail(#cond, std::string(__VA_ARGS__)); \
  } while (0)

// A per-process scratch folder, on tmpfs when there is one (/dev/shm),
// created at first use and removed at exit; inputs overwrite files in it.
inline const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("MODELC_FUZZ_TMP");
    std::string b = base && *base ? base : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    auto* d = new std::string(b + "/modelc-fuzz-XXXXXX");  // never freed: used by the atexit handler
    if (!mkdtemp(d->data())) Fail("mkdtemp", *d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return d;
  }();
  return *dir;
}

// Writes bytes to ScratchDir()/name (plain write, no fsync); returns the path.
inline std::string WriteScratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) Fail("fopen", path);
  if (size && std::fwrite(data, 1, size, f) != size) Fail("fwrite", path);
  std::fclose(f);
  return path;
}

}  // namespace modelc_fuzz
