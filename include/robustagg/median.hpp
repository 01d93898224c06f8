// robustagg: the coordinate-wise median.
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// median: out[j] = median_i g[i][j]; for even n the mean of the two middle
/// values. Values are ordered by IEEE totalOrder, so NaN is an extreme value.
/// Requires n >= 1.
struct Median {
  std::string spec() const { return "median"; }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const { detail::check_shape(*this, n, d, min_rows(), ""); }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::coordinate_median(g, out, ws, detail::AsSent{});
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
