#include "tokenizer/unicode.h"

#include <unicode/uchar.h>

#include <vector>

namespace modelc {
namespace {

constexpr uint32_t kCodePoints = kCodePointCount;

// One byte per code point, filled from ICU once (about 1 MiB, a few ms).
const std::vector<uint8_t>& Table() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(kCodePoints);
    for (uint32_t c = 0; c < kCodePoints; ++c) {
      const UChar32 u = static_cast<UChar32>(c);
      CptClass k = CptClass::kOther;
      if (u_hasBinaryProperty(u, UCHAR_WHITE_SPACE)) {
        k = CptClass::kWhitespace;
      } else {
        const int32_t mask = U_GET_GC_MASK(u);
        if (mask & U_GC_L_MASK) k = CptClass::kLetter;
        else if (mask & U_GC_N_MASK) k = CptClass::kNumber;
      }
      t[c] = static_cast<uint8_t>(k);
    }
    return t;
  }();
  return table;
}

}  // namespace

const uint8_t* CptClassTable() { return Table().data(); }

CptClass ClassOf(uint32_t cpt) {
  if (cpt >= kCodePoints) return CptClass::kOther;
  return static_cast<CptClass>(Table()[cpt]);
}

}  // namespace modelc
