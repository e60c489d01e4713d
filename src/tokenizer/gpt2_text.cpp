#include "tokenizer/gpt2_text.h"

#include <vector>

#include "binary/gpt2_vocab.h"
#include "tokenizer/unicode.h"

namespace modelc {

std::string BytesToGpt2Text(std::string_view bytes) {
  static const std::vector<std::string> sym = ByteLevelTokens();
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) s += sym[c];
  return s;
}

bool Gpt2TextToBytes(std::string_view text, std::string* bytes) {
  bytes->clear();
  for (size_t i = 0; i < text.size();) {
    const DecodedCpt d = DecodeUtf8Cpt(text, i);
    const int b = UnicodeToByte(std::string(text.substr(i, d.len)));
    if (b < 0) return false;
    bytes->push_back((char)b);
    i += d.len;
  }
  return true;
}

}  // namespace modelc
