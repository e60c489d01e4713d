// The build folder's lock: two builds of the same output must not use one
// <stem>.build/ at the same time. flock(2) on "<build folder>/lock", which
// holds the pid of the build that has it. A second build waits for it
// (polling, so Ctrl-C still works) or, with --no-wait, fails at once naming
// the pid. The lock is released when the process ends in any way (the
// kernel drops flock locks with the last descriptor), so a killed build
// never leaves a stale lock, only a lock file the next build reuses.
//
// Release unlinks the lock file while still holding the lock; a build that
// was waiting on the unlinked file notices (its descriptor's inode is no
// longer the one at the path) and tries again, so two builds never both
// believe they hold it.
#pragma once
#include <functional>
#include <string>

#include "util/status.h"

namespace modelc {

class BuildLock {
 public:
  BuildLock() = default;
  ~BuildLock() { Release(); }
  BuildLock(const BuildLock&) = delete;
  BuildLock& operator=(const BuildLock&) = delete;

  struct Wait {
    bool wait = true;  // false: fail at once when held
    // Called once, when the lock is found held: the holder's pid ("?" if it
    // could not be read).
    std::function<void(const std::string& holder_pid)> on_wait;
    // Polled while waiting; true gives up (Acquire returns OK, *interrupted).
    std::function<bool()> interrupted;
    double poll_s = 0.1;
  };

  // Creates `dir` if needed and takes its lock.
  Status Acquire(const std::string& dir, const Wait& w, bool* interrupted);
  // Removes the lock file and releases the lock (no-op when not held).
  void Release();
  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// The pid written in a lock file ("?" if none could be read).
std::string LockHolderPid(const std::string& lock_path);

}  // namespace modelc
