// robustagg: CAF, covariance-bound agnostic filtering (Allouah, Guerraoui,
// Stephan, et al., 2025; ByzFL's CAF).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/distances.hpp"
#include "detail/row_pass.hpp"
#include "detail/subsets.hpp"
#include "gradients.hpp"
#include "mda.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Workspace keys (workspace.hpp) of this header.
struct CafRowFinite {};
struct CafRowPtrs {};
struct CafRowWeights {};
struct CafKept {};
struct CafSubsetDistances {};
struct CafIndex {};
struct CafSubsetGram {};
struct CafVectors {};
struct CafSubsetScratch {};
struct CafRowDist {};
struct CafRootP {};
struct CafProjections {};
struct CafCentreA {};

}  // namespace detail

/// caf(f): weights c_i = 1 for the finite rows (0 for a row holding a
/// non-finite value); while sum c > n - 2f:
///   mu = sum c_i x_i / sum c;  (lambda, v) = the top eigenpair of the
///   weighted covariance sum c_i (x_i - mu)(x_i - mu)^T / sum c;
///   keep mu if lambda is smaller than every lambda before;
///   tau_i = ((x_i - mu) . v)^2 over the rows with c_i > 0;
///   stop if max tau = 0, else c_i <- c_i (1 - tau_i / max tau)
/// (the row of max tau, lowest index on ties, drops to 0, so the loop ends
/// after at most n steps). The result is the kept mu (the mean of the finite
/// rows when the loop does not run, e.g. f = 0), computed in one weighted
/// pass (double, row order); NaN with no finite row. The eigenpair comes
/// exactly (to rounding) from the weighted centred Gram matrix of the finite
/// rows, which the squared distances give, by Jacobi iterations; if it is not
/// finite (distances that overflow double) the loop stops. Requires
/// n >= 2f+1. Cost: one distance pass, then at most n eigenproblems of
/// n x n, then one read of the input.
struct Caf {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "caf(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), d = g.cols();
    unsigned char* ok = ws.get<detail::Key<detail::CafRowFinite, unsigned char>>(std::size_t(n));
    const T** rows = ws.get<detail::Key<detail::CafRowPtrs, const T*>>(std::size_t(n));
    const Index m = finite_rows(g, ok, rows, ws);
    if (m == 0) {
      std::fill(out, out + d, std::numeric_limits<T>::quiet_NaN());
      return;
    }
    double* c = ws.get<detail::Key<detail::CafRowWeights, double>>(std::size_t(m));
    double* kept = ws.get<detail::Key<detail::CafKept, double>>(std::size_t(m));
    std::fill(c, c + m, 1.0);
    std::fill(kept, kept + m, 1.0);
    double total = double(m);
    if (total > double(n - 2 * Index(f))) {
      double* D = ws.get<detail::Key<detail::CafSubsetDistances, double>>(std::size_t(n * n));
      Index* idx = ws.get<detail::Key<detail::CafIndex, Index>>(std::size_t(m));
      double* K = ws.get<detail::Key<detail::CafSubsetGram, double>>(std::size_t(m * m));
      double* M = ws.get<detail::Key<detail::CafVectors, double>>(std::size_t(2 * m * m));
      double* V = M + m * m;
      double* r = ws.get<detail::Key<detail::CafSubsetScratch, double>>(std::size_t(m));
      double* p = ws.get<detail::Key<detail::CafRowDist, double>>(std::size_t(m));
      double* root = ws.get<detail::Key<detail::CafRootP, double>>(std::size_t(m));
      double* tau = ws.get<detail::Key<detail::CafProjections, double>>(std::size_t(m));
      pairwise_sq_distances(g, D, ws);
      for (Index i = 0, a = 0; i < n; ++i)
        if (ok[i]) idx[a++] = i;
      double best = std::numeric_limits<double>::infinity();
      while (total > double(n - 2 * Index(f))) {
        for (Index a = 0; a < m; ++a) {
          p[a] = c[a] / total;
          root[a] = std::sqrt(p[a]);
        }
        centred_gram(D, n, idx, m, p, K, r);
        for (Index a = 0; a < m; ++a)
          for (Index b = 0; b < m; ++b) M[a * m + b] = root[a] * root[b] * K[a * m + b];
        jacobi_eigen(M, m, V);
        const Index top = top_diagonal(M, m);
        const double lambda = M[top * (m + 1)];
        if (!std::isfinite(lambda)) break;
        if (lambda < best) {
          best = lambda;
          std::copy(c, c + m, kept);
        }
        // tau_a = (y_a . v)^2 = (sum_b K_ab sqrt(p_b) u_b)^2 / lambda
        double tau_max = 0.0;
        Index arg = -1;
        for (Index a = 0; a < m; ++a) {
          if (!(c[a] > 0.0)) continue;
          double t = 0.0;
          for (Index b = 0; b < m; ++b) t += K[a * m + b] * root[b] * V[b * m + top];
          tau[a] = lambda > 0.0 ? t * t / lambda : 0.0;
          if (arg < 0 || tau[a] > tau_max) {
            tau_max = tau[a];
            arg = a;
          }
        }
        if (!(tau_max > 0.0)) break;
        total = 0.0;
        for (Index a = 0; a < m; ++a) {
          if (c[a] > 0.0) c[a] = a == arg ? 0.0 : c[a] * (1.0 - tau[a] / tau_max);
          total += c[a];
        }
      }
    }
    double kept_total = 0.0;
    for (Index a = 0; a < m; ++a) kept_total += kept[a];
    double* z = ws.get<detail::Key<detail::CafCentreA, double>>(std::size_t(d));
    WeightedStep step;
    step.weights = kept;
    step.divisor = kept_total;
    weighted_step(rows, m, d, step, z, nullptr, nullptr, nullptr, ws);
    from_double(out, z, d);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
