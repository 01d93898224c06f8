// robustagg: the coordinate-wise mean (not robust: the baseline).
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"

namespace robustagg {

/// mean: out[j] = (1/n) sum_i g[i][j]. Requires n >= 1.
/// Not robust: one NaN or Inf in gives NaN or Inf out.
struct Mean {
  std::string spec() const { return "mean"; }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const { detail::check_shape(spec(), n, d, min_rows(), ""); }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    const Index n = g.rows();
    double* acc = ws.get<double>(0, std::size_t(detail::kCoordinateTile));
    detail::for_each_tile(g.cols(), detail::kCoordinateTile, [&](Index j0, Index j1) {
      const Index w = j1 - j0;
      for (Index jj = 0; jj < w; ++jj) acc[jj] = 0.0;
      for (Index i = 0; i < n; ++i) {
        const T* r = g.row(i) + j0;
        for (Index jj = 0; jj < w; ++jj) acc[jj] += double(r[jj]);
      }
      const double inv = 1.0 / double(n);
      for (Index jj = 0; jj < w; ++jj) out[j0 + jj] = T(acc[jj] * inv);
    });
  }
};

}  // namespace robustagg
