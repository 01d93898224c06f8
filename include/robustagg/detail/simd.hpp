// robustagg::detail: the SIMD shim over xsimd.
//
// The architecture is chosen at compile time from the compiler's flags
// (xsimd::default_arch): SSE2 on a plain x86-64 build, AVX2 or AVX-512 with
// -march=native. The library never adds -march itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "../gradients.hpp"
#include "order_key.hpp"

#if defined(__GNUC__)
#define ROBUSTAGG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ROBUSTAGG_ALWAYS_INLINE inline
#endif

namespace robustagg::detail {

using simd_arch = xsimd::default_arch;

template <class T>
using vec = xsimd::batch<T, simd_arch>;

/// Batch of order keys (int32 lanes for float, int64 lanes for double).
template <class T>
using kvec = xsimd::batch<key_t<T>, simd_arch>;

/// Lanes per batch of T.
template <class T>
inline constexpr Index simd_width = Index(vec<T>::size);

/// The compile-time SIMD architecture ("sse2", "avx2", "avx512bw", ...).
inline const char* simd_arch_name() { return simd_arch::name(); }

/// Order keys of a batch (IEEE total order as signed integers; see order_key.hpp).
template <class T>
ROBUSTAGG_ALWAYS_INLINE kvec<T> to_keys(const vec<T>& x) {
  using K = key_t<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  const kvec<T> b = xsimd::bitwise_cast<kvec<T>>(x);
  return b ^ ((b >> kShift) & kvec<T>(kMagnitude));
}

/// The inverse of to_keys.
template <class T>
ROBUSTAGG_ALWAYS_INLINE vec<T> from_keys(const kvec<T>& k) {
  using K = key_t<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  return xsimd::bitwise_cast<vec<T>>(k ^ ((k >> kShift) & kvec<T>(kMagnitude)));
}

/// Loads a batch of keys from W values at p.
template <class T>
ROBUSTAGG_ALWAYS_INLINE kvec<T> load_keys(const T* p) {
  return to_keys<T>(vec<T>::load_unaligned(p));
}

/// Loads simd_width<double> values of T at p as doubles. For float this is a
/// widening load (vcvtps2pd); xsimd 8.1 only offers it through a scalar copy.
template <class T>
ROBUSTAGG_ALWAYS_INLINE vec<double> load_as_double(const T* p) {
  if constexpr (std::is_same_v<T, double>) {
    return vec<double>::load_unaligned(p);
  } else {
#if defined(__AVX512F__)
    if constexpr (vec<double>::size == 8) return vec<double>(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#endif
#if defined(__AVX__)
    if constexpr (vec<double>::size == 4) return vec<double>(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#endif
#if defined(__SSE2__)
    if constexpr (vec<double>::size == 2) {
      // 2 floats, any alignment: memcpy, not _mm_load_sd on a cast pointer
      // (a misaligned double load is UB; UBSan reports it). Compiles to movq.
      double bits;
      std::memcpy(&bits, p, sizeof bits);
      return vec<double>(_mm_cvtps_pd(_mm_castpd_ps(_mm_set_sd(bits))));
    }
#endif
    return vec<double>::load_unaligned(p);  // other architectures: xsimd's conversion
  }
}

}  // namespace robustagg::detail
