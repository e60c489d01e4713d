// Code points and their classes, as llama.cpp's gpt2 pre-tokenizer sees them.
//
// UTF-8 is decoded exactly as llama.cpp's unicode_cpt_from_utf8 does (the lead
// byte gives the length, continuation bytes must be 10xxxxxx, nothing else is
// checked: overlong forms and surrogates decode). A byte that does not start
// such a sequence is "invalid": llama.cpp reads it as U+FFFD (a symbol, class
// kOther); modelc gives it the same class but keeps the byte itself.
//
// Classes come from ICU (libicu): kLetter = general category L*, kNumber = N*,
// kWhitespace = the White_Space property (the 25 code points llama.cpp's
// unicode_set_whitespace holds), kOther = everything else.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace modelc {

enum class CptClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kWhitespace = 3 };

struct DecodedCpt {
  uint32_t cpt;   // code point (0xFFFD for an invalid byte)
  int len;        // bytes consumed (1 for an invalid byte)
};

// Decodes the code point at s[i]. REQUIRES: i < s.size().
inline DecodedCpt DecodeUtf8Cpt(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  const size_t n = s.size();
  if (c < 0x80) return {c, 1};
  if (!(c & 0x40)) return {0xFFFD, 1};
  if (!(c & 0x20)) {
    if (i + 1 >= n || (b(i + 1) & 0xC0) != 0x80) return {0xFFFD, 1};
    return {((c & 0x1Fu) << 6) | (b(i + 1) & 0x3Fu), 2};
  }
  if (!(c & 0x10)) {
    if (i + 2 >= n || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return {0xFFFD, 1};
    return {((c & 0x0Fu) << 12) | ((b(i + 1) & 0x3Fu) << 6) | (b(i + 2) & 0x3Fu), 3};
  }
  if (!(c & 0x08)) {
    if (i + 3 >= n || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 ||
        (b(i + 3) & 0xC0) != 0x80)
      return {0xFFFD, 1};
    return {((c & 0x07u) << 18) | ((b(i + 1) & 0x3Fu) << 12) | ((b(i + 2) & 0x3Fu) << 6) |
                (b(i + 3) & 0x3Fu),
            4};
  }
  return {0xFFFD, 1};
}

// Class of a code point (code points above U+10FFFF: kOther).
CptClass ClassOf(uint32_t cpt);
// The classes of U+0000..U+10FFFF as CptClass values (for loops that look up
// many code points).
const uint8_t* CptClassTable();
constexpr uint32_t kCodePointCount = 0x110000;

}  // namespace modelc
