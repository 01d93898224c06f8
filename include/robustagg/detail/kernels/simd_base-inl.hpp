// robustagg::detail kernels: the batch types and loads of the architecture `arch`
// (chosen by the includer), order keys on batches.
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

template <class T>
using key_type = key_t<T>;  // scalar-inl.hpp

template <class T>
using vec = xsimd::batch<T, arch>;

/// Batch of order keys (int32 lanes for float, int64 lanes for double).
template <class T>
using kvec = xsimd::batch<key_type<T>, arch>;

template <class T>
inline constexpr Index simd_width = Index(vec<T>::size);

template <class T>
inline constexpr T kHalfMax = std::numeric_limits<T>::max() / 2;
inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

inline Index imin(Index a, Index b) { return a < b ? a : b; }
inline Index imax(Index a, Index b) { return a < b ? b : a; }


template <class T>
ROBUSTAGG_KERNEL_INLINE kvec<T> to_keys(const vec<T>& x) {
  using K = key_type<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  const kvec<T> b = xsimd::bitwise_cast<kvec<T>>(x);
  return b ^ ((b >> kShift) & kvec<T>(kMagnitude));
}

template <class T>
ROBUSTAGG_KERNEL_INLINE vec<T> from_keys(const kvec<T>& k) {
  using K = key_type<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  return xsimd::bitwise_cast<vec<T>>(k ^ ((k >> kShift) & kvec<T>(kMagnitude)));
}

template <class T>
ROBUSTAGG_KERNEL_INLINE kvec<T> load_keys(const T* p) {
  return to_keys<T>(vec<T>::load_unaligned(p));
}

/// Loads simd_width<double> values of T at p as doubles (a widening load for
/// float; xsimd 8.1 only offers it through a scalar copy).
template <class T>
ROBUSTAGG_KERNEL_INLINE vec<double> load_as_double(const T* p) {
  if constexpr (std::is_same_v<T, double>) {
    return vec<double>::load_unaligned(p);
  } else {
    // VD is vec<double>, spelled dependent on T so that clang checks the
    // intrinsic branches of other widths only if they are taken (a batch of
    // 8 doubles has no constructor from __m128d).
    using VD = std::conditional_t<sizeof(T) != 0, vec<double>, void>;
#if defined(__AVX512F__)
    if constexpr (VD::size == 8) return VD(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#endif
#if defined(__AVX__)
    if constexpr (VD::size == 4) return VD(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#endif
#if defined(__SSE2__)
    if constexpr (VD::size == 2) {
      // 2 floats, any alignment: memcpy, not _mm_load_sd on a cast pointer
      // (a misaligned double load is UB). Compiles to movq.
      double bits;
      std::memcpy(&bits, p, sizeof bits);
      return VD(_mm_cvtps_pd(_mm_castpd_ps(_mm_set_sd(bits))));
    }
#endif
    alignas(64) double tmp[vec<double>::size];
    ROBUSTAGG_UNROLL
    for (std::size_t l = 0; l < vec<double>::size; ++l) tmp[l] = double(p[l]);
    return vec<double>::load_aligned(tmp);
  }
}

/// Stores doubles as T (narrowing for float).
template <class T>
ROBUSTAGG_KERNEL_INLINE void store_from_double(const vec<double>& m, T* out) {
  if constexpr (std::is_same_v<T, double>) {
    m.store_unaligned(out);
  } else {
    constexpr Index WD = simd_width<double>;
    alignas(64) double tmp[WD];
    m.store_aligned(tmp);
    ROBUSTAGG_UNROLL
    for (Index l = 0; l < WD; ++l) out[l] = T(tmp[l]);
  }
}
