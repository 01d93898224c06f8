// robustagg: the coordinate-wise trimmed mean.
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// trimmed-mean(f): per coordinate, drop the f largest and the f smallest
/// values (IEEE totalOrder, so NaN is dropped as an extreme) and average the
/// n - 2f that remain. Requires n > 2f, i.e. n >= 2f+1.
struct TrimmedMean {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "trimmed-mean(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
  }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::coordinate_sorted(g, out, ws, detail::TrimmedReducer{f});
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
