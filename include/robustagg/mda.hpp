// robustagg: MDA, minimum-diameter averaging (El Mhamdi, Guerraoui, Rouault,
// "Distributed Momentum for Byzantine-resilient Stochastic Gradient Descent",
// ICLR 2021; after Rousseeuw's minimum volume ellipsoid).
#pragma once

#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "detail/subsets.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Workspace keys (workspace.hpp) of this header.
struct MdaSubsetRows {};
struct MdaSubsetDistances {};
struct MdaSubsetCurrent {};
struct MdaSubsetBest {};



/// Depth-first search over the m-subsets of [0, n) in lexicographic order of
/// their sorted index tuples, for the smallest diameter max_{a,b in S} D_ab.
/// A partial subset whose diameter is already >= the best one found is cut
/// (every completion comes later in the order and is no smaller), so ties go
/// to the lexicographically smallest subset.
struct DiameterSearch {
  const double* D;
  Index n, m;
  Index* current;
  Index* best;
  double best_diameter = std::numeric_limits<double>::infinity();
  bool found = false;

  void run() { go(0, 0, 0.0); }
  void go(Index depth, Index next, double diameter) {
    if (depth == m) {
      for (Index a = 0; a < m; ++a) best[a] = current[a];
      best_diameter = diameter;
      found = true;
      return;
    }
    for (Index k = next; k <= n - (m - depth); ++k) {
      double dk = diameter;
      const double* Dk = D + k * n;
      for (Index a = 0; a < depth; ++a) dk = std::max(dk, Dk[current[a]]);
      if (found && !(dk < best_diameter)) continue;
      current[depth] = k;
      go(depth + 1, k + 1, dk);
    }
  }
};

/// The mean (double, rows in index order) of rows idx[0, m) of g.
template <class T>
void mean_of_rows(const RowsView<T>& g, const Index* idx, Index m, T* out, Workspace& ws) {
  const T** rows = ws.get<detail::Key<detail::MdaSubsetRows, const T*>>(std::size_t(m));
  for (Index a = 0; a < m; ++a) rows[a] = g.row(idx[a]);
  mean_rows(RowsView<T>::from_rows(rows, m, g.cols()), out, ws);
}

}  // namespace detail

/// mda(f): the subset S of n - f rows with the smallest diameter
/// max_{i,j in S} ||x_i - x_j||^2 (ties: the lexicographically smallest
/// sorted index tuple); the result is the mean of S (double, index order).
/// A row holding a non-finite value is at infinite distance from every row,
/// so it is in S only when more than f rows are non-finite. Requires
/// n >= 2f+1 and C(n, f) <= kMaxSubsets (else an Error at validate).
/// Cost: one distance pass, then a pruned search over at most C(n, f)
/// subsets on the n x n matrix, then one mean.
struct Mda {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "mda(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
    if (detail::binomial_capped(n, f) > kMaxSubsets) detail::check_subsets(spec(), n, f);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), m = n - Index(f);
    double* D = ws.get<detail::Key<detail::MdaSubsetDistances, double>>(std::size_t(n * n));
    Index* current = ws.get<detail::Key<detail::MdaSubsetCurrent, Index>>(std::size_t(m));
    Index* best = ws.get<detail::Key<detail::MdaSubsetBest, Index>>(std::size_t(m));
    pairwise_sq_distances(g, D, ws);
    DiameterSearch search{D, n, m, current, best};
    search.run();
    mean_of_rows(g, best, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
