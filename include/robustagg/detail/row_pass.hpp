// robustagg::detail: tiled passes over rows for the iterative row rules
// (geometric median, centered clipping, CAF), built on the primitives of
// rows.hpp.
//
// The coordinates are cut into fixed tiles of kRowPassTile (run on the thread
// pool) and each tile into blocks of row_pass_block(m, sizeof(T)) coordinates. A weighted step computes a
// block of the new centre from all rows, then, while that block of every row
// is still in cache, each row's squared distance to the new centre: one read
// of the input per iteration. Per-row distance sums are kept per tile and
// added in tile order, so the results are bitwise identical for any thread
// count (tile and block sizes depend on d, m and the scalar type only).
#pragma once

#include <algorithm>
#include <string>

#include "../errors.hpp"

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "parallel.hpp"
#include "rows.hpp"
#include "tiles.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

// Workspace keys (workspace.hpp) of this header.
struct RowPassPartials {};


/// Coordinates per parallel tile of a row pass (fixed).
inline constexpr Index kRowPassTile = 16384;

/// Bytes of the rows' segments of one block (all rows), about one core's L2
/// on the development machine (a measured setting; a fixed constant, so the
/// library and its users agree on it: block sizes decide the summation order).
inline constexpr std::size_t kRowPassBudget = (std::size_t(1) << 19);

/// Coordinates per cache block inside a tile for m rows of `size` bytes: the
/// largest power of two from 512 to kRowPassTile whose m row segments fit the
/// budget (long sequential runs per row read faster than many short ones).
/// Depends on (m, size) only, never on the thread count.
inline Index row_pass_block(Index m, std::size_t size) {
  Index len = kRowPassTile;
  while (len > 512 && std::size_t(m * len) * size > kRowPassBudget) len /= 2;
  return len;
}

/// Workspace slot of the per-tile partial sums of a row pass.
/// Workspace slots of the row rules' own buffers (geometric median, centered
/// clipping, CAF): row flags, row pointers, per-row values, two centres.

inline void check_iterations(const std::string& spec, int iterations) {
  if (iterations < 1) fail(spec, ": iterations must be >= 1, got iterations = ", iterations);
}

/// dist[i] = sum_j (x_i[j] - z[j])^2 for the m rows (double), blocked as above.
template <class T>
void sq_distances_to(const T* const* rows, Index m, const double* z, Index d, double* dist,
                     Workspace& ws) {
  const Index tiles = tile_count(d, kRowPassTile);
  const Index block = row_pass_block(m, sizeof(T));
  double* partials = ws.get<detail::Key<detail::RowPassPartials, double>>(std::size_t(tiles * m));
  const int threads = threads_for(m * d, tiles);
  parallel_for(tiles, threads, [&](Index t, int) {
    const Index j0 = t * kRowPassTile, j1 = std::min(d, j0 + kRowPassTile);
    double* part = partials + t * m;
    for (Index i = 0; i < m; ++i) part[i] = 0.0;
    for (Index b0 = j0; b0 < j1; b0 += block) {
      const Index len = std::min(j1, b0 + block) - b0;
      for (Index i = 0; i < m; ++i) part[i] += sq_distance_to(rows[i] + b0, z + b0, len);
    }
  });
  for (Index i = 0; i < m; ++i) {
    double s = 0.0;
    for (Index t = 0; t < tiles; ++t) s += partials[t * m + i];
    dist[i] = s;
  }
}

/// One weighted step over m rows:
///   acc[j]   = sum_i w_i * x_i[j]              (center == nullptr), or
///            = sum_i w_i * (x_i[j] - center[j])  (center given),
///   z_new[j] = acc[j] / divisor, plus base[j] when base is given,
/// summed in row order in double; rows with w_i = 0 are skipped (they add
/// nothing, even if w_i * x_i would be NaN). When dist is given it receives
/// ||x_i - z_new||^2 for every row; when z_old is given the function returns
/// ||z_new - z_old||^2 and stores ||z_old||^2 in *old_sq_norm.
struct WeightedStep {
  const double* weights = nullptr;
  const double* center = nullptr;
  const double* base = nullptr;
  double divisor = 1.0;
};

template <class T>
double weighted_step(const T* const* rows, Index m, Index d, const WeightedStep& s,
                     double* z_new, const double* z_old, double* old_sq_norm, double* dist,
                     Workspace& ws) {
  const Index tiles = tile_count(d, kRowPassTile);
  const Index block = row_pass_block(m, sizeof(T));
  const Index stride = m + 2;
  double* partials = ws.get<detail::Key<detail::RowPassPartials, double>>(std::size_t(tiles * stride));
  const int threads = threads_for(m * d, tiles);
  parallel_for(tiles, threads, [&](Index t, int) {
    const Index j0 = t * kRowPassTile, j1 = std::min(d, j0 + kRowPassTile);
    double* part = partials + t * stride;
    for (Index i = 0; i < stride; ++i) part[i] = 0.0;
    for (Index b0 = j0; b0 < j1; b0 += block) {
      const Index len = std::min(j1, b0 + block) - b0;
      double* acc = z_new + b0;
      std::fill(acc, acc + len, 0.0);
      for (Index i = 0; i < m; ++i) {
        const double w = s.weights[i];
        if (w == 0.0) continue;
        if (s.center)
          add_scaled_diff(acc, rows[i] + b0, s.center + b0, w, len);
        else
          add_scaled(acc, rows[i] + b0, w, len);
      }
      if (s.base) {
        const double* b = s.base + b0;
        for (Index j = 0; j < len; ++j) acc[j] = b[j] + acc[j] / s.divisor;
      } else {
        for (Index j = 0; j < len; ++j) acc[j] = acc[j] / s.divisor;
      }
      if (z_old) {
        part[m] += sq_distance_dd(acc, z_old + b0, len);
        part[m + 1] += sq_norm(z_old + b0, len);
      }
      if (dist)
        for (Index i = 0; i < m; ++i) part[i] += sq_distance_to(rows[i] + b0, acc, len);
    }
  });
  double delta = 0.0, norm = 0.0;
  for (Index t = 0; t < tiles; ++t) {
    delta += partials[t * stride + m];
    norm += partials[t * stride + m + 1];
  }
  if (dist)
    for (Index i = 0; i < m; ++i) {
      double sum = 0.0;
      for (Index t = 0; t < tiles; ++t) sum += partials[t * stride + i];
      dist[i] = sum;
    }
  if (old_sq_norm) *old_sq_norm = norm;
  return delta;
}

/// Row i's finiteness for the rows of g (one read), ok[i] = 1 or 0, and the
/// pointers of the finite rows in index order in `finite_rows`; returns their
/// count.
template <class T>
Index finite_rows(const RowsView<T>& g, unsigned char* ok, const T** finite_rows, Workspace&) {
  const Index n = g.rows(), d = g.cols();
  const int threads = threads_for(n * d, n);
  parallel_for(n, threads, [&](Index i, int) { ok[i] = all_finite(g.row(i), d) ? 1 : 0; });
  Index m = 0;
  for (Index i = 0; i < n; ++i)
    if (ok[i]) finite_rows[m++] = g.row(i);
  return m;
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
