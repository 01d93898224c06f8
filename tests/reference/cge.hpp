// Plain scalar reference of CGE (docs/rules.md), written from its definition:
// norms as long double sums of squares in coordinate order, rows ranked
// finite first, then by (norm, index), the n - f first kept, their mean in
// index order in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "reference_new_rules.hpp"

namespace robustagg::reference {

/// The rows CGE keeps, in index order.
inline std::vector<Index> cge_rows(const Matrix& g, int f) {
  const Index n = g.rows();
  std::vector<long double> sq(static_cast<std::size_t>(n), 0.0L);
  std::vector<bool> finite(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    finite[std::size_t(i)] = row_finite(g, i);
    for (Index j = 0; j < g.cols(); ++j) sq[std::size_t(i)] += (long double)g(i, j) * g(i, j);
  }
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
    const std::size_t x = std::size_t(a), y = std::size_t(b);
    if (finite[x] != finite[y]) return bool(finite[x]);
    if (!finite[x]) return false;  // non-finite rows: index order (stable)
    return sq[x] < sq[y];
  });
  order.resize(std::size_t(n - f));
  std::sort(order.begin(), order.end());
  return order;
}

inline VectorD cge(const Matrix& g, int f) { return mean_of(g, cge_rows(g, f)); }

}  // namespace robustagg::reference
