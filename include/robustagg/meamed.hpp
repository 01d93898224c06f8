// robustagg: Meamed, the mean around the median (Xie, Koyejo, Gupta,
// "Generalized Byzantine-tolerant SGD", 2018).
#pragma once

#include <string>

#include "bulyan.hpp"
#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// meamed(f): per coordinate, the mean (double) of the n - f values closest
/// to the coordinate's median (even n: the mean of the two middle values).
/// It is Bulyan's coordinate step on all n rows (theta = n, beta = n - f):
/// from the sorted values, repeatedly drop the end farther from the median;
/// a tie drops the larger value; NaN (IEEE total order, an extreme) is at
/// infinite distance, so it goes first. Requires n >= 2f+1.
struct Meamed {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "meamed(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
  }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::coordinate_sorted(g, out, ws, detail::BulyanReducer{g.rows() - Index(f)});
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
