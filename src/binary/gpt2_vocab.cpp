#include "binary/gpt2_vocab.h"

#include <array>
#include <unordered_map>

namespace modelc {

namespace {

bool MapsToItself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

const std::array<unsigned, 256>& CodePoints() {
  static const std::array<unsigned, 256> table = [] {
    std::array<unsigned, 256> t{};
    unsigned next = 0x100;
    for (unsigned b = 0; b < 256; ++b) t[b] = MapsToItself(b) ? b : next++;
    return t;
  }();
  return table;
}

std::string Utf8(unsigned cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

unsigned ByteToCodePoint(unsigned char b) { return CodePoints()[b]; }

std::vector<std::string> ByteLevelTokens() {
  std::vector<std::string> out;
  out.reserve(256);
  for (unsigned b = 0; b < 256; ++b) out.push_back(Utf8(CodePoints()[b]));
  return out;
}

int UnicodeToByte(const std::string& tok) {
  static const std::unordered_map<std::string, int> inverse = [] {
    std::unordered_map<std::string, int> m;
    const auto toks = ByteLevelTokens();
    for (int b = 0; b < 256; ++b) m.emplace(toks[b], b);
    return m;
  }();
  auto it = inverse.find(tok);
  return it == inverse.end() ? -1 : it->second;
}

}  // namespace modelc
