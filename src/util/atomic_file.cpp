#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace modelc {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

Status AtomicFile::Open() {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) return Status::Error(tmp_ + ": cannot create: " + std::strerror(errno));
  return Status::OK();
}

Status AtomicFile::Write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n)
    return Status::Error(tmp_ + ": write failed: " + std::strerror(errno));
  return Status::OK();
}

Status AtomicFile::Commit() {
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
    return Status::Error(tmp_ + ": flush failed: " + std::strerror(errno));
  std::fclose(f_);
  f_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    return Status::Error(path_ + ": rename failed: " + std::strerror(errno));
  committed_ = true;
  std::filesystem::path dir = std::filesystem::absolute(path_).parent_path();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::OK();
}

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  MODELC_RETURN_IF_ERROR(f.Open());
  MODELC_RETURN_IF_ERROR(f.Write(contents.data(), contents.size()));
  return f.Commit();
}

Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::OK();
}

}  // namespace modelc
