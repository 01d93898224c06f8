// robustagg: Bulyan (El Mhamdi, Guerraoui, Rouault, ICML 2018) over Krum.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "gradients.hpp"
#include "krum.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Workspace keys (workspace.hpp) of this header.
struct BulyanSorted {};
struct BulyanIndex {};
struct BulyanAlive {};
struct BulyanDistances {};
struct BulyanPickedIndex {};
struct BulyanPicked {};



/// Bulyan's step 1 on the n x n distance matrix D: picked[r], r < theta, is
/// the row chosen in round r by Krum over the rows not picked before (a
/// remaining set of n' rows uses max(1, n' - f - 2) neighbours; the lowest
/// score wins, ties to the lowest index).
///
/// Each row's distances to the other rows are sorted once (by value, then
/// index). A round walks each remaining row's sorted list, skipping picked
/// rows, and adds the first `neighbours` values in that (ascending) order:
/// the same additions in the same order as krum_score over the remaining rows
/// (distances that compare equal are the same double, D holds no NaN), so
/// every score is bitwise krum_score's. A walk stops early once its partial
/// sum reaches the round's best score so far: the distances are >= 0, so the
/// sum cannot fall below it again, and on a tie the lower index (already
/// seen) wins. Cost: O(n^2 log n) once, then at most n - f - 2 steps per
/// remaining row and round, O(theta * n * (n - f)) in all, without sorting.
/// `scores` (optional, theta doubles): the picked row's score in each round.
inline void bulyan_select(const double* D, Index n, Index f, Index theta, Index* picked,
                          Workspace& ws, double* scores = nullptr) {
  const Index m = n - 1;  // entries per sorted list
  double* sorted = ws.get<detail::Key<detail::BulyanSorted, double>>(std::size_t(n * std::max<Index>(m, 1)));
  std::int32_t* index = ws.get<detail::Key<detail::BulyanIndex, std::int32_t>>(std::size_t(n * std::max<Index>(m, 1)));
  unsigned char* alive = ws.get<detail::Key<detail::BulyanAlive, unsigned char>>(std::size_t(n));
  for (Index i = 0; i < n; ++i) {
    std::int32_t* idx = index + i * m;
    const double* row = D + i * n;
    Index c = 0;
    for (Index j = 0; j < n; ++j)
      if (j != i) idx[c++] = std::int32_t(j);
    std::sort(idx, idx + m, [row](std::int32_t a, std::int32_t b) {
      return row[a] < row[b] || (row[a] == row[b] && a < b);
    });
    double* v = sorted + i * m;
    for (Index c2 = 0; c2 < m; ++c2) v[c2] = row[idx[c2]];
  }
  std::fill(alive, alive + n, static_cast<unsigned char>(1));
  for (Index round = 0; round < theta; ++round) {
    const Index remaining = n - round;
    // krum_score takes min(neighbours, remaining - 1) values (0: score 0).
    const Index neighbours = std::min(std::max<Index>(1, remaining - f - 2), remaining - 1);
    Index best = -1;
    double best_score = 0.0;
    for (Index i = 0; i < n; ++i) {
      if (!alive[i]) continue;
      const std::int32_t* idx = index + i * m;
      const double* v = sorted + i * m;
      double s = 0.0;
      Index taken = 0;
      bool beaten = false;
      for (Index p = 0; taken < neighbours; ++p) {
        if (!alive[idx[p]]) continue;
        s += v[p];
        ++taken;
        if (best >= 0 && !(s < best_score)) {
          beaten = true;
          break;
        }
      }
      if (beaten) continue;
      if (best < 0 || s < best_score) {
        best = i;
        best_score = s;
      }
    }
    alive[best] = 0;
    picked[round] = best;
    if (scores) scores[round] = best_score;
  }
}

}  // namespace detail

/// bulyan(f): (1) pick theta = n-2f rows by applying Krum repeatedly to the
/// rows not yet picked, a remaining set of n' rows using max(1, n'-f-2)
/// neighbours (distances computed once); (2) per coordinate, average the
/// beta = theta-2f picked values closest to the picked values' median.
/// Requires n >= 4f+3.
struct Bulyan {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "bulyan(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 4 * Index(f) + 3; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "4f+3");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows();
    const Index theta = n - 2 * Index(f);
    const Index beta = theta - 2 * Index(f);
    double* D = ws.get<detail::Key<detail::BulyanDistances, double>>(std::size_t(n * n));
    Index* index = ws.get<detail::Key<detail::BulyanPickedIndex, Index>>(std::size_t(theta));
    const T** picked = ws.get<detail::Key<detail::BulyanPicked, const T*>>(std::size_t(theta));
    pairwise_sq_distances(g, D, ws);
    bulyan_select(D, n, Index(f), theta, index, ws);
    for (Index r = 0; r < theta; ++r) picked[r] = g.row(index[r]);
    const RowsView<T> chosen = RowsView<T>::from_rows(picked, theta, g.cols());
    coordinate_sorted(chosen, out, ws, BulyanReducer{beta});
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
