// robustagg::detail: the coordinate engine.
//
// A coordinate-wise rule is a function of the n values of one coordinate.
//
// Fast path (SIMD, compiled per architecture and chosen at run time:
// kernels.hpp, kernels/networks-inl.hpp): each lane of a batch is one
// coordinate; the n rows' batches are loaded, turned into order keys (IEEE
// total order, so NaN is an extreme value) and run through a sorting or
// selection network (networks.hpp) whose compare-exchanges are min/max of two
// rows' batches. n <= fixed_networks (32) uses a compile-time network unrolled
// into registers; n <= kMaxNetworkWires (4096) a run-time generated
// comparator list over batches in L1/L2; larger n the portable
// per-coordinate sort below. Tails
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
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "kernels.hpp"
#include "networks.hpp"
#include "order_key.hpp"
#include "parallel.hpp"
#include "strided.hpp"
#include "tiles.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

// Workspace keys (workspace.hpp) of this header.
struct CoordinateKeys {};
struct CoordinateRowPointers {};
struct CoordinateNetwork {};
struct CoordinateThreadScratch {};


// ---------------------------------------------------------------------------
// Portable scalar engine.


/// For every coordinate j: out[j] = reduce(sorted_keys, n), where sorted_keys
/// holds the n values of coordinate j (after `transform(i, j, x)`) as order
/// keys in ascending IEEE total order. The portable engine (single thread).
template <class T, class Transform, class Reduce>
void sorted_coordinates(const RowsView<T>& g, T* out, Workspace& ws, Transform&& transform,
                        Reduce&& reduce) {
  using K = key_t<T>;
  const Index n = g.rows();
  const Index d = g.cols();
  K* keys = ws.get<detail::Key<detail::CoordinateKeys, K>>(std::size_t(n * kCoordinateTile));
  for_each_tile(d, kCoordinateTile, [&](Index j0, Index j1) {
    const Index w = j1 - j0;
    for (Index i = 0; i < n; ++i) {
      for (Index jj = 0; jj < w; ++jj) keys[jj * n + i] = to_key<T>(transform(i, j0 + jj, g(i, j0 + jj)));
    }
    for (Index jj = 0; jj < w; ++jj) {
      K* k = keys + jj * n;
      sort_keys(k, n);
      out[j0 + jj] = reduce(k, n);
    }
  });
}

// ---------------------------------------------------------------------------
// The SIMD engines. The kernels themselves (networks over batches, the
// reducers, the mean and sign passes) are compiled per architecture and
// chosen at run time (kernels.hpp); here are the drivers: tiles, threads,
// staging and workspaces.

/// Coordinates per parallel tile (fixed: independent of the thread count).
inline constexpr Index kParallelTile = 16384;

/// Bytes of a staging block (all n rows), about one core's L2 on the
/// development machine (a measured setting). A fixed constant, not a macro:
/// the library and its users must agree on it.
inline constexpr std::size_t kStageBudget = (std::size_t(1) << 20);

/// Coordinates per staging block for n rows: about kStageBudget bytes, a
/// multiple of kSubTile that divides kParallelTile.
inline Index staging_length(Index n, std::size_t size) {
  Index len = kParallelTile;
  while (len > kSubTile && std::size_t(n * len) * size > kStageBudget) len /= 2;
  return len;
}


template <class Transform, class T, class = void>
struct has_block_form : std::false_type {};
template <class Transform, class T>
struct has_block_form<Transform, T,
                      std::void_t<decltype(std::declval<const Transform&>().block(
                          Index(), Index(), std::declval<const T*>(), std::declval<T*>(), Index()))>>
    : std::true_type {};

/// Reducer tags of coordinate_sorted (the kernels implement them; the scalar
/// forms are the references).
struct TrimmedReducer {
  Index f;
  static constexpr SortedReducer kind = SortedReducer::kTrimmedMean;
  Index param() const { return f; }
  template <class T>
  T scalar(const key_t<T>* k, Index n) const {
    return mean_of_sorted<T>(k, f, n - f);
  }
};

/// Bulyan's coordinate step over theta values: the mean of the beta values
/// closest to their median (bulyan.hpp has the exact procedure).
struct BulyanReducer {
  Index beta;
  static constexpr SortedReducer kind = SortedReducer::kBulyanStep;
  Index param() const { return beta; }
  template <class T>
  T scalar(const key_t<T>* k, Index theta) const {
    return mean_closest_to_median<T>(k, theta, beta);
  }
};

/// dst[k] = transform(i, j0 + k, src[k]), k < count: value by value, or
/// through the transform's own block form (the noise generator's SIMD kernel).
template <class Transform, class T>
void transform_block(const Transform& transform, Index i, Index j0, const T* src, T* dst, Index count) {
  if constexpr (has_block_form<Transform, T>::value) {
    transform.block(i, j0, src, dst, count);
  } else {
    for (Index k = 0; k < count; ++k) dst[k] = transform(i, j0 + k, src[k]);
  }
}

/// Coordinates before the first kMaxBatchBytes (64-byte) boundary of every
/// row, when all rows share the same misalignment (else 0). Eigen's default
/// alignment without -mavx512f is 16 bytes, so a plain build's matrices have
/// every row 16, 32 or 48 bytes past a boundary: every 64-byte load of the
/// AVX-512 kernels would then be split over two cache lines (about 1.4x the
/// time of the sorted-coordinate kernels on the development machine). Starting
/// the tiles at this coordinate makes their loads aligned; the results do not
/// change (each coordinate is reduced on its own).
template <class T>
Index common_lead(const T* const* ptrs, Index n, Index d) {
  if (n <= 0) return 0;
  const std::uintptr_t mis = reinterpret_cast<std::uintptr_t>(ptrs[0]) % kMaxBatchBytes;
  if (mis == 0 || mis % sizeof(T) != 0) return 0;
  for (Index i = 1; i < n; ++i)
    if (reinterpret_cast<std::uintptr_t>(ptrs[i]) % kMaxBatchBytes != mis) return 0;
  const Index lead = Index((kMaxBatchBytes - mis) / sizeof(T));
  return lead < d ? lead : 0;
}

/// Calls sub(rows, j0src, s, count, scratch) for inner blocks of the
/// coordinates, in parallel tiles: rows[i][j0src + jj], jj in [0, count), holds
/// coordinate s + jj of row i after the transform. `scratch` is the calling
/// thread's `extra_bytes` of scratch. The tiles start at common_lead() when
/// the kernels read the rows in place (the first tile also takes the
/// coordinates before it).
template <class T, class Transform, class Sub>
void for_coordinate_blocks(const RowsView<T>& g, Workspace& ws, const Transform& transform,
                           std::size_t extra_bytes, Sub&& sub) {
  const Index n = g.rows();
  const Index d = g.cols();
  const T** ptrs = ws.get<detail::Key<detail::CoordinateRowPointers, const T*>>(std::size_t(n));
  // Strided input (column-major): every block is gathered into contiguous
  // rows first (strided.hpp), through the staging or the transform buffer.
  const bool gathered = !g.contiguous();
  for (Index i = 0; i < n; ++i) ptrs[i] = gathered ? nullptr : g.row(i);
  constexpr bool kAsSent = std::is_same_v<Transform, AsSent>;
  extra_bytes = (extra_bytes + 63) / 64 * 64;
  const std::size_t noise_bytes = std::size_t(n * kSubTile) * sizeof(T);
  // Beyond kDirectStreams rows, reading all rows at the same coordinate (n
  // concurrent streams) falls to a third of the bandwidth on the development
  // machine; then each row's segment of a staging block is first copied into
  // an L2-resident buffer (n short sequential reads) and the network reads it.
  // Gathered input is transposed straight into an L1-sized block per inner
  // block (the noise path's buffer), not into the L2 staging block.
  const bool stage = kAsSent && n > kDirectStreams && !gathered;
  const Index stage_len = stage ? staging_length(n, sizeof(T)) : 0;
  const std::size_t stage_bytes = std::size_t(n * stage_len) * sizeof(T);
  const bool block_buffer = !kAsSent || gathered;  // the inner-block buffer: noise or gather
  const std::size_t bytes = extra_bytes + (stage ? stage_bytes + std::size_t(n) * sizeof(T*) : 0) +
                            (block_buffer ? noise_bytes + std::size_t(n) * sizeof(T*) : 0);
  const Index lead = kAsSent && !stage ? common_lead<T>(ptrs, n, d) : 0;
  const Index tiles = tile_count(d - lead, kParallelTile);
  const int threads = threads_for(n * d, tiles);
  const ThreadScratch scratch = thread_scratch<CoordinateThreadScratch>(ws, threads, bytes);
  parallel_for(tiles, threads, [&](Index t, int tid) {
    unsigned char* sp = scratch.p[tid];
    const Index j0 = t == 0 ? 0 : lead + t * kParallelTile;
    const Index j1 = std::min(d, lead + (t + 1) * kParallelTile);
    for (Index s = j0; s < j1; s += kSubTile) {
      if (s == 0 && lead > 0) {  // the unaligned head, then aligned blocks from `lead`
        sub(static_cast<const T* const*>(ptrs), Index(0), Index(0), lead, sp);
        s = lead - kSubTile;  // the loop adds kSubTile
        continue;
      }
      const Index count = std::min(j1, s + kSubTile) - s;
      if (kAsSent && gathered) {
        T* gb = reinterpret_cast<T*>(sp + extra_bytes);
        const T** gr = reinterpret_cast<const T**>(sp + extra_bytes + noise_bytes);
        gather_block(g, s, count, gb, kSubTile);
        for (Index i = 0; i < n; ++i) gr[i] = gb + i * kSubTile;
        sub(static_cast<const T* const*>(gr), Index(0), s, count, sp);
        continue;
      }
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
        if (gathered) gather_block(g, s, count, nb, kSubTile);
        for (Index i = 0; i < n; ++i) {
          T* row = nb + i * kSubTile;
          transform_block(transform, i, s, gathered ? row : ptrs[i] + s, row, count);
          nr[i] = row;
        }
        sub(static_cast<const T* const*>(nr), Index(0), s, count, sp);
      }
    }
  });
}

/// The Batcher network the kernels need for n rows (fixed_networks < n <=
/// kMaxNetworkWires, fixed_networks the kernels' register-network bound;
/// else none), full or pruned to the median, in the workspace.
inline int network_for(Index n, int fixed_networks, bool median_only, Workspace& ws, Comparator** net) {
  *net = nullptr;
  if (n <= fixed_networks || n > kMaxNetworkWires) return 0;
  *net = ws.get<detail::Key<detail::CoordinateNetwork, Comparator>>(std::size_t(batcher_size(int(n))));
  int count = batcher_network(int(n), *net);
  if (median_only) count = prune_network(*net, count, int(n - 1) / 2, int(n) / 2 + 1);
  return count;
}

/// Median of every coordinate (after the transform): SIMD networks.
template <class T, class Transform>
void coordinate_median(const RowsView<T>& g, T* out, Workspace& ws, const Transform& transform) {
  const Index n = g.rows();
  const auto& k = kernels<T>();
  Comparator* net = nullptr;
  const int net_count = network_for(n, k.fixed_networks, true, ws, &net);
  for_coordinate_blocks(g, ws, transform, coordinate_scratch_bytes(n, sizeof(T)),
                        [&](const T* const* rows, Index j0src, Index s, Index count, unsigned char* sp) {
                          k.median(rows, n, j0src, count, out + s, sp, net, net_count);
                        });
}

/// out[j] = reducer over the sorted values of coordinate j: SIMD networks.
template <class T, class Reducer>
void coordinate_sorted(const RowsView<T>& g, T* out, Workspace& ws, const Reducer& reducer) {
  const Index n = g.rows();
  const auto& k = kernels<T>();
  Comparator* net = nullptr;
  const int net_count = network_for(n, k.fixed_networks, false, ws, &net);
  const SortedReducer kind = Reducer::kind;
  const Index param = reducer.param();
  for_coordinate_blocks(g, ws, AsSent{}, coordinate_scratch_bytes(n, sizeof(T)),
                        [&](const T* const* rows, Index j0src, Index s, Index count, unsigned char* sp) {
                          k.sorted(rows, n, j0src, count, out + s, sp, net, net_count, kind, param);
                        });
}

/// The sign vote after a transform (noisy-sign-vote): each block of rows is
/// transformed into scratch (no copy of the matrix), then voted on.
template <class T, class Transform>
void noisy_sign_vote_rows(const RowsView<T>& g, T* out, Workspace& ws, const Transform& transform) {
  const Index n = g.rows();
  const auto& k = kernels<T>();
  for_coordinate_blocks(g, ws, transform, 0,
                        [&](const T* const* rows, Index j0src, Index s, Index count, unsigned char*) {
                          k.sign_vote(rows, n, j0src, j0src + count, out + s - j0src);
                        });
}

// ---------------------------------------------------------------------------
// Mean and sign vote (no ordering needed).

/// Row pointers of g in the workspace.
template <class T>
const T* const* row_pointers(const RowsView<T>& g, Workspace& ws) {
  const T** ptrs = ws.get<detail::Key<detail::CoordinateRowPointers, const T*>>(std::size_t(g.rows()));
  for (Index i = 0; i < g.rows(); ++i) ptrs[i] = g.row(i);
  return ptrs;
}

struct RowPassThreadScratch {};

/// Runs kernel(rows, n, j0, j1, out) over parallel tiles of g's coordinates.
/// Strided input is gathered block by block into contiguous rows in the
/// calling thread's scratch first (the kernel then sees coordinates [0,
/// block) of the staged rows and writes out + s), which leaves every
/// coordinate's arithmetic as it is for row-major input.
template <class T, class Kernel>
void for_row_tiles(const RowsView<T>& g, T* out, Workspace& ws, Kernel kernel) {
  const Index n = g.rows();
  const Index d = g.cols();
  const Index tiles = tile_count(d, kParallelTile);
  const int threads = threads_for(n * d, tiles);
  if (g.contiguous()) {
    const T* const* ptrs = row_pointers(g, ws);
    parallel_for(tiles, threads, [&](Index t, int) {
      const Index j0 = t * kParallelTile;
      kernel(ptrs, n, j0, std::min(d, j0 + kParallelTile), out);
    });
    return;
  }
  // Blocks of kSubTile coordinates (all n rows), gathered and read in L1.
  const Index stage_len = kSubTile;
  const std::size_t stage_bytes = (std::size_t(n * stage_len) * sizeof(T) + 63) / 64 * 64;
  const ThreadScratch scratch =
      thread_scratch<RowPassThreadScratch>(ws, threads, stage_bytes + std::size_t(n) * sizeof(T*));
  parallel_for(tiles, threads, [&](Index t, int tid) {
    T* sb = scratch.get<T>(tid);
    const T** sr = scratch.get<const T*>(tid, stage_bytes);
    for (Index i = 0; i < n; ++i) sr[i] = sb + i * stage_len;
    const Index j1 = std::min(d, (t + 1) * kParallelTile);
    for (Index s = t * kParallelTile; s < j1; s += stage_len) {
      const Index block = std::min(j1, s + stage_len) - s;
      gather_block(g, s, block, sb, stage_len);
      kernel(static_cast<const T* const*>(sr), n, Index(0), block, out + s);
    }
  });
}

/// out[j] = T(sum_i double(rows[i][j]) / n), summed in row order (double).
template <class T>
void mean_rows(const RowsView<T>& g, T* out, Workspace& ws) {
  for_row_tiles(g, out, ws, kernels<T>().mean);
}

/// out[j] = sign(sum_i sign(rows[i][j])), sign(0) = 0, NaN abstains. Counts are
/// exact (floats hold integers up to 2^24 exactly; n is far smaller).
template <class T>
void sign_vote_rows(const RowsView<T>& g, T* out, Workspace& ws) {
  for_row_tiles(g, out, ws, kernels<T>().sign_vote);
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
