// Fixed-order row reductions: a virtual lane width of 16 and a fixed
// pairwise tree. Element i always goes to lane i % 16; lanes are combined
// (l, l+8), then (l, l+4), (l, l+2), (l, l+1). The order depends on n only —
// never on threads or the machine's vector width — and the plain loop below
// vectorizes without reassociation.
#pragma once
#include <cstdint>

namespace modelc {

constexpr int kReduceLanes = 16;

template <class T>
inline T TreeCombine(T* acc) {
  for (int w = kReduceLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
  return acc[0];
}

// sum_i x[i]
template <class T>
inline T RowSum(const T* x, int64_t n) {
  T acc[kReduceLanes] = {};
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes)
    for (int l = 0; l < kReduceLanes; ++l) acc[l] = acc[l] + x[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] = acc[l] + x[i + l];
  return TreeCombine(acc);
}

// sum_i x[i] * y[i]   (multiply then add: two roundings, never fused)
template <class T>
inline T RowDot(const T* x, const T* y, int64_t n) {
  T acc[kReduceLanes] = {};
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes)
    for (int l = 0; l < kReduceLanes; ++l) acc[l] = acc[l] + x[i + l] * y[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] = acc[l] + x[i + l] * y[i + l];
  return TreeCombine(acc);
}

// sum_i (x[i] - m)^2
template <class T>
inline T RowSqDev(const T* x, T m, int64_t n) {
  T acc[kReduceLanes] = {};
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes)
    for (int l = 0; l < kReduceLanes; ++l) {
      const T d = x[i + l] - m;
      acc[l] = acc[l] + d * d;
    }
  for (int l = 0; i + l < n; ++l) {
    const T d = x[i + l] - m;
    acc[l] = acc[l] + d * d;
  }
  return TreeCombine(acc);
}

}  // namespace modelc
