// robustagg::attacks, the searched attacks: parameters chosen per step by a
// search over the honest rows (and, for the optimal attacks, the defender's
// rule).
//
//   optimal-alie / optimal-ipm
//             ALIE's z / IPM's eps chosen by a line search that maximises
//             ||rule(g) - mu|| against the defender's rule (stages included):
//             internal::line_search documents the grid and refinement.
//   min-max / min-sum
//             Shejwalkar, Houmansadr, NDSS 2021: every Byzantine row =
//             mu - gamma * p (p the honest std, unit mean or sign of the mean),
//             gamma the largest meeting the paper's distance constraint, by
//             bisection (internal::min_max_sum documents start, bound and
//             tolerance).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../aggregate.hpp"
#include "../errors.hpp"
#include "../gradients.hpp"
#include "../rule.hpp"
#include "../workspace.hpp"
#include "basic.hpp"
#include "../detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::attacks {

/// The direction p of min-max and min-sum: m = mean - gamma * p.
enum class Direction {
  std_dev,  // "std": the honest rows' coordinate-wise sample standard deviation (default)
  unit,     // "unit": the honest mean divided by its Euclidean norm
  sign      // "sign": the sign of the honest mean per coordinate (sign(0) = 0)
};

inline const char* direction_name(Direction p) {
  return p == Direction::std_dev ? "std" : p == Direction::unit ? "unit" : "sign";
}

namespace internal {

/// The honest rows (not in `byzantine`), in row order.
template <class T>
std::vector<Index> honest_rows(const GradientMatrix<T>& g, const std::vector<Index>& byzantine) {
  std::vector<bool> bad(std::size_t(g.rows()), false);
  for (Index i : byzantine) bad[std::size_t(i)] = true;
  std::vector<Index> h;
  for (Index i = 0; i < g.rows(); ++i)
    if (!bad[std::size_t(i)]) h.push_back(i);
  return h;
}

/// ||a - b|| in double for a result row against the honest mean; +Inf when
/// the result holds a non-finite value (maximal damage).
template <class T>
double damage(const Vector<T>& out, const std::vector<double>& mean) {
  double s = 0.0;
  for (Index j = 0; j < out.size(); ++j) {
    const double t = double(out[j]) - mean[std::size_t(j)];
    s += t * t;
  }
  return std::isfinite(s) ? std::sqrt(s) : std::numeric_limits<double>::infinity();
}

/// The line search of optimal-alie and optimal-ipm. `fill(x)` writes the
/// Byzantine rows for parameter x; the damage of x is ||rule(g) - mean||.
/// Candidates: the grid x_k = hi * k / steps, k = 0..steps, then `extra`
/// (the plain attack's default); the best of them (the first one on ties)
/// is refined by 24 golden-section steps on [x_best - hi/steps,
/// x_best + hi/steps] clipped to [0, hi], and the best x evaluated anywhere
/// wins. The Byzantine rows are left filled with it; returns it.
template <class T, class Fill>
double line_search(GradientMatrix<T>& g, const AnyRule& rule, const std::vector<double>& mean,
                   double hi, int steps, const std::vector<double>& extra, const Fill& fill) {
  Workspace ws;
  Vector<T> out;
  auto eval = [&](double x) {
    fill(x);
    aggregate(g, rule, out, ws);
    return damage(out, mean);
  };
  double best_x = 0.0, best = -1.0;
  auto consider = [&](double x) {
    const double v = eval(x);
    if (v > best) best = v, best_x = x;
    return v;
  };
  for (int k = 0; k <= steps; ++k) consider(hi * double(k) / double(steps));
  for (double x : extra) consider(x);
  if (std::isfinite(best)) {
    const double h = hi / double(steps);
    double a = std::max(0.0, best_x - h), b = std::min(hi, best_x + h);
    const double r = 0.6180339887498949;  // (sqrt 5 - 1) / 2
    double c = b - r * (b - a), d = a + r * (b - a);
    double fc = consider(c), fd = consider(d);
    for (int it = 0; it < 24; ++it) {
      if (fc >= fd) {
        b = d, d = c, fd = fc;
        c = b - r * (b - a);
        fc = consider(c);
      } else {
        a = c, c = d, fc = fd;
        d = a + r * (b - a);
        fd = consider(d);
      }
    }
  }
  fill(best_x);
  return best_x;
}

inline void check_search(const char* who, double hi, int steps) {
  if (!(hi > 0.0) || !std::isfinite(hi))
    robustagg::detail::fail(who, ": max must be finite and > 0, got max = ", hi);
  if (steps < 1) robustagg::detail::fail(who, ": steps must be >= 1, got steps = ", steps);
}

}  // namespace internal

/// Optimal ALIE: ALIE's rows mean - z * sd with z chosen by
/// internal::line_search over [0, max] (steps + 1 grid points, plain ALIE's
/// default z = alie_z(n, f) when defined, then golden-section refinement) to
/// maximise ||rule(g) - honest mean|| against the defender's rule (stages
/// included). Returns the z used. The rule's own errors propagate.
template <class T>
double optimal_alie(GradientMatrix<T>& g, const std::vector<Index>& byzantine,
                    const AnyRule& rule, double max = 10.0, int steps = 40) {
  if (byzantine.empty()) return 0.0;
  internal::check_rows("optimal-alie", g, byzantine, true);
  internal::check_search("optimal-alie", max, steps);
  std::vector<double> mean, sd;
  internal::honest_moments(g, byzantine, mean, &sd);
  std::vector<double> extra;
  try {
    extra.push_back(alie_z(g.rows(), Index(byzantine.size())));
  } catch (const Error&) {
  }
  return internal::line_search(g, rule, mean, max, steps, extra, [&](double z) {
    for (Index i : byzantine)
      for (Index j = 0; j < g.cols(); ++j)
        g(i, j) = T(mean[std::size_t(j)] - z * sd[std::size_t(j)]);
  });
}

/// Optimal IPM: IPM's rows -eps * mean with eps chosen like optimal_alie's z
/// (grid over [0, max], plain IPM's eps = 0.5, refinement). Returns eps.
template <class T>
double optimal_ipm(GradientMatrix<T>& g, const std::vector<Index>& byzantine, const AnyRule& rule,
                   double max = 10.0, int steps = 40) {
  if (byzantine.empty()) return 0.0;
  internal::check_rows("optimal-ipm", g, byzantine, true);
  internal::check_search("optimal-ipm", max, steps);
  std::vector<double> mean;
  internal::honest_moments(g, byzantine, mean, nullptr);
  return internal::line_search(g, rule, mean, max, steps, {0.5}, [&](double eps) {
    for (Index i : byzantine)
      for (Index j = 0; j < g.cols(); ++j) g(i, j) = T(-eps * mean[std::size_t(j)]);
  });
}

namespace internal {

/// min-max / min-sum (Shejwalkar, Houmansadr, NDSS 2021), on the h honest
/// rows x_i (which must be finite): m(gamma) = mean - gamma * p, evaluated in
/// double through the centred rows (each squared norm expanded, so the search
/// costs one pass over the rows, plus their Gram matrix for min-max). The
/// constraint
///   min-max: max_i ||m - x_i||^2 <= max_{i,j} ||x_i - x_j||^2
///   min-sum: sum_i ||m - x_i||^2 <= min_j sum_i ||x_j - x_i||^2
/// holds on an interval [0, gamma*] (its left side is convex in gamma) and at
/// gamma = 0 in exact arithmetic. The search: if ||p|| = 0 or the constraint
/// fails at 0 (rounding, or all honest rows equal), gamma = 0. Else hi = 1,
/// doubled while the constraint holds (lo = the last hi that held; an error
/// past 2^1000); then bisection of [lo, hi] at the midpoint, at most 200
/// steps, until hi - lo <= 1e-9 * hi. Returns lo: the constraint holds at the
/// returned gamma and fails at every gamma >= hi, so at gamma * (1 + 2e-9)
/// for gamma > 0.
template <class T>
double min_max_sum(GradientMatrix<T>& g, const std::vector<Index>& byzantine, Direction dir,
                   bool sum, const char* who) {
  if (byzantine.empty()) return 0.0;
  check_rows(who, g, byzantine, true);
  const std::vector<Index> h = honest_rows(g, byzantine);
  const Index d = g.cols(), nh = Index(h.size());
  for (Index i : h)
    for (Index j = 0; j < d; ++j)
      if (!std::isfinite(g(i, j)))
        fail(who, ": the honest rows must be finite (row ", i, " is not)");
  std::vector<double> mean, sd;
  honest_moments(g, byzantine, mean, &sd);
  std::vector<double> p(std::size_t(d), 0.0);
  if (dir == Direction::std_dev) {
    p = sd;
  } else {
    double norm = 0.0;
    for (double m : mean) norm += m * m;
    norm = std::sqrt(norm);
    for (Index j = 0; j < d; ++j) {
      const double m = mean[std::size_t(j)];
      p[std::size_t(j)] = dir == Direction::unit ? (norm > 0 ? m / norm : 0.0)
                                                 : (m > 0 ? 1.0 : m < 0 ? -1.0 : 0.0);
    }
  }
  // Everything below is in double, from the centred honest rows c_i = x_i - mean:
  //   ||m(gamma) - x_i||^2 = ||c_i||^2 + 2 gamma <p, c_i> + gamma^2 ||p||^2,
  //   sum_j ||x_i - x_j||^2 = nh ||c_i||^2 + sum_j ||c_j||^2   (sum_j c_j = 0),
  //   ||x_i - x_j||^2 = ||c_i||^2 + ||c_j||^2 - 2 <c_i, c_j>   (min-max only).
  // Each needs one pass over the rows (the Gram matrix of the centred rows for
  // min-max), not one per pair and per bisection step.
  Eigen::MatrixXd c(nh, d);
  for (Index a = 0; a < nh; ++a)
    for (Index j = 0; j < d; ++j) c(a, j) = double(g(h[std::size_t(a)], j)) - mean[std::size_t(j)];
  const Eigen::Map<const Eigen::VectorXd> pv(p.data(), d);
  const Eigen::VectorXd cc = c.rowwise().squaredNorm();  // ||c_i||^2
  const Eigen::VectorXd cp = c * pv;                      // <c_i, p>
  double threshold = 0.0;
  if (sum) {
    threshold = double(nh) * cc.minCoeff() + cc.sum();
  } else {
    Eigen::MatrixXd gram(nh, nh);
    gram.setZero();
    gram.selfadjointView<Eigen::Lower>().rankUpdate(c);
    for (Index a = 0; a < nh; ++a)
      for (Index b = 0; b < a; ++b) threshold = std::max(threshold, cc[a] + cc[b] - 2.0 * gram(a, b));
  }
  double pn = pv.squaredNorm();
  auto holds = [&](double gamma) {
    double lhs = 0.0;
    for (Index i = 0; i < nh; ++i) {
      const double s = cc[i] + 2.0 * gamma * cp[i] + gamma * gamma * pn;
      lhs = sum ? lhs + s : std::max(lhs, s);
    }
    return lhs <= threshold;
  };
  double gamma = 0.0;
  if (pn > 0.0 && holds(0.0)) {
    double lo = 0.0, hi = 1.0;
    while (holds(hi)) {
      lo = hi;
      hi *= 2.0;
      if (hi > 0x1p1000) fail(who, ": the constraint holds for every gamma up to 2^1000");
    }
    for (int it = 0; it < 200 && hi - lo > 1e-9 * hi; ++it) {
      const double mid = lo + 0.5 * (hi - lo);
      (holds(mid) ? lo : hi) = mid;
    }
    gamma = lo;
  }
  for (Index i : byzantine)
    for (Index j = 0; j < d; ++j) g(i, j) = T(mean[std::size_t(j)] - gamma * p[std::size_t(j)]);
  return gamma;
}

}  // namespace internal

/// Min-max (Shejwalkar, Houmansadr, NDSS 2021): every Byzantine row =
/// mean - gamma * p with gamma the largest meeting
/// max_i ||m - x_i||^2 <= max_{i,j} ||x_i - x_j||^2 over the honest rows
/// (search in internal::min_max_sum). Returns gamma.
template <class T>
double min_max(GradientMatrix<T>& g, const std::vector<Index>& byzantine,
               Direction p = Direction::std_dev) {
  return internal::min_max_sum(g, byzantine, p, false, "min-max");
}

/// Min-sum (same paper): as min_max with the constraint
/// sum_i ||m - x_i||^2 <= min_j sum_i ||x_j - x_i||^2. Returns gamma.
template <class T>
double min_sum(GradientMatrix<T>& g, const std::vector<Index>& byzantine,
               Direction p = Direction::std_dev) {
  return internal::min_max_sum(g, byzantine, p, true, "min-sum");
}

}  // namespace robustagg::attacks

ROBUSTAGG_FP_END
