// robustagg: the coordinate-wise mean (not robust: the baseline).
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// mean: out[j] = (1/n) sum_i g[i][j]. Requires n >= 1.
/// Not robust: one NaN or Inf in gives NaN or Inf out.
struct Mean {
  std::string spec() const { return "mean"; }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const { detail::check_shape(*this, n, d, min_rows(), ""); }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::mean_rows(g, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
