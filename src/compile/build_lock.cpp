#include "compile/build_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace modelc {

namespace {

std::string ReadSmall(int fd) {
  char buf[64];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, (size_t)n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char c : s)
    if (c < '0' || c > '9') return "";
  return s;
}

}  // namespace

std::string LockHolderPid(const std::string& lock_path) {
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  const std::string s = ReadSmall(fd);
  ::close(fd);
  return s.empty() ? "?" : s;
}

Status BuildLock::Acquire(const std::string& dir, const Wait& w, bool* interrupted) {
  namespace fs = std::filesystem;
  *interrupted = false;
  Release();
  const std::string path = (fs::path(dir) / "lock").string();
  bool told = false;
  int unreadable_polls = 0;
  for (;;) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::Error(dir + ": cannot create the build folder: " + ec.message());
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // the folder was removed by the build that just finished
      return Status::Error(path + ": cannot open the build lock: " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      // Still the file at `path`? (The holder unlinks it on release.)
      struct stat a {}, b {};
      if (::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
          a.st_ino == b.st_ino) {
        const std::string pid = std::to_string((long)::getpid()) + "\n";
        if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != (ssize_t)pid.size()) {
          // The lock holds without the pid; only the waiting message loses it.
        }
        fd_ = fd;
        path_ = path;
        return Status::OK();
      }
      ::close(fd);
      continue;
    }
    const int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      ::close(fd);
      return Status::Error(path + ": cannot lock the build folder: " + std::strerror(err));
    }
    std::string pid = ReadSmall(fd);
    ::close(fd);
    // The holder writes its pid just after locking: give it a moment.
    if (pid.empty() && ++unreadable_polls < 10 && w.wait) {
      ::usleep(20000);
      continue;
    }
    if (pid.empty()) pid = "?";
    if (!w.wait)
      return Status::Error(dir + ": another build (pid " + pid +
                           ") holds it; wait for it to finish, or leave out --no-wait to wait");
    if (!told) {
      told = true;
      if (w.on_wait) w.on_wait(pid);
    }
    for (double t = 0; t < w.poll_s; t += 0.02) {
      if (w.interrupted && w.interrupted()) {
        *interrupted = true;
        return Status::OK();
      }
      ::usleep(20000);
    }
  }
}

void BuildLock::Release() {
  if (fd_ < 0) return;
  struct stat a {}, b {};
  if (::fstat(fd_, &a) == 0 && ::stat(path_.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino)
    ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace modelc
