// Status: the result of an operation at an I/O or validation edge.
// OK, or an error with one human-readable message that names the file, the
// place and the problem (e.g. "model.toml:12:3: [train] steps: must be >= 1").
#pragma once
#include <string>
#include <utility>

namespace modelc {

class Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status Error(std::string msg) { return Status(std::move(msg), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return msg_; }
  // Prefixes the message with context ("reading foo.gguf: ...").
  Status Wrap(const std::string& context) const {
    return ok() ? *this : Error(context + ": " + msg_);
  }

 private:
  Status(std::string m, bool f) : msg_(std::move(m)), failed_(f) {}
  std::string msg_;
  bool failed_ = false;
};

#define MODELC_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::modelc::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)

}  // namespace modelc
