#include "tokenizer/pretokenize.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace modelc {

void PreTokenize(std::string_view text, std::vector<std::string_view>* words) {
  // Decode once: code point, class and byte offset of every code point.
  std::vector<uint32_t> cpt;
  std::vector<CptClass> cls;
  std::vector<size_t> off;
  cpt.reserve(text.size());
  cls.reserve(text.size());
  off.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    DecodedCpt d;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) d = {c, 1};
    else d = DecodeUtf8Cpt(text, i);
    off.push_back(i);
    cpt.push_back(d.cpt);
    cls.push_back(ClassOf(d.cpt));
    i += d.len;
  }
  const size_t n = cpt.size();
  off.push_back(text.size());

  // has(q): q is inside the text.
  auto is = [&](size_t q, CptClass k) { return q < n && cls[q] == k; };
  auto emit = [&](size_t from, size_t to) {  // code points [from, to)
    words->push_back(text.substr(off[from], off[to] - off[from]));
  };

  size_t p = 0;
  while (p < n) {
    const uint32_t c = cpt[p];
    // 's 't 'm 'd 're 've 'll
    if (c == '\'' && p + 1 < n) {
      const uint32_t a = cpt[p + 1];
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        emit(p, p + 2);
        p += 2;
        continue;
      }
      if (p + 2 < n) {
        const uint32_t b = cpt[p + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
          emit(p, p + 3);
          p += 3;
          continue;
        }
      }
    }
    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
    const size_t q = c == ' ' ? p + 1 : p;
    if (q < n && cls[q] != CptClass::kWhitespace) {
      const CptClass k = cls[q];
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
