// robustagg::detail: IEEE total order as signed integer keys.
//
// k = bits ^ ((bits >> 31) & 0x7fffffff) (arithmetic shift; 63 for double)
// maps a float to a signed integer whose ordinary order is the IEEE 754
// totalOrder: -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN. The map is its
// own inverse. Order-based rules sort keys, so a NaN from a hostile worker is an
// extreme value that gets trimmed like any other outlier.
#pragma once

#include <cstdint>
#include <cstring>

namespace robustagg::detail {

template <class T>
struct key_of;
template <>
struct key_of<float> {
  using type = std::int32_t;
};
template <>
struct key_of<double> {
  using type = std::int64_t;
};
template <class T>
using key_t = typename key_of<T>::type;

template <class T>
inline key_t<T> to_key(T x) {
  using K = key_t<T>;
  K b;
  std::memcpy(&b, &x, sizeof b);
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));  // 0x7fff...
  return b ^ ((b >> kShift) & kMagnitude);
}

template <class T>
inline T from_key(key_t<T> k) {
  using K = key_t<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  const K b = k ^ ((k >> kShift) & kMagnitude);
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// Mean of two values without overflow: a/2 + b/2 (exact when a == b).
template <class T>
inline T midpoint(T a, T b) {
  return a * T(0.5) + b * T(0.5);
}

}  // namespace robustagg::detail
