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
#include "detail/row_pass.hpp"
#include "detail/rows.hpp"
#include "gradients.hpp"
#include "mda.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
// Workspace keys (workspace.hpp) of this header.
struct MonnaTrusted {};
struct MonnaRows {};
struct MonnaDistances {};
struct MonnaOrder {};

/// MoNNA's choice from the squared distances dist[0, n) to row t (+Inf for a
/// non-finite row): row t, then the others by (distance, index); the first m
/// in index order go to order[0, m) (order holds n).
inline void monna_select(const double* dist, Index n, Index t, Index m, Index* order) {
  std::iota(order, order + n, Index(0));
  std::swap(order[0], order[t]);
  std::sort(order + 1, order + n, [dist](Index a, Index b) {
    return dist[a] < dist[b] || (!(dist[b] < dist[a]) && a < b);
  });
  std::sort(order, order + m);  // index order for the sum
}

}  // namespace detail

/// monna(f, trusted=t): the mean (double, rows in index order) of the n - f
/// rows closest to row t: row t itself first, then the others by (squared
/// distance to row t, index). A row holding a non-finite value is at infinite
/// distance; a non-finite row t gives NaN everywhere. Requires n >= 2f+1 and
/// 0 <= t < n. Cost: one pass computing the n distances to row t (in double,
/// as the row passes of rows.hpp sum them), and one mean: O(n d).
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
    double* z = ws.get<detail::Key<detail::MonnaTrusted, double>>(std::size_t(d));
    const T** rows = ws.get<detail::Key<detail::MonnaRows, const T*>>(std::size_t(n));
    double* dist = ws.get<detail::Key<detail::MonnaDistances, double>>(std::size_t(n));
    Index* order = ws.get<detail::Key<detail::MonnaOrder, Index>>(std::size_t(n));
    to_double(z, g.row(t), d);
    for (Index i = 0; i < n; ++i) rows[i] = g.row(i);
    sq_distances_to(rows, n, z, d, dist, ws);
    for (Index i = 0; i < n; ++i) dist[i] = finite_or_inf(dist[i]);
    monna_select(dist, n, t, m, order);
    mean_of_rows(g, order, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
