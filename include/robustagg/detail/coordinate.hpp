// robustagg::detail: the coordinate engine.
//
// A coordinate-wise rule is a function of the n values of one coordinate.
//
// Fast path (SIMD, xsimd default_arch): each lane of a batch is one
// coordinate; the n rows' batches are loaded, turned into order keys (IEEE
// total order, so NaN is an extreme value) and run through a sorting or
// selection network (networks.hpp) whose compare-exchanges are min/max of two
// rows' batches. n <= kMaxFixedNetwork uses a compile-time network unrolled
// into registers; n <= kMaxNetworkWires a run-time generated comparator list
// over batches in L1; larger n the portable per-coordinate sort below. Tails
// (d not a multiple of the SIMD width) take the portable path, so no load
// reads past a row's end.
//
// Portable path (also the tails and the reference the tests compare against):
// per coordinate, gather the n keys, sort them, reduce.
//
// Work is split into fixed tiles of kParallelTile coordinates run on the
// thread pool (parallel.hpp); every coordinate's result depends only on its
// own values, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "networks.hpp"
#include "order_key.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "tiles.hpp"

namespace robustagg::detail {

// ---------------------------------------------------------------------------
// Portable scalar engine.

/// Sorts a short run of keys (insertion sort below 32, std::sort above).
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
    std::sort(k, k + n);
  }
}

/// Workspace slot used by the coordinate engine.
inline constexpr std::size_t kSlotCoordinateKeys = 0;

/// For every coordinate j: out[j] = reduce(sorted_keys, n), where sorted_keys
/// holds the n values of coordinate j (after `transform(i, j, x)`) as order
/// keys in ascending IEEE total order. The portable engine (single thread).
template <class T, class Transform, class Reduce>
void sorted_coordinates(const RowsView<T>& g, T* out, Workspace& ws, Transform&& transform,
                        Reduce&& reduce) {
  using K = key_t<T>;
  const Index n = g.rows();
  const Index d = g.cols();
  K* keys = ws.get<K>(kSlotCoordinateKeys, std::size_t(n * kCoordinateTile));
  for_each_tile(d, kCoordinateTile, [&](Index j0, Index j1) {
    const Index w = j1 - j0;
    for (Index i = 0; i < n; ++i) {
      const T* r = g.row(i);
      for (Index jj = 0; jj < w; ++jj) keys[jj * n + i] = to_key<T>(transform(i, j0 + jj, r[j0 + jj]));
    }
    for (Index jj = 0; jj < w; ++jj) {
      K* k = keys + jj * n;
      sort_keys(k, n);
      out[j0 + jj] = reduce(k, n);
    }
  });
}

/// Median of n sorted keys: the middle value, or the mean of the two middle
/// values for even n.
template <class T>
inline T median_of_sorted(const key_t<T>* k, Index n) {
  if (n % 2 == 1) return from_key<T>(k[n / 2]);
  return midpoint(from_key<T>(k[n / 2 - 1]), from_key<T>(k[n / 2]));
}

/// Mean (double accumulation) of sorted keys k[lo, hi).
template <class T>
inline T mean_of_sorted(const key_t<T>* k, Index lo, Index hi) {
  double s = 0.0;
  for (Index i = lo; i < hi; ++i) s += double(from_key<T>(k[i]));
  return T(s / double(hi - lo));
}

// ---------------------------------------------------------------------------
// SIMD network kernels. A block kernel processes `count` coordinates (a
// multiple of the SIMD width W) starting at column j0 of n row pointers.

/// Coordinates per inner block (a multiple of every SIMD width).
inline constexpr Index kSubTile = 256;
/// Coordinates per parallel tile (fixed: independent of the thread count).
inline constexpr Index kParallelTile = 16384;

/// Rows read as concurrent streams by the network kernels; above it rows are
/// staged (see for_coordinate_blocks).
inline constexpr Index kDirectStreams = 16;

/// Bytes of a staging block (all n rows), about one core's L2 on the
/// development machine (measured setting; define ROBUSTAGG_STAGE_BUDGET to
/// tune it for another machine).
#ifndef ROBUSTAGG_STAGE_BUDGET
#define ROBUSTAGG_STAGE_BUDGET (std::size_t(1) << 20)
#endif
inline constexpr std::size_t kStageBudget = ROBUSTAGG_STAGE_BUDGET;

/// Coordinates per staging block for n rows: about kStageBudget bytes, a
/// multiple of kSubTile that divides kParallelTile.
inline Index staging_length(Index n, std::size_t size) {
  Index len = kParallelTile;
  while (len > kSubTile && std::size_t(n * len) * size > kStageBudget) len /= 2;
  return len;
}

/// Coordinates per block of the row-after-row mean and sign-vote kernels.
inline constexpr Index kRowBlock = 4096;

inline constexpr std::size_t kSlotRowPointers = 8;
inline constexpr std::size_t kSlotNetwork = 9;

/// detail::midpoint lane by lane: (a + b) / 2 when neither half-sum can
/// overflow (exact for denormals), else a / 2 + b / 2.
template <class T>
ROBUSTAGG_ALWAYS_INLINE vec<T> midpoint_batch(const vec<T>& a, const vec<T>& b) {
  const vec<T> half(T(0.5));
  const vec<T> half_max(std::numeric_limits<T>::max() / 2);
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

// The compile-time networks (2 kinds x kMaxFixedNetwork sizes per value type)
// are most of the compile time of a translation unit that uses a
// coordinate-wise rule or AnyRule: about 26 of 36 s with g++ -O2, and 3.5 of
// 4.3 min under -fsanitize=address,undefined. A program with many such
// translation units can compile them once: define ROBUSTAGG_SEPARATE_NETWORKS
// in every translation unit (these become explicit instantiation
// declarations) and write ROBUSTAGG_INSTANTIATE_NETWORKS(float) and/or
// ROBUSTAGG_INSTANTIATE_NETWORKS(double), at global scope, in exactly one
// translation unit compiled with the same flags (-march included). A missing
// instantiation is a link error naming robustagg::detail::median_block.
#define ROBUSTAGG_DETAIL_NETWORK_SIZES(X, T)                                                   \
  X(T, 1) X(T, 2) X(T, 3) X(T, 4) X(T, 5) X(T, 6) X(T, 7) X(T, 8) X(T, 9) X(T, 10) X(T, 11)   \
  X(T, 12) X(T, 13) X(T, 14) X(T, 15) X(T, 16) X(T, 17) X(T, 18) X(T, 19) X(T, 20) X(T, 21) \
  X(T, 22) X(T, 23) X(T, 24) X(T, 25) X(T, 26) X(T, 27) X(T, 28) X(T, 29) X(T, 30) X(T, 31) \
  X(T, 32)
static_assert(kMaxFixedNetwork == 32, "ROBUSTAGG_DETAIL_NETWORK_SIZES lists 1..kMaxFixedNetwork");
#define ROBUSTAGG_DETAIL_NETWORK_DECL(T, N)                                                    \
  extern template void median_block<T, N>(const T* const*, Index, Index, T*);                \
  extern template void sort_block<T, N>(const T* const*, Index, Index, T*);
#define ROBUSTAGG_DETAIL_NETWORK_DEF(T, N)                                                     \
  template void robustagg::detail::median_block<T, N>(const T* const*, robustagg::Index,      \
                                                      robustagg::Index, T*);                  \
  template void robustagg::detail::sort_block<T, N>(const T* const*, robustagg::Index,        \
                                                    robustagg::Index, T*);
#ifdef ROBUSTAGG_SEPARATE_NETWORKS
ROBUSTAGG_DETAIL_NETWORK_SIZES(ROBUSTAGG_DETAIL_NETWORK_DECL, float)
ROBUSTAGG_DETAIL_NETWORK_SIZES(ROBUSTAGG_DETAIL_NETWORK_DECL, double)
#endif
/// Compiles the networks for value type T (float or double) in this
/// translation unit; see ROBUSTAGG_SEPARATE_NETWORKS above.
#define ROBUSTAGG_INSTANTIATE_NETWORKS(T) ROBUSTAGG_DETAIL_NETWORK_SIZES(ROBUSTAGG_DETAIL_NETWORK_DEF, T)

template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> median_blocks(std::index_sequence<I...>) {
  return {{&median_block<T, int(I) + 1>...}};
}
template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> sort_blocks(std::index_sequence<I...>) {
  return {{&sort_block<T, int(I) + 1>...}};
}

/// The same kernels with a run-time network over batches in memory `v`
/// (n batches of scratch).
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

// ---------------------------------------------------------------------------
// Reducers over sorted groups: s[i * W + lane] is the i-th smallest value of
// lane `lane`; write W results to out. Each has the portable form `scalar`
// over n sorted keys, with the same arithmetic.

/// Mean over [lo, hi) of the sorted values, accumulated in double in
/// ascending order (bitwise the portable result).
template <class T>
ROBUSTAGG_ALWAYS_INLINE void mean_of_sorted_group(const T* s, Index lo, Index hi, T* out) {
  constexpr Index W = simd_width<T>;
  constexpr Index WD = simd_width<double>;
  const vec<double> count = vec<double>(double(hi - lo));
  for (Index h = 0; h < W; h += WD) {
    vec<double> acc(0.0);
    for (Index i = lo; i < hi; ++i) acc += load_as_double<T>(s + i * W + h);
    const vec<double> m = acc / count;
    if constexpr (std::is_same_v<T, double>) {
      m.store_unaligned(out + h);
    } else {
      alignas(64) double tmp[WD];
      m.store_aligned(tmp);
      for (Index l = 0; l < WD; ++l) out[h + l] = T(tmp[l]);
    }
  }
}

struct TrimmedReducer {
  Index f;
  template <class T>
  void simd(const T* s, Index n, T* out) const {
    mean_of_sorted_group<T>(s, f, n - f, out);
  }
  template <class T>
  T scalar(const key_t<T>* k, Index n) const {
    return mean_of_sorted<T>(k, f, n - f);
  }
};

/// Defined in bulyan.hpp (the definition of Bulyan's coordinate step).
template <class T>
inline T mean_closest_to_median(const key_t<T>* k, Index theta, Index beta);

/// Bulyan's coordinate step over theta sorted values: the mean of the beta
/// values closest to the median (see bulyan.hpp for the exact procedure; this
/// is the same procedure lane by lane in double, with the window ends fetched
/// by selects instead of gathers).
struct BulyanReducer {
  Index beta;
  template <class T>
  void simd(const T* s, Index theta, T* out) const {
    constexpr Index W = simd_width<T>;
    constexpr Index WD = simd_width<double>;
    using D = vec<double>;
    const D inf(std::numeric_limits<double>::infinity());
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
      const D m = acc / D(double(beta));
      alignas(64) double tmp[WD];
      m.store_aligned(tmp);
      for (Index l = 0; l < WD; ++l) out[h + l] = T(tmp[l]);
    }
  }
  template <class T>
  T scalar(const key_t<T>* k, Index theta) const {
    return mean_closest_to_median<T>(k, theta, beta);
  }
};

// ---------------------------------------------------------------------------
// The drivers.

/// Calls sub(rows, j0src, s, count, scratch) for inner blocks of the
/// coordinates, in parallel tiles: rows[i][j0src + jj], jj in [0, count), holds
/// coordinate s + jj of row i after the transform. `scratch` is the calling
/// thread's `extra_bytes` of scratch.
template <class T, class Transform, class Sub>
void for_coordinate_blocks(const RowsView<T>& g, Workspace& ws, const Transform& transform,
                           std::size_t extra_bytes, Sub&& sub) {
  const Index n = g.rows();
  const Index d = g.cols();
  const T** ptrs = ws.get<const T*>(kSlotRowPointers, std::size_t(n));
  for (Index i = 0; i < n; ++i) ptrs[i] = g.row(i);
  constexpr bool kAsSent = std::is_same_v<Transform, AsSent>;
  extra_bytes = (extra_bytes + 63) / 64 * 64;
  const std::size_t noise_bytes = std::size_t(n * kSubTile) * sizeof(T);
  // Beyond kDirectStreams rows, reading all rows at the same coordinate (n
  // concurrent streams) falls to a third of the bandwidth on the development
  // machine; then each row's segment of a staging block is first copied into
  // an L2-resident buffer (n short sequential reads) and the network reads it.
  const bool stage = kAsSent && n > kDirectStreams;
  const Index stage_len = stage ? staging_length(n, sizeof(T)) : 0;
  const std::size_t stage_bytes = std::size_t(n * stage_len) * sizeof(T);
  const std::size_t bytes = extra_bytes + (kAsSent ? (stage ? stage_bytes + std::size_t(n) * sizeof(T*) : 0)
                                                   : noise_bytes + std::size_t(n) * sizeof(T*));
  const Index tiles = tile_count(d, kParallelTile);
  const int threads = threads_for(n * d, tiles);
  const ThreadScratch scratch = thread_scratch(ws, threads, bytes);
  parallel_for(tiles, threads, [&](Index t, int tid) {
    unsigned char* sp = scratch.p[tid];
    const Index j0 = t * kParallelTile;
    const Index j1 = std::min(d, j0 + kParallelTile);
    for (Index s = j0; s < j1; s += kSubTile) {
      const Index count = std::min(j1, s + kSubTile) - s;
      if constexpr (kAsSent) {
        if (!stage) {
          sub(static_cast<const T* const*>(ptrs), s, s, count, sp);
          continue;
        }
        // Staging block [s, s + block): copy, then the inner blocks.
        const Index block = std::min(j1, s + stage_len) - s;
        T* sb = reinterpret_cast<T*>(sp + extra_bytes);
        const T** sr = reinterpret_cast<const T**>(sp + extra_bytes + stage_bytes);
        for (Index i = 0; i < n; ++i) {
          std::memcpy(sb + i * stage_len, ptrs[i] + s, std::size_t(block) * sizeof(T));
          sr[i] = sb + i * stage_len;
        }
        for (Index b = 0; b < block; b += kSubTile)
          sub(static_cast<const T* const*>(sr), b, s + b, std::min(block, b + kSubTile) - b, sp);
        s += block - kSubTile;  // the loop adds kSubTile
      } else {
        T* nb = reinterpret_cast<T*>(sp + extra_bytes);
        const T** nr = reinterpret_cast<const T**>(sp + extra_bytes + noise_bytes);
        for (Index i = 0; i < n; ++i) {
          T* row = nb + i * kSubTile;
          const T* src = ptrs[i] + s;
          for (Index jj = 0; jj < count; ++jj) row[jj] = transform(i, s + jj, src[jj]);
          nr[i] = row;
        }
        sub(static_cast<const T* const*>(nr), Index(0), s, count, sp);
      }
    }
  });
}

/// Portable tail: coordinates [from, count) of a block, reduced per coordinate.
template <class T, class Reduce>
inline void scalar_block(const T* const* rows, Index n, Index j0src, Index from, Index count,
                         key_t<T>* keys, T* dst, Reduce&& reduce) {
  for (Index jj = from; jj < count; ++jj) {
    for (Index i = 0; i < n; ++i) keys[i] = to_key<T>(rows[i][j0src + jj]);
    sort_keys(keys, n);
    dst[jj] = reduce(static_cast<const key_t<T>*>(keys), n);
  }
}

/// Median of every coordinate (after the transform): SIMD networks.
template <class T, class Transform>
void coordinate_median(const RowsView<T>& g, T* out, Workspace& ws, const Transform& transform) {
  using K = key_t<T>;
  constexpr Index W = simd_width<T>;
  const Index n = g.rows();
  const bool fixed = n <= kMaxFixedNetwork;
  const bool dynamic = !fixed && n <= kMaxNetworkWires;
  Comparator* net = nullptr;
  int net_count = 0;
  if (dynamic) {
    net = ws.get<Comparator>(kSlotNetwork, std::size_t(batcher_size(int(n))));
    net_count = batcher_network(int(n), net);
    net_count = prune_network(net, net_count, int(n - 1) / 2, int(n) / 2 + 1);
  }
  static constexpr auto kBlocks = median_blocks<T>(std::make_index_sequence<kMaxFixedNetwork>{});
  const std::size_t vbytes = dynamic ? std::size_t(n) * sizeof(kvec<T>) : 0;
  const std::size_t extra = vbytes + std::size_t(n) * sizeof(K);
  for_coordinate_blocks(g, ws, transform, extra,
                        [&](const T* const* rows, Index j0src, Index s, Index count, unsigned char* sp) {
                          auto* v = reinterpret_cast<kvec<T>*>(sp);
                          K* keys = reinterpret_cast<K*>(sp + vbytes);
                          Index done = 0;
                          if (fixed) {
                            done = count / W * W;
                            kBlocks[std::size_t(n - 1)](rows, j0src, done, out + s);
                          } else if (dynamic) {
                            done = count / W * W;
                            median_block_dynamic(rows, n, j0src, done, out + s, net, net_count, v);
                          }
                          scalar_block(rows, n, j0src, done, count, keys, out + s,
                                       [](const K* k, Index m) { return median_of_sorted<T>(k, m); });
                        });
}

/// out[j] = reducer over the sorted values of coordinate j: SIMD networks.
template <class T, class Reducer>
void coordinate_sorted(const RowsView<T>& g, T* out, Workspace& ws, const Reducer& reducer) {
  using K = key_t<T>;
  constexpr Index W = simd_width<T>;
  const Index n = g.rows();
  const bool fixed = n <= kMaxFixedNetwork;
  const bool dynamic = !fixed && n <= kMaxNetworkWires;
  Comparator* net = nullptr;
  int net_count = 0;
  if (dynamic) {
    net = ws.get<Comparator>(kSlotNetwork, std::size_t(batcher_size(int(n))));
    net_count = batcher_network(int(n), net);
  }
  static constexpr auto kBlocks = sort_blocks<T>(std::make_index_sequence<kMaxFixedNetwork>{});
  const std::size_t sorted_bytes = (fixed || dynamic) ? std::size_t(n * kSubTile) * sizeof(T) : 0;
  const std::size_t vbytes = dynamic ? std::size_t(n) * sizeof(kvec<T>) : 0;
  const std::size_t extra = sorted_bytes + vbytes + std::size_t(n) * sizeof(K);
  for_coordinate_blocks(g, ws, AsSent{}, extra,
                        [&](const T* const* rows, Index j0src, Index s, Index count, unsigned char* sp) {
                          T* sorted = reinterpret_cast<T*>(sp);
                          auto* v = reinterpret_cast<kvec<T>*>(sp + sorted_bytes);
                          K* keys = reinterpret_cast<K*>(sp + sorted_bytes + vbytes);
                          Index done = 0;
                          if (fixed || dynamic) {
                            done = count / W * W;
                            if (fixed)
                              kBlocks[std::size_t(n - 1)](rows, j0src, done, sorted);
                            else
                              sort_block_dynamic(rows, n, j0src, done, sorted, net, net_count, v);
                            for (Index j = 0; j < done; j += W)
                              reducer.template simd<T>(sorted + j * n, n, out + s + j);
                          }
                          scalar_block(rows, n, j0src, done, count, keys, out + s,
                                       [&](const K* k, Index m) { return reducer.template scalar<T>(k, m); });
                        });
}

// ---------------------------------------------------------------------------
// Mean and sign vote (no ordering needed).

/// out[j] = T(sum_i double(rows[i][j]) / n), summed in row order (double).
template <class T>
void mean_rows(const RowsView<T>& g, T* out, Workspace& ws) {
  constexpr Index WD = simd_width<double>;
  const Index n = g.rows();
  const Index d = g.cols();
  const T** ptrs = ws.get<const T*>(kSlotRowPointers, std::size_t(n));
  for (Index i = 0; i < n; ++i) ptrs[i] = g.row(i);
  const Index tiles = tile_count(d, kParallelTile);
  const int threads = threads_for(n * d, tiles);
  const vec<double> count = vec<double>(double(n));
  parallel_for(tiles, threads, [&](Index t, int) {
    const Index j0 = t * kParallelTile;
    const Index j1 = std::min(d, j0 + kParallelTile);
    Index j = j0;
    if (n > kDirectStreams) {
      // Many rows: accumulate blocks row after row (sequential row segments),
      // the same per-coordinate sums in the same (row) order.
      alignas(64) double acc[kRowBlock];
      for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
        const Index len = std::min(j1, b0 + kRowBlock) - b0;
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
      for (Index u = 0; u < U; ++u) {
        const vec<double> m = acc[u] / count;
        if constexpr (std::is_same_v<T, double>) {
          m.store_unaligned(out + j + u * WD);
        } else {
          alignas(64) double tmp[WD];
          m.store_aligned(tmp);
          for (Index l = 0; l < WD; ++l) out[j + u * WD + l] = T(tmp[l]);
        }
      }
    }
    for (; j < j1; ++j) {
      double s = 0.0;
      for (Index i = 0; i < n; ++i) s += double(ptrs[i][j]);
      out[j] = T(s / double(n));
    }
  });
}

/// out[j] = sign(sum_i sign(rows[i][j])), sign(0) = 0, NaN abstains. Counts are
/// exact (floats hold integers up to 2^24 exactly; n is far smaller).
template <class T>
void sign_vote_rows(const RowsView<T>& g, T* out, Workspace& ws) {
  constexpr Index W = simd_width<T>;
  const Index n = g.rows();
  const Index d = g.cols();
  const T** ptrs = ws.get<const T*>(kSlotRowPointers, std::size_t(n));
  for (Index i = 0; i < n; ++i) ptrs[i] = g.row(i);
  const Index tiles = tile_count(d, kParallelTile);
  const int threads = threads_for(n * d, tiles);
  parallel_for(tiles, threads, [&](Index t, int) {
    const Index j0 = t * kParallelTile;
    const Index j1 = std::min(d, j0 + kParallelTile);
    const vec<T> zero(T(0)), one(T(1));
    Index j = j0;
    if (n > kDirectStreams) {
      // Many rows: count blocks row after row (sequential row segments).
      alignas(64) T votes[kRowBlock];
      for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
        const Index len = std::min(j1, b0 + kRowBlock) - b0;
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
  });
}

}  // namespace robustagg::detail
