// robustagg: MoNNA, the mean of the nearest neighbours of a trusted worker
// (Farhadkhani, Guerraoui, Gupta, Hoang, Pinot, Stephan, "Robust Collaborative
// Learning with Linear Gradient Overhead", ICML 2023).
#pragma once

#include <algorithm>
#include <limits>
#include <numeric>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "detail/rows.hpp"
#include "gradients.hpp"
#include "mda.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
// Workspace keys (workspace.hpp) of this header.
struct MonnaSubsetDistances {};
struct MonnaSubsetCurrent {};

}  // namespace detail

/// monna(f, trusted=t): the mean (double, rows in index order) of the n - f
/// rows closest to row t: row t itself first, then the others by (squared
/// distance to row t, index). A row holding a non-finite value is at infinite
/// distance; a non-finite row t gives NaN everywhere. Requires n >= 2f+1 and
/// 0 <= t < n. Cost: one distance pass and one mean.
struct Monna {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated
  int trusted = 0;          // t: the row of the worker the server trusts

  std::string spec() const {
    return "monna(f=" + detail::f_text(f) + ", trusted=" + std::to_string(trusted) + ")";
  }
  Index min_rows() const { return std::max<Index>(2 * Index(f) + 1, Index(trusted) + 1); }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, 2 * Index(f) + 1, "2f+1");
    if (trusted < 0 || trusted >= n)
      detail::fail(spec(), " needs 0 <= trusted < n = ", n, ", got trusted = ", trusted);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), d = g.cols(), m = n - Index(f), t = trusted;
    if (!all_finite(g.row(t), d)) {
      std::fill(out, out + d, std::numeric_limits<T>::quiet_NaN());
      return;
    }
    double* D = ws.get<detail::Key<detail::MonnaSubsetDistances, double>>(std::size_t(n * n));
    Index* order = ws.get<detail::Key<detail::MonnaSubsetCurrent, Index>>(std::size_t(n));
    pairwise_sq_distances(g, D, ws);
    const double* Dt = D + t * n;
    std::iota(order, order + n, Index(0));
    std::swap(order[0], order[t]);
    std::sort(order + 1, order + n, [Dt](Index a, Index b) {
      return Dt[a] < Dt[b] || (!(Dt[b] < Dt[a]) && a < b);
    });
    std::sort(order, order + m);  // index order for the sum
    mean_of_rows(g, order, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
