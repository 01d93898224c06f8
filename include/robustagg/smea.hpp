// robustagg: SMEA, the smallest maximum eigenvalue averaging (Allouah,
// Guerraoui, Gupta, Pinot, Stephan, "On the Privacy-Robustness-Utility
// Trilemma in Distributed Learning", ICML 2023).
#pragma once

#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "detail/subsets.hpp"
#include "gradients.hpp"
#include "mda.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
// Workspace keys (workspace.hpp) of this header.
struct SmeaSubsetDistances {};
struct SmeaSubsetCurrent {};
struct SmeaSubsetBest {};
struct SmeaSubsetGram {};
struct SmeaSubsetScratch {};

}  // namespace detail

/// smea(f): the subset S of n - f rows whose covariance
/// (1/|S|) sum_{i in S} (x_i - mu_S)(x_i - mu_S)^T has the smallest top
/// eigenvalue (ties: the lexicographically smallest sorted index tuple); the
/// result is mu_S (double, index order). The eigenvalue is computed exactly
/// (to rounding) from the |S| x |S| centred Gram matrix, which the squared
/// distances give, by Jacobi iterations; a subset holding a row with a
/// non-finite value has eigenvalue +Inf. A subset whose diameter / (2|S|) (a
/// lower bound of its top eigenvalue) already exceeds the best one is skipped.
/// Requires n >= 2f+1, C(n, f) <= kMaxSubsets and C(n, f) * (n - f)^3 <=
/// kMaxSmeaWork (else an Error at validate). Cost: one distance pass, then up
/// to C(n, f) eigenproblems of size n - f.
struct Smea {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "smea(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
    if (detail::binomial_capped(n, f) > kMaxSubsets) detail::check_subsets(spec(), n, f);
    const double m = double(n - Index(f));
    if (double(detail::binomial_capped(n, f)) * m * m * m > kMaxSmeaWork)
      detail::check_smea_work(spec(), n, f);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), m = n - Index(f);
    double* D = ws.get<detail::Key<detail::SmeaSubsetDistances, double>>(std::size_t(n * n));
    Index* s = ws.get<detail::Key<detail::SmeaSubsetCurrent, Index>>(std::size_t(m));
    Index* best = ws.get<detail::Key<detail::SmeaSubsetBest, Index>>(std::size_t(m));
    double* K = ws.get<detail::Key<detail::SmeaSubsetGram, double>>(std::size_t(m * m));
    double* r = ws.get<detail::Key<detail::SmeaSubsetScratch, double>>(std::size_t(m));
    pairwise_sq_distances(g, D, ws);
    constexpr double kInf = std::numeric_limits<double>::infinity();
    double best_value = kInf;
    bool found = false;
    for (Index a = 0; a < m; ++a) s[a] = a;
    for (;;) {
      // the subset's value: +Inf with a non-finite row (an infinite distance)
      double diameter = 0.0;
      for (Index a = 0; a < m; ++a)
        for (Index b = a + 1; b < m; ++b) diameter = std::max(diameter, D[s[a] * n + s[b]]);
      double value = kInf;
      if (diameter < kInf && !(found && diameter / (2.0 * double(m)) > best_value * (1.0 + 1e-12))) {
        centred_gram(D, n, s, m, nullptr, K, r);
        jacobi_eigen(K, m, nullptr);
        value = K[top_diagonal(K, m) * (m + 1)] / double(m);
      }
      if (!found || value < best_value) {
        for (Index a = 0; a < m; ++a) best[a] = s[a];
        best_value = value;
        found = true;
      }
      // next m-subset in lexicographic order
      Index a = m - 1;
      while (a >= 0 && s[a] == n - m + a) --a;
      if (a < 0) break;
      ++s[a];
      for (Index b = a + 1; b < m; ++b) s[b] = s[b - 1] + 1;
    }
    mean_of_rows(g, best, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
