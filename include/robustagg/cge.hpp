// robustagg: CGE, comparative gradient elimination (Gupta, Liu, Vaidya,
// "Byzantine Fault-Tolerant Distributed Machine Learning with Norm-Based
// Comparative Gradient Elimination", DSN Workshops 2021).
#pragma once

#include <algorithm>
#include <numeric>
#include <string>

#include "detail/checks.hpp"
#include "detail/parallel.hpp"
#include "gradients.hpp"
#include "mda.hpp"
#include "stages.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
// Workspace keys (workspace.hpp) of this header.
struct CgeNorms {};
struct CgeFinite {};
struct CgeOrder {};
}  // namespace detail

/// cge(f): the mean of the n - f rows of smallest Euclidean norm. Norms in
/// double (detail::row_norm: a row with a non-finite value has norm +Inf);
/// rows are ranked finite rows first, then by (norm, index), so ties go to
/// the lower index and a non-finite row is taken only when fewer than n - f
/// rows are finite. The mean is in double, rows in index order. Requires
/// n >= 2f+1. Cost: one read for the norms, one read of the n - f rows.
///
/// The paper sums the n - f gradients (the step size absorbs the factor);
/// ByzPy and this library take their mean.
struct Cge {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "cge(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, 2 * Index(f) + 1, "2f+1");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), d = g.cols(), m = n - Index(f);
    double* norms = ws.get<Key<CgeNorms, double>>(std::size_t(n));
    unsigned char* finite = ws.get<Key<CgeFinite, unsigned char>>(std::size_t(n));
    Index* order = ws.get<Key<CgeOrder, Index>>(std::size_t(n));
    // One row per task: each norm is computed by one thread, in a fixed order.
    parallel_for(n, stage_threads(n * d, n), [&](Index i, int) {
      bool ok = true;
      norms[i] = row_norm(g.row(i), d, &ok);
      finite[i] = ok;
    });
    std::iota(order, order + n, Index(0));
    std::sort(order, order + n, [norms, finite](Index a, Index b) {
      if (finite[a] != finite[b]) return finite[a] > finite[b];
      if (norms[a] != norms[b]) return norms[a] < norms[b];
      return a < b;
    });
    std::sort(order, order + m);  // index order for the sum
    mean_of_rows(g, order, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
