// Atomic file output: write to "<path>.tmp.<pid>", fsync, rename over <path>,
// fsync the directory. A crash at any point leaves either the old file or the
// new one, never a partial file under <path>.
#pragma once
#include <cstdio>
#include <string>

#include "util/status.h"

namespace modelc {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // discards the temp file unless Commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status Open();
  Status Write(const void* data, size_t n);
  Status Commit();  // flush, fsync, rename, fsync dir
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  bool committed_ = false;
};

// Convenience: atomically replace `path` with `contents`.
Status WriteFileAtomic(const std::string& path, const std::string& contents);
// Reads a whole file.
Status ReadFile(const std::string& path, std::string* out);

}  // namespace modelc
