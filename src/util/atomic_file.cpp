#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace modelc {

std::string GroupDigits(uint64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

std::string ErrnoText(int err) {
  std::string s = std::strerror(err);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = ::strerrorname_np(err)) s += std::string(" (") + name + ")";
#endif
  return s;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (!committed_) Discard();
}

void AtomicFile::Discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_) ::unlink(tmp_.c_str());
}

Status AtomicFile::Fail(const std::string& what, int err) {
  Discard();
  std::string msg = path_ + ": " + what + ": " + ErrnoText(err);
  if (what == "write failed") msg += " after " + GroupDigits(written_) + " bytes";
  msg += existed_ ? "; the earlier " + path_ + " is unchanged" : "; " + path_ + " was not written";
  error_ = Status::Error(msg);
  return error_;
}

Status AtomicFile::Open() {
  struct stat sb;
  existed_ = ::lstat(path_.c_str(), &sb) == 0;
  if (fd_ >= 0 || !error_.ok() || committed_)
    return Status::Error(path_ + ": internal error: AtomicFile opened twice");
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int err = errno;
    // Not created, so nothing to remove; name the file we tried to create.
    return error_ = Status::Error(path_ + ": cannot create " + tmp_ + ": " + ErrnoText(err) +
                                  (existed_ ? "; the earlier " + path_ + " is unchanged" : ""));
  }
  return Status::OK();
}

Status AtomicFile::Write(const void* data, size_t n) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Status::Error(path_ + ": internal error: write to a file that is not open");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    // write() may be partial (a limit or a full disk reached mid-buffer, a
    // signal); the next call then reports the error.
    const ssize_t k = ::write(fd_, p, std::min<size_t>(n, size_t(1) << 30));
    if (k < 0) {
      if (errno == EINTR) continue;
      return Fail("write failed", errno);
    }
    if (k == 0) return Fail("write failed", EIO);
    p += k;
    n -= size_t(k);
    written_ += uint64_t(k);
  }
  return Status::OK();
}

Status AtomicFile::Commit() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Status::Error(path_ + ": internal error: commit of a file that is not open");
  // Delayed allocation and network file systems report a full disk at fsync
  // or close, not at write.
  if (::fsync(fd_) != 0) return Fail("fsync failed after " + GroupDigits(written_) + " bytes", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Fail("close failed after " + GroupDigits(written_) + " bytes", errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) return Fail("rename from " + tmp_ + " failed", errno);
  committed_ = true;
  // Make the rename itself durable. The new file is in place by now, so a
  // failure here is reported but there is nothing to undo.
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(path_, ec).parent_path();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const bool bad = ::fsync(dfd) != 0 && errno != EINVAL && errno != EROFS;  // some file systems cannot
    const int err = errno;
    ::close(dfd);
    if (bad)
      return error_ = Status::Error(path_ + ": written, but syncing its folder " + dir.string() +
                                    " failed: " + ErrnoText(err));
  }
  return Status::OK();
}

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  MODELC_RETURN_IF_ERROR(f.Open());
  MODELC_RETURN_IF_ERROR(f.Write(contents.data(), contents.size()));
  return f.Commit();
}

Status OpenRegularFile(const std::string& path, int* fd) {
  *fd = -1;
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int f = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f < 0) return Status::Error(path + ": cannot open: " + ErrnoText(errno));
  struct stat st;
  if (::fstat(f, &st) != 0) {
    const int err = errno;
    ::close(f);
    return Status::Error(path + ": cannot stat: " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(f);
    const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return Status::Error(path + " is " + what + ", not a regular file");
  }
  // Regular files never block; reads below are plain blocking reads.
  ::fcntl(f, F_SETFL, ::fcntl(f, F_GETFL) & ~O_NONBLOCK);
  *fd = f;
  return Status::OK();
}

Status ReadFile(const std::string& path, std::string* out) {
  int fd;
  MODELC_RETURN_IF_ERROR(OpenRegularFile(path, &fd));
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::Error(path + ": read error after " + std::to_string(data.size()) + " bytes: " + ErrnoText(err));
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  *out = std::move(data);
  return Status::OK();
}

}  // namespace modelc
