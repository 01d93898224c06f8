// robustagg::detail: the coordinate engine (portable kernel).
//
// A coordinate-wise rule is a function of the n values of one coordinate.
// The engine walks tiles of coordinates; for each tile it transposes the n
// row segments into per-coordinate runs of n order keys (IEEE total order,
// see order_key.hpp), sorts each run and hands it to the rule's reducer.
// Reading n row segments per tile keeps every row stream sequential.
#pragma once

#include <algorithm>

#include "../gradients.hpp"
#include "../workspace.hpp"
#include "order_key.hpp"
#include "tiles.hpp"

namespace robustagg::detail {

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
/// keys in ascending IEEE total order.
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

}  // namespace robustagg::detail
