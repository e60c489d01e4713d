#include "serve/text_stream.h"

#include <algorithm>

namespace modelc::serve {

size_t Utf8CompleteLength(std::string_view s) {
  const size_t n = s.size();
  // The last lead byte among the last 4 bytes, if only continuation bytes follow it.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = (unsigned char)s[n - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for its lead
    size_t need = 0;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) need = 3;
    else if (c >= 0xF0 && c <= 0xF4) need = 4;
    // ASCII, an invalid lead, or a complete sequence: nothing to hold.
    if (need == 0 || back >= need) return n;
    return n - back;
  }
  return n;
}

size_t StopHoldback(std::string_view text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const std::string& s : stops) {
    const size_t max_len = std::min(text.size(), s.size() - 1);
    for (size_t len = max_len; len > hold; --len)
      if (text.substr(text.size() - len) == std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
  }
  return hold;
}

bool TextStream::Append(std::string_view bytes) {
  if (stopped_) return true;
  // A stop sequence can only be found where the new bytes end it: search
  // from the longest stop's length before the old end.
  size_t longest = 0;
  for (const std::string& s : stops_) longest = std::max(longest, s.size());
  const size_t from = text_.size() > longest ? text_.size() - longest : 0;
  text_.append(bytes);
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, text_.find(s, from));
  if (cut != std::string::npos) {
    text_.resize(std::max(cut, sent_));
    stopped_ = true;
  }
  return stopped_;
}

std::string TextStream::TakeReady() {
  if (stopped_) return TakeRest();
  size_t end = text_.size() - StopHoldback(text_, stops_);
  end = Utf8CompleteLength(std::string_view(text_).substr(0, end));
  if (end <= sent_) return "";
  std::string out = text_.substr(sent_, end - sent_);
  sent_ = end;
  return out;
}

std::string TextStream::TakeRest() {
  std::string out = text_.substr(sent_);
  sent_ = text_.size();
  return out;
}

}  // namespace modelc::serve
