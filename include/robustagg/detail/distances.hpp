// robustagg::detail: the distance engine.
//
// Exact pairwise squared Euclidean distances in one pass over the rows.
// Differences are formed from the inputs (never the Gram trick
// |x|^2 + |y|^2 - 2 x.y, which loses everything on nearby vectors).
//
// Fast path: the coordinates are cut into tiles of 2048 to 16384 (about 1 MB
// for the n rows: a tile stays in L2 up to n ~ 128). Each pair accumulates
// (x - y)^2 (a multiply and an add, never an FMA) in kDistanceLanes<T>
// virtual lanes (16 floats or 8 doubles, whatever the vector width) over runs
// of kDistanceRun = 16 lane groups from the tile's start, and each run's
// lanes are added into per-lane double accumulators. Register blocks: rows
// i0..i0+3 against rows k0..k0+3 (4 x 4 pairs, AVX-512: each loaded batch
// serves 4 pairs), 2 x 2 (AVX2), or row i against 2 to 8 rows k > i (the
// triangle's diagonal blocks, edges, SSE2). For small n every pair is
// advanced by 512-coordinate sub-blocks (L1); for large n (accumulators of
// all pairs over 256 KB) each register block sweeps the whole tile while its
// accumulators stay in L1, over panels of rows that fit 512 KB (L2). The
// blocking and sweep order never change a pair's sequence of operations, so
// the kernel (compiled per SIMD architecture, kernels/distances-inl.hpp) gives the
// same bits on every architecture. For float input, where both rows are
// finite in a tile, a run is recomputed in double when its float sum is not
// finite (values ~1e19 whose squares overflow float), or when either row has
// a tiny value 0 < |x| < 2^-40 in the tile and some lane of the run is below
// 2^-100 (squares that underflowed could matter there; without tiny values a
// nonzero float difference is >= 2^-63 and its square a normal float, and
// above 2^-100 a lane's underflow error, <= 16 * 2^-150, is <= 2^-46 of it). Tiles are grouped into at most 64 chunks fixed by (n, d)
// alone; each chunk's pair sums (double) are added in chunk order, so the
// distances are bitwise identical for any thread count. A row holding any
// non-finite value gets an infinite distance to every other row.
//
// Portable path: pairwise_sq_distances_scalar, all in double (the reference
// the tests compare against).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "parallel.hpp"
#include "kernels.hpp"
#include "tiles.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

// Workspace keys (workspace.hpp) of this header.
struct DistanceFinite {};
struct DistancePartials {};
struct DistanceRows {};
struct DistanceThreadScratch {};



/// D is n x n row-major (double). D[i][i] = 0, D symmetric. Portable form.
template <class T>
void pairwise_sq_distances_scalar(const RowsView<T>& g, double* D, Workspace& ws) {
  const Index n = g.rows();
  const Index d = g.cols();
  std::fill(D, D + n * n, 0.0);
  // finite[i] accumulates x - x over row i: 0 for finite values, NaN otherwise.
  double* finite = ws.get<detail::Key<detail::DistanceFinite, double>>(std::size_t(n));
  std::fill(finite, finite + n, 0.0);
  for_each_tile(d, kDistanceTile, [&](Index j0, Index j1) {
    for (Index i = 0; i < n; ++i) {
      const T* x = g.row(i);
      T check = 0;
      for (Index j = j0; j < j1; ++j) check += x[j] - x[j];
      finite[i] += double(check);
      for (Index k = i + 1; k < n; ++k) {
        const T* y = g.row(k);
        double s = 0.0;
        for (Index j = j0; j < j1; ++j) {
          const double t = double(x[j]) - double(y[j]);
          s += t * t;
        }
        D[i * n + k] += s;
      }
    }
  });
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i) {
    const bool bad = !(finite[i] == 0.0);
    for (Index k = i + 1; k < n; ++k) {
      if (bad || !(finite[k] == 0.0)) D[i * n + k] = kInf;
      D[k * n + i] = D[i * n + k];
    }
  }
}

/// Bytes of a distance tile (all n rows), about one core's L2 on the
/// development machine (a measured setting). A fixed constant, not a macro:
/// the tile length decides where float runs are summed into double, so the
/// library and its users must agree on it.
inline constexpr std::size_t kDistanceTileBudget = (std::size_t(1) << 20);

/// Coordinates per tile of the fast distance engine for n rows: about
/// kDistanceTileBudget bytes (stays in L2; long sequential row segments read
/// faster), between kDistanceTile and 16384.
inline Index distance_tile(Index n, std::size_t size) {
  Index len = 16384;
  while (len > kDistanceTile && std::size_t(n * len) * size > kDistanceTileBudget) len /= 2;
  return len;
}

/// Chunks of the fast distance engine over `tiles` tiles of n rows (chunk c
/// is tiles [c * tiles / chunks, (c + 1) * tiles / chunks)): fixed by (n, d)
/// alone, at most 64, and at most ~4 MB of partials.
inline Index distance_chunks(Index n, Index tiles) {
  const Index pairs = std::max<Index>(1, n * (n - 1) / 2);
  return std::max<Index>(1, std::min<Index>({tiles, 64, (Index(1) << 19) / pairs}));
}

/// D is n x n row-major (double). D[i][i] = 0, D symmetric. Fast form.
template <class T>
void pairwise_sq_distances(const RowsView<T>& g, double* D, Workspace& ws) {
  constexpr Index L = kDistanceLanes<T>;
  const Index n = g.rows();
  const Index d = g.cols();
  std::fill(D, D + n * n, 0.0);
  if (n < 2) return;
  const Index pairs = n * (n - 1) / 2;
  const Index tile_len = distance_tile(n, sizeof(T));
  const Index tiles = tile_count(d, tile_len);
  const Index chunks = distance_chunks(n, tiles);
  double* partials = ws.get<detail::Key<detail::DistancePartials, double>>(std::size_t(chunks * pairs));
  unsigned char* nonfinite = ws.get<detail::Key<detail::DistanceFinite, unsigned char>>(std::size_t(chunks * n));
  const T** ptrs = ws.get<detail::Key<detail::DistanceRows, const T*>>(std::size_t(n));
  for (Index i = 0; i < n; ++i) ptrs[i] = g.row(i);
  const int threads = threads_for(n * d, chunks);
  const std::size_t acc_bytes = std::size_t(pairs * L) * sizeof(double);
  const ThreadScratch scratch = thread_scratch<DistanceThreadScratch>(ws, threads, acc_bytes + std::size_t(n));
  const auto& k = kernels<T>();
  parallel_for(chunks, threads, [&](Index c, int tid) {
    double* acc = scratch.get<double>(tid);
    unsigned char* tile_finite = scratch.get<unsigned char>(tid, acc_bytes);
    unsigned char* bad = nonfinite + c * n;
    std::fill(acc, acc + pairs * L, 0.0);
    std::fill(bad, bad + n, static_cast<unsigned char>(0));
    const Index t0 = c * tiles / chunks, t1 = (c + 1) * tiles / chunks;
    k.distance_tiles(ptrs, n, d, tile_len, t0, t1, acc, tile_finite, bad);
    double* out = partials + c * pairs;
    for (Index p = 0; p < pairs; ++p) {
      double s = 0.0;
      for (Index l = 0; l < L; ++l) s += acc[p * L + l];
      out[p] = s;
    }
  });
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i) {
    bool bad_i = false;
    for (Index c = 0; c < chunks; ++c) bad_i |= nonfinite[c * n + i] != 0;
    if (bad_i) nonfinite[i] = 1;  // chunk 0's flags now hold the OR (i scanned in order)
  }
  for (Index i = 0; i < n; ++i) {
    for (Index k2 = i + 1; k2 < n; ++k2) {
      const Index p = pair_index(n, i, k2);
      double s = 0.0;
      for (Index c = 0; c < chunks; ++c) s += partials[c * pairs + p];
      if (nonfinite[i] || nonfinite[k2]) s = kInf;
      D[i * n + k2] = s;
      D[k2 * n + i] = s;
    }
  }
}

/// Krum score of row i among the rows flagged in `alive` (all rows when
/// alive is null): the sum of the `neighbours` smallest distances from i to
/// the other alive rows. `scratch` holds at least n doubles.
/// A squared distance that is not finite (a pair with a non-finite row: Inf
/// or NaN) as +Inf, so that it compares as the largest (MDA, MoNNA).
inline double finite_or_inf(double v) {
  return v <= std::numeric_limits<double>::max() ? v : std::numeric_limits<double>::infinity();
}

inline double krum_score(const double* D, Index n, Index i, Index neighbours,
                         const unsigned char* alive, double* scratch) {
  Index m = 0;
  for (Index j = 0; j < n; ++j) {
    if (j == i || (alive && !alive[j])) continue;
    scratch[m++] = D[i * n + j];
  }
  neighbours = std::min(neighbours, m);
  if (neighbours <= 0) return 0.0;
  // Full sort: the sum then runs in ascending order, so it does not depend on
  // the selection algorithm (m is small: the number of workers).
  std::sort(scratch, scratch + m);
  double s = 0.0;
  for (Index j = 0; j < neighbours; ++j) s += scratch[j];
  return s;
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
