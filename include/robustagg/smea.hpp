// robustagg: SMEA, the smallest maximum eigenvalue averaging (Allouah,
// Guerraoui, Gupta, Pinot, Stephan, "On the Privacy-Robustness-Utility
// Trilemma in Distributed Learning", ICML 2023).
#pragma once

#include <cmath>
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
struct SmeaSubsetFactor {};

/// Whether every eigenvalue of the symmetric m x m matrix K (row-major) is
/// below x: a Cholesky factorisation of x I - K (into L, m x m scratch) that
/// meets no pivot <= 0 (or NaN). Cost m^3 / 6 multiply-adds, far less than an
/// eigen-solver; a pivot near 0 (an eigenvalue within rounding of x) may go
/// either way.
inline bool eigenvalues_below(const double* K, Index m, double x, double* L) {
  for (Index j = 0; j < m; ++j) {
    double* Lj = L + j * m;
    double s = x - K[j * m + j];
    for (Index k = 0; k < j; ++k) s -= Lj[k] * Lj[k];
    if (!(s > 0.0)) return false;
    const double pivot = std::sqrt(s);
    Lj[j] = pivot;
    for (Index i = j + 1; i < m; ++i) {
      double* Li = L + i * m;
      double t = -K[i * m + j];
      for (Index k = 0; k < j; ++k) t -= Li[k] * Lj[k];
      Li[j] = t / pivot;
    }
  }
  return true;
}

/// SMEA's search on the n x n squared distances D (+Inf for a non-finite
/// row): the first m-subset, in lexicographic order, of smallest top
/// covariance eigenvalue, to best[0, m). Every subset is visited; one whose
/// diameter / (2m) (a lower bound of its eigenvalue) exceeds the best value,
/// or whose matrix has no eigenvalue test below it (eigenvalues_below), is
/// skipped; the rest are solved exactly (jacobi_eigen).
inline void smea_search(const double* D, Index n, Index m, Index* best, Workspace& ws) {
  Index* s = ws.get<detail::Key<detail::SmeaSubsetCurrent, Index>>(std::size_t(m));
  double* K = ws.get<detail::Key<detail::SmeaSubsetGram, double>>(std::size_t(m * m));
  double* r = ws.get<detail::Key<detail::SmeaSubsetScratch, double>>(std::size_t(m));
  double* L = ws.get<detail::Key<detail::SmeaSubsetFactor, double>>(std::size_t(m * m));
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
      // the eigen-solver only for a subset that can beat the best one
      if (!found || eigenvalues_below(K, m, best_value * double(m), L)) {
        jacobi_eigen(K, m, nullptr);
        value = K[top_diagonal(K, m) * (m + 1)] / double(m);
      }
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
}

}  // namespace detail

/// smea(f): the subset S of n - f rows whose covariance
/// (1/|S|) sum_{i in S} (x_i - mu_S)(x_i - mu_S)^T has the smallest top
/// eigenvalue (ties: the lexicographically smallest sorted index tuple); the
/// result is mu_S (double, index order). The eigenvalue is computed exactly
/// (to rounding) from the |S| x |S| centred Gram matrix, which the squared
/// distances give, by Jacobi iterations; a subset holding a row with a
/// non-finite value has eigenvalue +Inf. A subset whose diameter / (2|S|) (a
/// lower bound of its top eigenvalue) already exceeds the best one is skipped,
/// and so is one whose Gram matrix a Cholesky test shows has no eigenvalue
/// below the best (an eigenvalue within rounding of the best may go either
/// way, as it may in the solver). Requires n >= 2f+1 and C(n, f) * ((n - f)^3
/// / 6 + 2 (n - f)^2) <= kMaxSmeaWork (else an Error at validate). Cost: one
/// distance pass, then C(n, f) Gram matrices and tests of size n - f, and an
/// eigen-solve for each subset that beats the best so far.
struct Smea {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "smea(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
    if (detail::smea_work(n, f) > kMaxSmeaWork) detail::check_smea_work(spec(), n, f);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), m = n - Index(f);
    double* D = ws.get<detail::Key<detail::SmeaSubsetDistances, double>>(std::size_t(n * n));
    Index* best = ws.get<detail::Key<detail::SmeaSubsetBest, Index>>(std::size_t(m));
    pairwise_sq_distances(g, D, ws);
    smea_search(D, n, m, best, ws);
    mean_of_rows(g, best, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
