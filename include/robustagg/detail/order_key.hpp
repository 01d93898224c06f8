// robustagg::detail: IEEE total order as signed integer keys.
//
// k = bits ^ ((bits >> 31) & 0x7fffffff) (arithmetic shift; 63 for double)
// maps a float to a signed integer whose ordinary order is the IEEE 754
// totalOrder: -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN. The map is its
// own inverse. Order-based rules sort keys, so a NaN from a hostile worker is an
// extreme value that gets trimmed like any other outlier.
#pragma once

#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>

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

/// Mean of two values, correctly rounded and never outside [a, b]: (a + b)/2
/// while the sum cannot overflow, a/2 + b/2 beyond (halving a denormal first
/// would lose its last bit: a/2 + b/2 of two denorm_min is 0). The two forms
/// agree bit for bit unless a half underflows; NaN and Inf take the second.
template <class T>
inline T midpoint(T a, T b) {
  constexpr T kHalfMax = std::numeric_limits<T>::max() / 2;
  if (std::fabs(a) <= kHalfMax && std::fabs(b) <= kHalfMax) return (a + b) * T(0.5);
  return a * T(0.5) + b * T(0.5);
}

}  // namespace robustagg::detail
