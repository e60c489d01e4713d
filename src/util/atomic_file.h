// Atomic file output: write to "<path>.tmp.<pid>", fsync, rename over <path>,
// fsync the directory. A crash at any point leaves either the old file or the
// new one, never a partial file under <path>.
//
// Every write, fsync, close and rename is checked. A failure (disk full,
// RLIMIT_FSIZE, I/O error, ...) removes the temp file at once and returns one
// message that names the destination and the problem, e.g.
//   "m.gguf: write failed: File too large (EFBIG) after 1,048,576 bytes;
//    the earlier m.gguf is unchanged"
// Once a write has failed, later Write() and Commit() calls return the same
// error without touching the disk.
#pragma once
#include <cstdint>
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
  Status Commit();  // fsync, close, rename, fsync dir
  const std::string& temp_path() const { return tmp_; }
  uint64_t bytes_written() const { return written_; }

 private:
  // Closes and removes the temp file; the error for `what` failing with `err`.
  Status Fail(const std::string& what, int err);
  void Discard();

  std::string path_, tmp_;
  int fd_ = -1;
  bool existed_ = false;  // a file was at path_ when Open() ran
  bool committed_ = false;
  uint64_t written_ = 0;
  Status error_;  // the first failure, returned again by later calls
};

// Convenience: atomically replace `path` with `contents`.
Status WriteFileAtomic(const std::string& path, const std::string& contents);
// Reads a whole regular file. Anything else (a directory, a device, a FIFO,
// a socket) is refused by what it is, without blocking: the file is opened
// with O_NONBLOCK and checked with fstat before the first read.
Status ReadFile(const std::string& path, std::string* out);
// Opens a regular file for reading (the same checks as ReadFile) and returns
// its descriptor in *fd (the caller closes it).
Status OpenRegularFile(const std::string& path, int* fd);

// "1,048,576"
std::string GroupDigits(uint64_t n);
// "File too large (EFBIG)"
std::string ErrnoText(int err);

}  // namespace modelc
