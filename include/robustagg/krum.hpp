// robustagg: Krum and Multi-Krum (Blanchard et al., NeurIPS 2017).
#pragma once

#include <algorithm>
#include <numeric>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Workspace keys (workspace.hpp) of this header.
struct KrumDistances {};
struct KrumScores {};
struct KrumScratch {};
struct KrumOrder {};
struct MultiKrumRows {};



/// Krum scores of all n rows: score(i) = sum of the n-f-2 smallest squared
/// distances from row i to the others. Returns the scores array (n doubles in
/// the workspace); D is left in the workspace too.
template <class T>
const double* krum_scores(const RowsView<T>& g, int f, Workspace& ws) {
  const Index n = g.rows();
  double* D = ws.get<detail::Key<detail::KrumDistances, double>>(std::size_t(n * n));
  double* scores = ws.get<detail::Key<detail::KrumScores, double>>(std::size_t(n));
  double* scratch = ws.get<detail::Key<detail::KrumScratch, double>>(std::size_t(n));
  pairwise_sq_distances(g, D, ws);
  for (Index i = 0; i < n; ++i) scores[i] = krum_score(D, n, i, n - f - 2, nullptr, scratch);
  return scores;
}

/// Row indices ordered by (score, index): ties go to the lowest index.
inline Index* rank_by_score(const double* scores, Index n, Workspace& ws) {
  Index* order = ws.get<detail::Key<detail::KrumOrder, Index>>(std::size_t(n));
  std::iota(order, order + n, Index(0));
  // std::sort with the index as tie-break: the stable order, without
  // stable_sort's temporary buffer (steady state allocates nothing).
  std::sort(order, order + n, [scores](Index a, Index b) {
    return scores[a] < scores[b] || (!(scores[b] < scores[a]) && a < b);
  });
  return order;
}

}  // namespace detail

/// krum(f): score(i) = sum of the n-f-2 smallest squared distances
/// ||g_i - g_j||^2 over j != i; the result is the row with the lowest score
/// (ties to the lowest index), returned exactly. A row with any non-finite
/// value is at infinite distance from every row. Requires n >= 2f+3.
struct Krum {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "krum(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 3; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+3");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    const Index n = g.rows();
    const double* scores = detail::krum_scores(g, f, ws);
    Index best = 0;
    for (Index i = 1; i < n; ++i)
      if (scores[i] < scores[best]) best = i;
    const T* r = g.row(best);
    std::copy(r, r + g.cols(), out);
  }
};

/// multi-krum(f, m): the coordinate-wise mean of the m rows with the lowest
/// Krum scores (scores computed once, ties to the lowest index). m = 0 means
/// n - f. Requires n >= 2f+3 and 1 <= m <= n.
struct MultiKrum {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated
  int m = 0;

  std::string spec() const {
    return "multi-krum(f=" + detail::f_text(f) + ", m=" + std::to_string(m) + ")";
  }
  Index min_rows() const { return std::max<Index>(2 * Index(f) + 3, m); }
  /// The number of rows averaged for n gradients.
  Index selected(Index n) const { return m == 0 ? n - f : Index(m); }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    if (m < 0) detail::fail(spec(), ": m must be >= 0 (0 means n - f), got m = ", m);
    detail::check_shape(*this, n, d, 2 * Index(f) + 3, "2f+3");
    if (m > n) detail::fail(spec(), " needs 1 <= m <= n = ", n, ", got m = ", m);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    const Index n = g.rows();
    const Index k = selected(n);
    const double* scores = detail::krum_scores(g, f, ws);
    const Index* order = detail::rank_by_score(scores, n, ws);
    const T** rows = ws.get<detail::Key<detail::MultiKrumRows, const T*>>(std::size_t(k));
    for (Index s = 0; s < k; ++s) rows[s] = g.row(order[s]);  // rank order, as summed
    detail::mean_rows(RowsView<T>::from_rows(rows, k, g.cols()), out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
