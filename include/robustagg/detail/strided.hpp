// robustagg::detail: input whose rows are not contiguous (Eigen's default
// column-major matrices, NumPy's Fortran-order arrays, transposed or otherwise
// strided tensors).
//
// The coordinate-wise engines (coordinate.hpp) read such input in place: each
// staging block of coordinates is gathered into contiguous rows in L2
// (column-major: W columns at a time, transposed in SIMD registers by the
// `gather` kernel) and the same kernels run on it, so the results are bitwise
// those of row-major input. Every other rule reads rows as rows many times
// (distances, norms, row passes), so it is given one contiguous copy, gathered
// in parallel into the workspace (contiguous_rows below).
#pragma once

#include <algorithm>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "kernels.hpp"
#include "parallel.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

// Workspace key of this header.
struct StridedCopyTag {};

/// Values readable from a strided view's base: up to its last value.
template <class T>
Index strided_extent(const RowsView<T>& g) {
  if (g.rows() <= 0 || g.cols() <= 0) return 0;
  return (g.rows() - 1) * g.row_stride() + (g.cols() - 1) * g.col_stride() + 1;
}

/// dst[i * dst_stride + jj] = g(i, j0 + jj) for every row i and jj < count
/// (g strided: a base and strides, not row pointers).
template <class T>
void gather_block(const RowsView<T>& g, Index j0, Index count, T* dst, Index dst_stride) {
  kernels<T>().gather(g.base(), g.rows(), g.row_stride(), g.col_stride(), j0, count, strided_extent(g),
                      dst, dst_stride);
}

/// Coordinates per parallel tile of the gathered copy.
inline constexpr Index kGatherTile = 4096;

/// `g` itself when its rows are contiguous, else a view of one row-major copy
/// of it in `ws` (gathered in parallel; no allocation after the first call of
/// a shape).
template <class T>
RowsView<T> contiguous_rows(const RowsView<T>& g, Workspace& ws) {
  if (g.contiguous()) return g;
  const Index n = g.rows(), d = g.cols();
  T* copy = ws.get<Key<StridedCopyTag, T>>(std::size_t(n * d));
  const Index tiles = (d + kGatherTile - 1) / kGatherTile;
  parallel_for(tiles, threads_for(n * d, tiles), [&](Index t, int) {
    const Index j0 = t * kGatherTile;
    gather_block(g, j0, std::min(d, j0 + kGatherTile) - j0, copy + j0, d);
  });
  return RowsView<T>::strided(copy, n, d, d);
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
