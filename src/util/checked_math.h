// Overflow-checked size arithmetic for readers of untrusted files.
//
// Every product of dimensions, count x element size and offset + size that a
// reader computes from values read from a file goes through these: they
// return false instead of wrapping, and the caller reports the file as
// invalid. Fits() is the check before an allocation sized by a header
// field: the bytes it claims must lie inside the file.
#pragma once
#include <cstdint>
#include <initializer_list>

namespace modelc {

// *out = a * b; false (and *out unspecified) on overflow.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// *out = a + b; false on overflow.
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// *out = product of `factors` (1 for none); false on overflow.
inline bool CheckedProduct(std::initializer_list<uint64_t> factors, uint64_t* out) {
  uint64_t p = 1;
  for (uint64_t f : factors)
    if (!CheckedMul(p, f, &p)) return false;
  *out = p;
  return true;
}

// True when `count` elements of `elem_size` bytes starting at `offset` lie
// inside a buffer of `size` bytes: offset + count * elem_size <= size, with
// no step overflowing.
inline bool Fits(uint64_t offset, uint64_t count, uint64_t elem_size, uint64_t size) {
  uint64_t bytes = 0, end = 0;
  return CheckedMul(count, elem_size, &bytes) && CheckedAdd(offset, bytes, &end) && end <= size;
}

}  // namespace modelc
