// robustagg::detail: the SIMD kernels, written once for any xsimd
// architecture.
//
// Included by exactly one translation unit per architecture (the library's
// src/kernels_<arch>_<type>.cpp, compiled with that architecture's -m flags),
// with ROBUSTAGG_KERNEL_NS naming a namespace of its own (k_sse2, k_avx2, ...).
// Everything here lives in that namespace, and every standard algorithm used
// is instantiated with a comparator type local to it, so the same function
// compiled with different -m flags never shares a symbol (the linker would
// keep one copy for all). It uses xsimd::default_arch: the architecture the
// translation unit's flags enable.
//
// The kernels' contracts are in kernels.hpp; the engines that call them
// (tiles, threads, workspaces) in coordinate.hpp, distances.hpp and detox.hpp.
#pragma once

#ifndef ROBUSTAGG_KERNEL_NS
#error "kernels_impl.hpp is included by the kernel translation units only (src/kernels_*.cpp)"
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "kernels.hpp"
#include "networks.hpp"
#include "noise_kernel.hpp"

#if defined(__GNUC__)
#define ROBUSTAGG_KERNEL_INLINE inline __attribute__((always_inline))
#else
#define ROBUSTAGG_KERNEL_INLINE inline
#endif

namespace robustagg::detail::ROBUSTAGG_KERNEL_NS {

using arch = xsimd::default_arch;

template <class T>
using key_type = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

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

// ---------------------------------------------------------------------------
// Order keys: IEEE totalOrder as signed integers (order_key.hpp has the
// definition and the scalar reference the tests use).

template <class T>
ROBUSTAGG_KERNEL_INLINE key_type<T> to_key(T x) {
  using K = key_type<T>;
  K b;
  std::memcpy(&b, &x, sizeof b);
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  return b ^ ((b >> kShift) & kMagnitude);
}

template <class T>
ROBUSTAGG_KERNEL_INLINE T from_key(key_type<T> k) {
  using K = key_type<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  const K b = k ^ ((k >> kShift) & kMagnitude);
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// detail::midpoint (order_key.hpp), the same arithmetic.
template <class T>
ROBUSTAGG_KERNEL_INLINE T midpoint(T a, T b) {
  if (std::fabs(a) <= kHalfMax<T> && std::fabs(b) <= kHalfMax<T>) return (a + b) * T(0.5);
  return a * T(0.5) + b * T(0.5);
}

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
#if defined(__AVX512F__)
    if constexpr (vec<double>::size == 8) return vec<double>(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#endif
#if defined(__AVX__)
    if constexpr (vec<double>::size == 4) return vec<double>(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#endif
#if defined(__SSE2__)
    if constexpr (vec<double>::size == 2) {
      // 2 floats, any alignment: memcpy, not _mm_load_sd on a cast pointer
      // (a misaligned double load is UB). Compiles to movq.
      double bits;
      std::memcpy(&bits, p, sizeof bits);
      return vec<double>(_mm_cvtps_pd(_mm_castpd_ps(_mm_set_sd(bits))));
    }
#endif
    alignas(64) double tmp[vec<double>::size];
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
    for (Index l = 0; l < WD; ++l) out[l] = T(tmp[l]);
  }
}

/// Sorts a short run of keys ascending (insertion sort up to 32, else
/// std::sort with a comparator local to this namespace).
template <class K>
inline void sort_keys(K* k, Index n) {
  if (n <= 32) {
    for (Index i = 1; i < n; ++i) {
      const K v = k[i];
      Index j = i;
      for (; j > 0 && k[j - 1] > v; --j) k[j] = k[j - 1];
      k[j] = v;
    }
  } else {
    struct Less {
      bool operator()(K a, K b) const { return a < b; }
    };
    std::sort(k, k + n, Less{});
  }
}

// ---------------------------------------------------------------------------
// Networks over batches.

template <int Lo, int Hi, int Kind, class V>
ROBUSTAGG_KERNEL_INLINE void compare_exchange(V* v) {
  if constexpr (Kind == 3) {
    const V a = v[Lo], b = v[Hi];
    v[Lo] = xsimd::min(a, b);
    v[Hi] = xsimd::max(a, b);
  } else if constexpr (Kind == 1) {
    v[Lo] = xsimd::min(v[Lo], v[Hi]);
  } else {
    v[Hi] = xsimd::max(v[Lo], v[Hi]);
  }
}

template <class Net, class V, std::size_t... I>
ROBUSTAGG_KERNEL_INLINE void apply_fixed(V* v, std::index_sequence<I...>) {
  (void)v;
  (compare_exchange<Net::value.c[I].lo, Net::value.c[I].hi, Net::value.c[I].kind>(v), ...);
}

/// Applies the compile-time network Net (SortNetwork<N> or MedianNetwork<N>).
template <class Net, class V>
ROBUSTAGG_KERNEL_INLINE void apply_network(V* v) {
  apply_fixed<Net>(v, std::make_index_sequence<std::size_t(Net::value.count)>{});
}

/// Applies a run-time comparator list to batches held in memory.
template <class V>
inline void apply_network(V* v, const Comparator* net, int count) {
  for (int c = 0; c < count; ++c) {
    const Comparator x = net[c];
    const V a = v[x.lo], b = v[x.hi];
    if (x.kind & 1) v[x.lo] = xsimd::min(a, b);
    if (x.kind & 2) v[x.hi] = xsimd::max(a, b);
  }
}

// ---------------------------------------------------------------------------
// Coordinate kernels. A block kernel processes `count` coordinates (a multiple
// of the SIMD width W) starting at column j0 of n row pointers.

/// midpoint lane by lane.
template <class T>
ROBUSTAGG_KERNEL_INLINE vec<T> midpoint_batch(const vec<T>& a, const vec<T>& b) {
  const vec<T> half(T(0.5));
  const vec<T> half_max(kHalfMax<T>);
  const auto small = (xsimd::abs(a) <= half_max) & (xsimd::abs(b) <= half_max);
  return xsimd::select(small, (a + b) * half, a * half + b * half);
}

template <class T>
using block_fn = void (*)(const T* const* rows, Index j0, Index count, T* dst);

/// dst[j] = median of rows[.][j0 + j], j in [0, count).
template <class T, int N>
void median_block(const T* const* rows, Index j0, Index count, T* dst) {
  constexpr Index W = simd_width<T>;
  const T* r[N];
  for (int i = 0; i < N; ++i) r[i] = rows[i] + j0;
  for (Index j = 0; j + W <= count; j += W) {
    kvec<T> v[N];
    for (int i = 0; i < N; ++i) v[i] = load_keys<T>(r[i] + j);
    apply_network<MedianNetwork<N>>(v);
    if constexpr (N % 2 == 1) {
      from_keys<T>(v[N / 2]).store_unaligned(dst + j);
    } else {
      midpoint_batch<T>(from_keys<T>(v[N / 2 - 1]), from_keys<T>(v[N / 2])).store_unaligned(dst + j);
    }
  }
}

/// Sorted values of each group of W coordinates: dst[(g * N + i) * W + lane]
/// is the i-th smallest value of coordinate j0 + g * W + lane.
template <class T, int N>
void sort_block(const T* const* rows, Index j0, Index count, T* dst) {
  constexpr Index W = simd_width<T>;
  const T* r[N];
  for (int i = 0; i < N; ++i) r[i] = rows[i] + j0;
  for (Index j = 0; j + W <= count; j += W) {
    kvec<T> v[N];
    for (int i = 0; i < N; ++i) v[i] = load_keys<T>(r[i] + j);
    apply_network<SortNetwork<N>>(v);
    T* o = dst + j * N;
    for (int i = 0; i < N; ++i) from_keys<T>(v[i]).store_unaligned(o + i * W);
  }
}

template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> median_blocks(std::index_sequence<I...>) {
  return {{&median_block<T, int(I) + 1>...}};
}
template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> sort_blocks(std::index_sequence<I...>) {
  return {{&sort_block<T, int(I) + 1>...}};
}

/// The same kernels with a run-time network over n batches of scratch `v`.
template <class T>
void median_block_dynamic(const T* const* rows, Index n, Index j0, Index count, T* dst,
                          const Comparator* net, int net_count, kvec<T>* v) {
  constexpr Index W = simd_width<T>;
  for (Index j = 0; j + W <= count; j += W) {
    for (Index i = 0; i < n; ++i) v[i] = load_keys<T>(rows[i] + j0 + j);
    apply_network(v, net, net_count);
    if (n % 2 == 1) {
      from_keys<T>(v[n / 2]).store_unaligned(dst + j);
    } else {
      midpoint_batch<T>(from_keys<T>(v[n / 2 - 1]), from_keys<T>(v[n / 2])).store_unaligned(dst + j);
    }
  }
}

template <class T>
void sort_block_dynamic(const T* const* rows, Index n, Index j0, Index count, T* dst,
                        const Comparator* net, int net_count, kvec<T>* v) {
  constexpr Index W = simd_width<T>;
  for (Index j = 0; j + W <= count; j += W) {
    for (Index i = 0; i < n; ++i) v[i] = load_keys<T>(rows[i] + j0 + j);
    apply_network(v, net, net_count);
    T* o = dst + j * n;
    for (Index i = 0; i < n; ++i) from_keys<T>(v[i]).store_unaligned(o + i * W);
  }
}

// Reducers over n sorted keys (the portable forms, bitwise the references in
// coordinate.hpp and bulyan.hpp) and over sorted groups: s[i * W + lane] is
// the i-th smallest value of lane `lane`.

template <class T>
inline T median_of_sorted(const key_type<T>* k, Index n) {
  if (n % 2 == 1) return from_key<T>(k[n / 2]);
  return midpoint(from_key<T>(k[n / 2 - 1]), from_key<T>(k[n / 2]));
}

template <class T>
inline T mean_of_sorted(const key_type<T>* k, Index lo, Index hi) {
  double s = 0.0;
  for (Index i = lo; i < hi; ++i) s += double(from_key<T>(k[i]));
  return T(s / double(hi - lo));
}

/// Bulyan's coordinate step (bulyan.hpp: mean_closest_to_median).
template <class T>
inline T mean_closest_to_median(const key_type<T>* k, Index theta, Index beta) {
  const double med = theta % 2 == 1 ? double(from_key<T>(k[theta / 2]))
                                     : 0.5 * double(from_key<T>(k[theta / 2 - 1])) +
                                           0.5 * double(from_key<T>(k[theta / 2]));
  auto dist = [med](T v) {
    const double t = std::fabs(double(v) - med);
    return std::isnan(t) ? kInfinity : t;
  };
  Index lo = 0, hi = theta;
  while (hi - lo > beta) {
    if (dist(from_key<T>(k[lo])) > dist(from_key<T>(k[hi - 1])))
      ++lo;
    else
      --hi;
  }
  return mean_of_sorted<T>(k, lo, hi);
}

/// Mean over [lo, hi) of the sorted values, accumulated in double in
/// ascending order (bitwise the portable result).
template <class T>
ROBUSTAGG_KERNEL_INLINE void mean_of_sorted_group(const T* s, Index lo, Index hi, T* out) {
  constexpr Index W = simd_width<T>;
  constexpr Index WD = simd_width<double>;
  const vec<double> count = vec<double>(double(hi - lo));
  for (Index h = 0; h < W; h += WD) {
    vec<double> acc(0.0);
    for (Index i = lo; i < hi; ++i) acc += load_as_double<T>(s + i * W + h);
    store_from_double<T>(acc / count, out + h);
  }
}

/// Bulyan's coordinate step over theta sorted values, lane by lane in double,
/// with the window ends fetched by selects instead of gathers.
template <class T>
void bulyan_of_sorted_group(const T* s, Index theta, Index beta, T* out) {
  constexpr Index W = simd_width<T>;
  constexpr Index WD = simd_width<double>;
  using D = vec<double>;
  const D inf(kInfinity);
  const D zero(0.0), one(1.0);
  // The median in double (as the portable path): rounding the mean of the
  // two middle values to float would break exact ties.
  alignas(64) double med_buf[W];
  for (Index l = 0; l < W; ++l) {
    med_buf[l] = theta % 2 == 1 ? double(s[(theta / 2) * W + l])
                                : 0.5 * double(s[(theta / 2 - 1) * W + l]) +
                                      0.5 * double(s[(theta / 2) * W + l]);
  }
  const Index drops = theta - beta;
  for (Index h = 0; h < W; h += WD) {
    const D med = D::load_aligned(med_buf + h);
    auto value = [&](Index i) { return load_as_double<T>(s + i * W + h); };
    auto dist = [&](const D& v) {
      const D t = xsimd::abs(v - med);
      // xsimd::isnan, not t != t: xsimd 8.1 compiles != on AVX/AVX-512 as an
      // ordered compare (NaN != NaN is false there).
      return xsimd::select(xsimd::isnan(t), inf, t);
    };
    D lo(0.0);
    D hi = D(double(theta));  // window [lo, hi), as exact small integers
    for (Index it = 0; it < drops; ++it) {
      // lo is in [0, it], hi - 1 in [theta - 1 - it, theta - 1].
      D vlo = value(0), vhi = value(theta - 1);
      for (Index p = 1; p <= it; ++p) {
        vlo = xsimd::select(lo == D(double(p)), value(p), vlo);
        vhi = xsimd::select(hi == D(double(theta - p)), value(theta - 1 - p), vhi);
      }
      const auto drop_low = dist(vlo) > dist(vhi);
      lo = xsimd::select(drop_low, lo + one, lo);
      hi = xsimd::select(drop_low, hi, hi - one);
    }
    D acc(0.0);
    for (Index p = 0; p < theta; ++p) {
      const D P = D(double(p));
      acc += xsimd::select((P >= lo) & (P < hi), value(p), zero);
    }
    store_from_double<T>(acc / D(double(beta)), out + h);
  }
}

/// Portable tail: coordinates [from, count) of a block, reduced per coordinate.
template <class T, class Reduce>
inline void scalar_block(const T* const* rows, Index n, Index j0, Index from, Index count,
                         key_type<T>* keys, T* dst, Reduce&& reduce) {
  for (Index jj = from; jj < count; ++jj) {
    for (Index i = 0; i < n; ++i) keys[i] = to_key<T>(rows[i][j0 + jj]);
    sort_keys(keys, n);
    dst[jj] = reduce(static_cast<const key_type<T>*>(keys), n);
  }
}

/// Scratch layout (coordinate_scratch_bytes): n batches, the sorted block,
/// n keys.
struct CoordinateScratch {
  unsigned char* batches;
  unsigned char* sorted;
  unsigned char* keys;
};
template <class T>
inline CoordinateScratch split_scratch(unsigned char* p, Index n) {
  return {p, p + std::size_t(n) * kMaxBatchBytes,
          p + std::size_t(n) * kMaxBatchBytes + sorted_scratch_values(n, sizeof(T)) * sizeof(T)};
}

template <class T>
void median_kernel(const T* const* rows, Index n, Index j0, Index count, T* dst,
                   unsigned char* scratch, const Comparator* net, int net_count) {
  using K = key_type<T>;
  constexpr Index W = simd_width<T>;
  static constexpr auto kBlocks = median_blocks<T>(std::make_index_sequence<kMaxFixedNetwork>{});
  const CoordinateScratch s = split_scratch<T>(scratch, n);
  Index done = 0;
  if (n <= kMaxFixedNetwork) {
    done = count / W * W;
    kBlocks[std::size_t(n - 1)](rows, j0, done, dst);
  } else if (n <= kMaxNetworkWires) {
    done = count / W * W;
    median_block_dynamic(rows, n, j0, done, dst, net, net_count, reinterpret_cast<kvec<T>*>(s.batches));
  }
  scalar_block(rows, n, j0, done, count, reinterpret_cast<K*>(s.keys), dst,
               [](const K* k, Index m) { return median_of_sorted<T>(k, m); });
}

template <class T>
void sorted_kernel(const T* const* rows, Index n, Index j0, Index count, T* dst,
                   unsigned char* scratch, const Comparator* net, int net_count,
                   SortedReducer reducer, Index param) {
  using K = key_type<T>;
  constexpr Index W = simd_width<T>;
  static constexpr auto kBlocks = sort_blocks<T>(std::make_index_sequence<kMaxFixedNetwork>{});
  const CoordinateScratch s = split_scratch<T>(scratch, n);
  T* sorted = reinterpret_cast<T*>(s.sorted);
  Index done = 0;
  auto reduce_group = [&](const T* group, T* out) {
    if (reducer == SortedReducer::kTrimmedMean)
      mean_of_sorted_group<T>(group, param, n - param, out);
    else
      bulyan_of_sorted_group<T>(group, n, param, out);
  };
  if (n <= kMaxFixedNetwork) {
    // The whole block sorted in registers first, then reduced.
    done = count / W * W;
    kBlocks[std::size_t(n - 1)](rows, j0, done, sorted);
    for (Index j = 0; j < done; j += W) reduce_group(sorted + j * n, dst + j);
  } else if (n <= kMaxNetworkWires) {
    // One batch of W coordinates at a time: sorted holds n x W values.
    done = count / W * W;
    for (Index j = 0; j < done; j += W) {
      sort_block_dynamic(rows, n, j0 + j, W, sorted, net, net_count, reinterpret_cast<kvec<T>*>(s.batches));
      reduce_group(sorted, dst + j);
    }
  }
  K* keys = reinterpret_cast<K*>(s.keys);
  if (reducer == SortedReducer::kTrimmedMean)
    scalar_block(rows, n, j0, done, count, keys, dst,
                 [param](const K* k, Index m) { return mean_of_sorted<T>(k, param, m - param); });
  else
    scalar_block(rows, n, j0, done, count, keys, dst,
                 [param](const K* k, Index m) { return mean_closest_to_median<T>(k, m, param); });
}

// ---------------------------------------------------------------------------
// Mean and sign vote over one tile of coordinates [j0, j1).

/// Rows read as concurrent streams before the row-after-row form is used.
inline constexpr Index kDirectStreams = 16;
/// Coordinates per block of the row-after-row form.
inline constexpr Index kRowBlock = 4096;

template <class T>
void mean_kernel(const T* const* ptrs, Index n, Index j0, Index j1, T* out) {
  constexpr Index WD = simd_width<double>;
  const vec<double> count = vec<double>(double(n));
  Index j = j0;
  if (n > kDirectStreams) {
    // Many rows: accumulate blocks row after row (sequential row segments),
    // the same per-coordinate sums in the same (row) order.
    alignas(64) double acc[kRowBlock];
    for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
      const Index len = imin(j1, b0 + kRowBlock) - b0;
      const Index vlen = len / WD * WD;
      for (Index jj = 0; jj < len; ++jj) acc[jj] = 0.0;
      for (Index i = 0; i < n; ++i) {
        const T* r = ptrs[i] + b0;
        Index jj = 0;
        for (; jj < vlen; jj += WD)
          (vec<double>::load_aligned(acc + jj) + load_as_double<T>(r + jj)).store_aligned(acc + jj);
        for (; jj < len; ++jj) acc[jj] += double(r[jj]);
      }
      for (Index jj = 0; jj < len; ++jj) out[b0 + jj] = T(acc[jj] / double(n));
    }
    return;
  }
  constexpr Index U = 4;  // 4 batches of doubles per row pass
  for (; j + U * WD <= j1; j += U * WD) {
    vec<double> acc[U];
    for (Index u = 0; u < U; ++u) acc[u] = vec<double>(0.0);
    for (Index i = 0; i < n; ++i) {
      const T* r = ptrs[i] + j;
      for (Index u = 0; u < U; ++u) acc[u] += load_as_double<T>(r + u * WD);
    }
    for (Index u = 0; u < U; ++u) store_from_double<T>(acc[u] / count, out + j + u * WD);
  }
  for (; j < j1; ++j) {
    double s = 0.0;
    for (Index i = 0; i < n; ++i) s += double(ptrs[i][j]);
    out[j] = T(s / double(n));
  }
}

template <class T>
void sign_vote_kernel(const T* const* ptrs, Index n, Index j0, Index j1, T* out) {
  constexpr Index W = simd_width<T>;
  const vec<T> zero(T(0)), one(T(1));
  Index j = j0;
  if (n > kDirectStreams) {
    // Many rows: count blocks row after row (sequential row segments).
    alignas(64) T votes[kRowBlock];
    for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
      const Index len = imin(j1, b0 + kRowBlock) - b0;
      const Index vlen = len / W * W;
      for (Index jj = 0; jj < len; ++jj) votes[jj] = T(0);
      for (Index i = 0; i < n; ++i) {
        const T* r = ptrs[i] + b0;
        Index jj = 0;
        for (; jj < vlen; jj += W) {
          const vec<T> x = vec<T>::load_unaligned(r + jj);
          (vec<T>::load_aligned(votes + jj) + xsimd::select(x > zero, one, zero) -
           xsimd::select(x < zero, one, zero))
              .store_aligned(votes + jj);
        }
        for (; jj < len; ++jj) votes[jj] += T(int(r[jj] > T(0)) - int(r[jj] < T(0)));
      }
      for (Index jj = 0; jj < len; ++jj) out[b0 + jj] = T((votes[jj] > T(0)) - (votes[jj] < T(0)));
    }
    return;
  }
  constexpr Index U = 2;
  for (; j + U * W <= j1; j += U * W) {
    vec<T> votes[U];
    for (Index u = 0; u < U; ++u) votes[u] = zero;
    for (Index i = 0; i < n; ++i) {
      for (Index u = 0; u < U; ++u) {
        const vec<T> x = vec<T>::load_unaligned(ptrs[i] + j + u * W);
        votes[u] += xsimd::select(x > zero, one, zero) - xsimd::select(x < zero, one, zero);
      }
    }
    for (Index u = 0; u < U; ++u)
      (xsimd::select(votes[u] > zero, one, zero) - xsimd::select(votes[u] < zero, one, zero))
          .store_unaligned(out + j + u * W);
  }
  for (; j < j1; ++j) {
    int v = 0;
    for (Index i = 0; i < n; ++i) {
      const T x = ptrs[i][j];
      v += int(x > T(0)) - int(x < T(0));
    }
    out[j] = T((v > 0) - (v < 0));
  }
}

// ---------------------------------------------------------------------------
// The distance engine (distances.hpp describes it). Each pair accumulates
// (x - y)^2 in kDistanceLanes<T> virtual lanes (lane l: the coordinates
// j = l mod L of a run), with one multiply and one add (never an FMA, which
// SSE2 lacks), over runs of kDistanceRun * L coordinates; each run's lanes are
// added into double accumulators. The lane count is fixed, not the vector
// width, so every architecture computes the same sums.

/// Coordinates per L1 sub-block of a distance tile (a multiple of every run).
inline constexpr Index kDistanceL1 = 512;

/// Per row and tile, the distance engine's flags: bit 0, every value of the
/// row in the tile is finite; bit 1 (float only), some value is tiny,
/// 0 < |x| < 2^-40. Where neither row of a pair has a tiny value, a nonzero
/// difference of two floats is at least 2^-63 (both are multiples of 2^-63),
/// so its square is a normal float: no underflow.
inline constexpr unsigned char kTileFinite = 1;
inline constexpr unsigned char kTileTiny = 2;

/// A float run lane below this may hold underflowed squares that matter
/// (their error, <= 16 * 2^-150 per lane, is <= 2^-46 of a lane above it).
inline constexpr float kDistanceSmallRun = 0x1p-100f;

/// Adds one run's float (or double) lanes of a pair into its double lanes
/// o[0, L). For float, where both rows are finite in the tile, the run's lanes
/// are summed in double instead when its float sum is not finite (squares of
/// ~1e19 overflow) or when either row has a tiny value in the tile and some
/// lane of the run is below kDistanceSmallRun (squares may have underflowed).
template <class T>
ROBUSTAGG_KERNEL_INLINE void distance_flush(const vec<T>* acc, double* o, const T* x, const T* y, Index r0,
                                            Index r1, unsigned char fx, unsigned char fy) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;
  if constexpr (std::is_same_v<T, float>) {
    bool exact = false;
    if ((fx & fy & kTileFinite) != 0) {
      for (Index g = 0; g < G; ++g) exact = exact || !xsimd::all(acc[g] - acc[g] == vec<T>(T(0)));
      if (((fx | fy) & kTileTiny) != 0)
        for (Index g = 0; g < G; ++g) exact = exact || xsimd::any(acc[g] < vec<T>(kDistanceSmallRun));
    }
    if (exact) {
      for (Index l = 0; l < L; ++l) {
        double s = 0.0;
        for (Index j = r0 + l; j < r1; j += L) {
          const double t = double(x[j]) - double(y[j]);
          s += t * t;
        }
        o[l] += s;
      }
      return;
    }
  }
  alignas(64) T tmp[L];
  for (Index g = 0; g < G; ++g) acc[g].store_aligned(tmp + g * W);
  for (Index l = 0; l < L; ++l) o[l] += double(tmp[l]);
}

/// Pairs (x, ys[q]), q < NB, over [a, b) (b - a a multiple of L): adds each
/// run's lanes into acc_d[q * L + lane].
template <class T, int NB>
void distance_block(const T* x, const T* const* ys, Index a, Index b, double* acc_d,
                    const unsigned char* y_flags, unsigned char x_flags) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;  // registers per virtual lane group
  constexpr Index kRun = kDistanceRun * L;
  for (Index r0 = a; r0 < b; r0 += kRun) {
    const Index r1 = imin(b, r0 + kRun);
    vec<T> acc[NB][G];
    for (int q = 0; q < NB; ++q)
      for (Index g = 0; g < G; ++g) acc[q][g] = vec<T>(T(0));
    for (Index j = r0; j < r1; j += L) {
      for (Index g = 0; g < G; ++g) {
        const vec<T> xv = vec<T>::load_unaligned(x + j + g * W);
        for (int q = 0; q < NB; ++q) {
          const vec<T> t = xv - vec<T>::load_unaligned(ys[q] + j + g * W);
          acc[q][g] = acc[q][g] + t * t;
        }
      }
    }
    for (int q = 0; q < NB; ++q)
      distance_flush<T>(acc[q], acc_d + q * L, x, ys[q], r0, r1, x_flags, y_flags[q]);
  }
}

/// Pairs (xs[m], ys[q]), m < MI, q < NB, over [a, b) (b - a a multiple of
/// L): each pair's arithmetic is distance_block's (so the same bits), but one
/// load of a batch of x serves NB pairs and one of y serves MI pairs. acc_d[m]
/// is x row m's accumulator of pair (xs[m], ys[0]); pair q follows at q * L.
template <class T, int MI, int NB>
void distance_block_2d(const T* const* xs, const T* const* ys, Index a, Index b, double* const* acc_d,
                       const unsigned char* x_flags, const unsigned char* y_flags) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;
  constexpr Index kRun = kDistanceRun * L;
  for (Index r0 = a; r0 < b; r0 += kRun) {
    const Index r1 = imin(b, r0 + kRun);
    vec<T> acc[MI][NB][G];
    for (int m = 0; m < MI; ++m)
      for (int q = 0; q < NB; ++q)
        for (Index g = 0; g < G; ++g) acc[m][q][g] = vec<T>(T(0));
    for (Index j = r0; j < r1; j += L) {
      for (Index g = 0; g < G; ++g) {
        vec<T> xv[MI];
        for (int m = 0; m < MI; ++m) xv[m] = vec<T>::load_unaligned(xs[m] + j + g * W);
        for (int q = 0; q < NB; ++q) {
          const vec<T> yv = vec<T>::load_unaligned(ys[q] + j + g * W);
          for (int m = 0; m < MI; ++m) {
            const vec<T> t = xv[m] - yv;
            acc[m][q][g] = acc[m][q][g] + t * t;
          }
        }
      }
    }
    for (int m = 0; m < MI; ++m)
      for (int q = 0; q < NB; ++q)
        distance_flush<T>(acc[m][q], acc_d[m] + q * L, xs[m], ys[q], r0, r1, x_flags[m], y_flags[q]);
  }
}

/// Pairs per register block of distance_block: as many as the registers hold
/// (a pair needs L/W accumulators).
template <class T>
inline constexpr int kDistanceBlock = int(8 * simd_width<T> / kDistanceLanes<T>) < 2
                                          ? 2
                                          : int(8 * simd_width<T> / kDistanceLanes<T>);

/// Rows x columns of distance_block_2d's register block: 4 x 4 pairs where a
/// pair's lanes are one register (AVX-512: 16 accumulators + 4 + 1 loads of
/// its 32 registers), 2 x 2 where they are two (AVX2: 8 + 2 + 1 of 16); 1 (no
/// 2D block) where they are four (SSE2, which keeps distance_block).
template <class T>
inline constexpr int kDistanceRowBlock =
    kDistanceLanes<T> / simd_width<T> == 1 ? 4 : kDistanceLanes<T> / simd_width<T> == 2 ? 2 : 1;
template <class T>
inline constexpr int kDistanceColBlock = kDistanceLanes<T> / simd_width<T> == 1 ? 4 : 2;

/// Accumulator bytes (all pairs) up to which the tile is swept in L1
/// sub-blocks of kDistanceL1 coordinates, every pair per sub-block (the rows'
/// sub-block segments stay in L1, the accumulators in L1/L2). Beyond, each
/// pair block sweeps the whole tile at once (its accumulators stay in L1),
/// over panels of rows that fit kDistancePanelBytes (L2).
inline constexpr std::size_t kDistanceSweepAccBytes = std::size_t(256) << 10;
inline constexpr std::size_t kDistancePanelBytes = std::size_t(512) << 10;

template <class T, int NB>
void distance_block_dispatch(int nb, const T* x, const T* const* ys, Index a, Index b,
                             double* acc_d, const unsigned char* y_flags, unsigned char x_flags) {
  if constexpr (NB > 1) {
    if (nb < NB) return distance_block_dispatch<T, NB - 1>(nb, x, ys, a, b, acc_d, y_flags, x_flags);
  }
  distance_block<T, NB>(x, ys, a, b, acc_d, y_flags, x_flags);
}

/// Pairs (i, k), k in [k_lo, k_hi), over [a, b): 1D register blocks.
template <class T>
void distance_row(const T* const* ptrs, Index n, Index i, Index k_lo, Index k_hi, Index a, Index b,
                  double* acc, const unsigned char* tile_flags) {
  constexpr Index L = kDistanceLanes<T>;
  constexpr int kBlock = kDistanceBlock<T>;
  for (Index k0 = k_lo; k0 < k_hi; k0 += kBlock) {
    const int nb = int(imin(kBlock, k_hi - k0));
    distance_block_dispatch<T, kBlock>(nb, ptrs[i], ptrs + k0, a, b, acc + pair_index(n, i, k0) * L,
                                       tile_flags + k0, tile_flags[i]);
  }
}

template <class T>
void distance_tiles_kernel(const T* const* ptrs, Index n, Index d, Index tile_len, Index t0,
                           Index t1, double* acc, unsigned char* tile_flags, unsigned char* bad) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr int MI = kDistanceRowBlock<T>;
  constexpr int NB = kDistanceColBlock<T>;
  const Index pairs = n * (n - 1) / 2;
  const bool sweep = std::size_t(pairs * L) * sizeof(double) <= kDistanceSweepAccBytes;
  for (Index t = t0; t < t1; ++t) {
    const Index a = t * tile_len;
    const Index e = imin(d, a + tile_len);
    const Index v_end = a + (e - a) / L * L;
    for (Index i = 0; i < n; ++i) {
      const T* x = ptrs[i];
      bool ok = true, tiny = false;
      if constexpr (std::is_same_v<T, float>) {
        // On the magnitude bits u = bits(x) & 0x7fffffff: finite iff
        // u < bits(inf); tiny iff 0 < u < bits(2^-40), i.e. (u - 1) & mask
        // below bits(2^-40) - 1 (u = 0 wraps to the mask).
        using IV = kvec<T>;
        constexpr std::int32_t kMag = 0x7fffffff, kInfBits = 0x7f800000, kTinyBits = 0x2b800000;
        const IV mag(kMag), one(1);
        if constexpr (W > 4) {
          // AVX2, AVX-512: integer max and min are single instructions.
          IV umax(0), wmin(kMag);
          for (Index j = a; j < v_end; j += W) {
            const IV u = xsimd::bitwise_cast<IV>(vec<T>::load_unaligned(x + j)) & mag;
            umax = xsimd::max(umax, u);
            wmin = xsimd::min(wmin, (u - one) & mag);
          }
          ok = !xsimd::any(umax >= IV(kInfBits));
          tiny = xsimd::any(wmin < IV(kTinyBits - 1));
        } else {
          // SSE2 has no 32-bit integer max/min: accumulate the comparisons.
          // (u - 1) ^ sign bit orders u - 1 as unsigned under signed compares.
          const IV sign(std::int32_t(0x80000000u)), limit(std::int32_t(std::uint32_t(kTinyBits - 1) ^ 0x80000000u));
          auto nonfinite = IV(0) > IV(0), small = IV(0) > IV(0);  // all false
          for (Index j = a; j < v_end; j += W) {
            const IV u = xsimd::bitwise_cast<IV>(vec<T>::load_unaligned(x + j)) & mag;
            nonfinite = nonfinite | (u > IV(kInfBits - 1));
            small = small | (((u - one) ^ sign) < limit);
          }
          ok = !xsimd::any(nonfinite);
          tiny = xsimd::any(small);
        }
        for (Index j = v_end; j < e; ++j) {
          std::int32_t b;
          std::memcpy(&b, x + j, sizeof b);
          b &= kMag;
          ok = ok && b < kInfBits;
          tiny = tiny || (b > 0 && b < kTinyBits);
        }
      } else {
        vec<T> check(T(0));
        for (Index j = a; j < v_end; j += W) check += vec<T>::load_unaligned(x + j) * vec<T>(T(0));
        T tail = 0;
        for (Index j = v_end; j < e; ++j) tail += x[j] * T(0);
        ok = xsimd::all(check == vec<T>(T(0))) && tail == T(0);
      }
      tile_flags[i] = static_cast<unsigned char>((ok ? kTileFinite : 0) | (tiny ? kTileTiny : 0));
      if (!ok) bad[i] = 1;
    }
    // Every pair sees the runs of [a, v_end) in order, whatever the spans and
    // panels (spans are multiples of the run), so the sums do not depend on
    // them. Spans: kDistanceL1 sub-blocks (small n) or the whole tile.
    const Index span = sweep ? kDistanceL1 : imax(v_end - a, L);
    const Index panel =
        sweep ? n
              : imax(MI + NB, Index(kDistancePanelBytes / (std::size_t(span) * sizeof(T))));
    for (Index sb = a; sb < v_end; sb += span) {
      const Index se = imin(v_end, sb + span);
      for (Index p0 = 0; p0 < n; p0 += panel) {  // y rows [p0, p1)
        const Index p1 = imin(n, p0 + panel);
        for (Index i0 = 0; i0 + 1 < p1; i0 += MI) {
          const Index i1 = imin(n, i0 + MI);
          // Columns k >= k_rect pair with every row of the block: full
          // MI x NB blocks take [k2, p1); each row's other pairs in the panel
          // (inside the block, and the columns left over) run as one row.
          const Index k_rect = imax(p0, i1);
          Index k2 = p1;
          if (MI > 1 && i1 - i0 == MI && p1 > k_rect) k2 = k_rect + (p1 - k_rect) % NB;
          for (Index i = i0; i < i1; ++i)
            distance_row<T>(ptrs, n, i, imax(p0, i + 1), imax(k2, imax(p0, i + 1)), sb, se, acc, tile_flags);
          if constexpr (MI > 1) {
            double* acc_rows[MI];
            for (Index k0 = k2; k0 + NB <= p1; k0 += NB) {
              for (int m = 0; m < MI; ++m) acc_rows[m] = acc + pair_index(n, i0 + m, k0) * L;
              distance_block_2d<T, MI, NB>(ptrs + i0, ptrs + k0, sb, se, acc_rows, tile_flags + i0,
                                           tile_flags + k0);
            }
          }
        }
      }
    }
    if (v_end < e) {
      for (Index i = 0; i + 1 < n; ++i) {
        const T* x = ptrs[i];
        for (Index k = i + 1; k < n; ++k) {
          const T* y = ptrs[k];
          double s = 0.0;
          for (Index j = v_end; j < e; ++j) {
            const double q = double(x[j]) - double(y[j]);
            s += q * q;
          }
          acc[pair_index(n, i, k) * L] += s;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The DETOX vote's row comparison.

template <class T>
RowCompare compare_rows_kernel(const T* x, const T* y, Index d) {
  using V = vec<T>;
  constexpr Index W = simd_width<T>;
  constexpr Index kBlock = 1024;
  const Index vend = d / W * W;
  V diff(T(0));  // OR of x ^ y, bit by bit
  Index j = 0;
  while (j < vend) {
    const Index end = imin(vend, j + kBlock);
    auto nan = xsimd::isnan(V(T(0)));  // all false
    for (; j < end; j += W) {
      const V vx = V::load_unaligned(x + j);
      diff = diff | (vx ^ V::load_unaligned(y + j));
      nan = nan | xsimd::isnan(vx);
    }
    if (xsimd::any(nan)) return {false, true};
  }
  bool equal = !xsimd::any(xsimd::bitwise_cast<kvec<T>>(diff) != kvec<T>(0));
  for (; j < d; ++j) {
    if (std::isnan(x[j])) return {false, true};
    equal = equal && std::memcmp(x + j, y + j, sizeof(T)) == 0;
  }
  return {equal, false};
}

// ---------------------------------------------------------------------------
// The noise of the noisy rules (noise_kernel.hpp: every function there is a
// template on the architecture, so each kernel library copy is its own).

template <class T>
void add_noise_kernel(const T* src, T* dst, Index count, double b, std::uint64_t seed,
                      std::uint64_t worker, std::uint64_t j0) {
  robustagg::detail::add_noise<arch, T>(src, dst, count, b, seed, worker, j0);
}

// ---------------------------------------------------------------------------
// The table.

template <class T>
inline constexpr KernelSet<T> kernel_set = {
    &median_kernel<T>,          &sorted_kernel<T>,         &mean_kernel<T>,
    &sign_vote_kernel<T>,       &distance_tiles_kernel<T>, &compare_rows_kernel<T>,
    &add_noise_kernel<T>,
};

}  // namespace robustagg::detail::ROBUSTAGG_KERNEL_NS
