// robustagg: Bulyan (El Mhamdi, Guerraoui, Rouault, ICML 2018) over Krum.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "gradients.hpp"
#include "krum.hpp"
#include "workspace.hpp"

namespace robustagg {

namespace detail {

inline constexpr std::size_t kSlotAlive = 6;
inline constexpr std::size_t kSlotPicked = 7;

/// The mean of the beta values of sorted keys k[0, theta) closest to their
/// median: repeatedly drop the end farther from the median (a tie drops the
/// larger value; a NaN distance counts as +Inf) until beta remain.
template <class T>
inline T mean_closest_to_median(const key_t<T>* k, Index theta, Index beta) {
  // The median in double: for float, rounding the mean of the two middle
  // values to float would break the exact ties the rule resolves.
  const double med = theta % 2 == 1 ? double(from_key<T>(k[theta / 2]))
                                     : 0.5 * double(from_key<T>(k[theta / 2 - 1])) +
                                           0.5 * double(from_key<T>(k[theta / 2]));
  auto dist = [med](T v) {
    const double t = std::fabs(double(v) - med);
    return std::isnan(t) ? std::numeric_limits<double>::infinity() : t;
  };
  Index lo = 0, hi = theta;
  while (hi - lo > beta) {
    if (dist(from_key<T>(k[lo])) > dist(from_key<T>(k[hi - 1])))
      ++lo;
    else
      --hi;
  }
  return mean_of_sorted<T>(k, lo, hi);
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
    double* D = ws.get<double>(kSlotDistances, std::size_t(n * n));
    double* scratch = ws.get<double>(kSlotScratch, std::size_t(n));
    unsigned char* alive = ws.get<unsigned char>(kSlotAlive, std::size_t(n));
    const T** picked = ws.get<const T*>(kSlotPicked, std::size_t(theta));
    pairwise_sq_distances(g, D, ws);
    std::fill(alive, alive + n, static_cast<unsigned char>(1));
    for (Index round = 0; round < theta; ++round) {
      const Index remaining = n - round;
      const Index neighbours = std::max<Index>(1, remaining - f - 2);
      Index best = -1;
      double best_score = 0.0;
      for (Index i = 0; i < n; ++i) {
        if (!alive[i]) continue;
        const double s = krum_score(D, n, i, neighbours, alive, scratch);
        if (best < 0 || s < best_score) {
          best = i;
          best_score = s;
        }
      }
      alive[best] = 0;
      picked[round] = g.row(best);
    }
    const RowsView<T> chosen = RowsView<T>::from_rows(picked, theta, g.cols());
    coordinate_sorted(chosen, out, ws, BulyanReducer{beta});
  }
};

}  // namespace robustagg
