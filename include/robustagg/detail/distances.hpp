// robustagg::detail: the distance engine (portable kernel).
//
// Exact pairwise squared Euclidean distances, computed tile by tile over the
// coordinates: differences are formed from the inputs (never the Gram trick
// |x|^2 + |y|^2 - 2 x.y, which loses everything on nearby vectors), each tile
// sum and the sum across tiles are accumulated in double. A row holding any
// non-finite value gets an infinite distance to every other row.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "tiles.hpp"

namespace robustagg::detail {

inline constexpr std::size_t kSlotDistanceFinite = 1;

/// D is n x n row-major (double). D[i][i] = 0, D symmetric.
template <class T>
void pairwise_sq_distances(const RowsView<T>& g, double* D, Workspace& ws) {
  const Index n = g.rows();
  const Index d = g.cols();
  std::fill(D, D + n * n, 0.0);
  // finite[i] accumulates x - x over row i: 0 for finite values, NaN otherwise.
  double* finite = ws.get<double>(kSlotDistanceFinite, std::size_t(n));
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

/// Krum score of row i among the rows flagged in `alive` (all rows when
/// alive is null): the sum of the `neighbours` smallest distances from i to
/// the other alive rows. `scratch` holds at least n doubles.
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
