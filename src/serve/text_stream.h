// Streaming generated text: which bytes may be sent to a client now.
//
// A token may end in the middle of a UTF-8 character, and the text so far
// may end with the beginning of a stop sequence. TextStream holds both back
// until the next token decides, so a client never sees half a character nor
// text that a stop sequence later removes. The concatenation of the pieces
// equals Text() (the whole completion, cut before the first stop sequence).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace modelc::serve {

// Length of the longest prefix of s that does not end inside an incomplete
// UTF-8 sequence (a lead byte followed by fewer continuation bytes than it
// announces, all present ones valid). Invalid bytes count as complete: they
// are sent (and shown as U+FFFD), not held forever.
size_t Utf8CompleteLength(std::string_view s);

// Length of the longest suffix of `text` that is a proper prefix of one of
// `stops` (so it could still grow into that stop sequence).
size_t StopHoldback(std::string_view text, const std::vector<std::string>& stops);

class TextStream {
 public:
  // REQUIRES: no empty stop sequence.
  explicit TextStream(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Appends a token's bytes. Returns true when the text now contains a stop
  // sequence (the text is then cut before it; append no more).
  bool Append(std::string_view bytes);
  // The bytes that became safe to send since the last call (maybe "").
  std::string TakeReady();
  // At the end: everything not yet sent, held-back bytes included.
  std::string TakeRest();
  const std::string& Text() const { return text_; }
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string text_;
  size_t sent_ = 0;
  bool stopped_ = false;
};

}  // namespace modelc::serve
