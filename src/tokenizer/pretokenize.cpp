#include "tokenizer/pretokenize.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace modelc {

void PreTokenize(std::string_view text, std::vector<std::string_view>* words) {
  // Decode once: code point, class and byte offset of every code point.
  const uint8_t* table = CptClassTable();
  struct Cpt {
    uint32_t cpt;
    CptClass cls;
  };
  std::vector<Cpt> cp;
  std::vector<size_t> off;
  cp.reserve(text.size());
  off.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    off.push_back(i);
    if (c < 0x80) {
      cp.push_back({c, static_cast<CptClass>(table[c])});
      ++i;
      continue;
    }
    const DecodedCpt d = DecodeUtf8Cpt(text, i);
    cp.push_back({d.cpt, d.cpt < kCodePointCount ? static_cast<CptClass>(table[d.cpt]) : CptClass::kOther});
    i += d.len;
  }
  const size_t n = cp.size();
  off.push_back(text.size());

  auto is = [&](size_t q, CptClass k) { return q < n && cp[q].cls == k; };
  auto emit = [&](size_t from, size_t to) {  // code points [from, to)
    words->push_back(text.substr(off[from], off[to] - off[from]));
  };

  size_t p = 0;
  while (p < n) {
    const uint32_t c = cp[p].cpt;
    // 's 't 'm 'd 're 've 'll
    if (c == '\'' && p + 1 < n) {
      const uint32_t a = cp[p + 1].cpt;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        emit(p, p + 2);
        p += 2;
        continue;
      }
      if (p + 2 < n) {
        const uint32_t b = cp[p + 2].cpt;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
          emit(p, p + 3);
          p += 3;
          continue;
        }
      }
    }
    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
    const size_t q = c == ' ' ? p + 1 : p;
    if (q < n && cp[q].cls != CptClass::kWhitespace) {
      const CptClass k = cp[q].cls;
      size_t e = q + 1;
      while (is(e, k)) ++e;
      emit(p, e);
      p = e;
      continue;
    }
    // "\s+(?!\S)" then "\s+"
    size_t w = 0;
    while (is(p + w, CptClass::kWhitespace)) ++w;
    if (w > 1 && p + w < n) {
      emit(p, p + w - 1);
      p += w - 1;
      continue;
    }
    if (w > 0) {
      emit(p, p + w);
      p += w;
      continue;
    }
    emit(p, p + 1);  // unreachable with these classes; kept as llama.cpp's fallback
    p += 1;
  }
}

}  // namespace modelc
