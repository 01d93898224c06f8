// robustagg::attacks: Byzantine attack models for simulations, tests and the
// demo. Each overwrites the chosen (Byzantine) rows of an n x d matrix of
// honest gradients; the other rows are left as they are.
//
//   alie      "A little is enough" (Baruch, Baruch, Goldberg, NeurIPS 2019):
//             every Byzantine row = mu - z * sigma, per coordinate, where mu and
//             sigma are the mean and the sample standard deviation (divisor
//             h - 1; 0 when h = 1) over the h honest rows. z defaults to the
//             paper's z_max = Phi^-1((n - s) / n) with s = floor(n/2 + 1) - f,
//             n the number of rows and f the number of Byzantine rows.
//   ipm       inner-product manipulation (Xie, Koyejo, Gupta, "Fall of
//             empires", UAI 2019): every Byzantine row = -eps * mu.
//   reverse   every Byzantine row i = -c * g_i (its own honest gradient).
//   constant  every entry of every Byzantine row = c.
//   gaussian  every entry N(0, sigma^2), from the counter-based generator keyed
//             by (seed, step, row, coordinate).
//   nan / inf every entry NaN / +Inf (faulty hardware, hostile senders).
//   sign-flip every Byzantine row = -mu (ByzFL's sign flipping).
//   mimic     every Byzantine row = a copy of one honest row (Karimireddy, He,
//             Jaggi, ICLR 2022), `worker` counted among the honest rows.
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

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "aggregate.hpp"
#include "detail/format.hpp"
#include "detail/rng.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "spec.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::attacks {

/// The standard normal quantile Phi^-1(p) for 0 < p < 1: Acklam's rational
/// approximation (relative error below 1.2e-9), refined by one Halley step
/// on Phi(x) - p with Phi(x) = erfc(-x / sqrt 2) / 2, which brings it to
/// about double precision.
inline double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) robustagg::detail::fail("normal_quantile needs 0 < p < 1, got p = ", p);
  // Acklam (2003): central region |p - 1/2| <= 1/2 - p_low by a rational
  // function of q = p - 1/2 in q^2; tails by a rational function of
  // t = sqrt(-2 log(tail probability)).
  static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                              -2.759285104469687e+02, 1.383577518672690e+02,
                              -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                              -1.556989798598866e+02, 6.680131188771972e+01,
                              -1.328068155288572e+01};
  static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                              -2.400758277161838e+00, -2.549732539343734e+00,
                              4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                              2.445134137142996e+00, 3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low || p > 1.0 - p_low) {
    const double tail = p < p_low ? p : 1.0 - p;
    const double t = std::sqrt(-2.0 * std::log(tail));
    const double num = ((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5];
    const double den = (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0;
    x = p < p_low ? num / den : -num / den;
  } else {
    const double q = p - 0.5;
    const double s = q * q;
    const double num = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * q;
    const double den = ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1.0;
    x = num / den;
  }
  // Halley: with e = Phi(x) - p and u = e / phi(x), x -= u / (1 + x u / 2).
  const double kSqrt2Pi = 2.5066282746310002;
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * kSqrt2Pi * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

namespace internal {

/// The shortest decimal that reads back as x, without an exponent for
/// magnitudes in [1e-4, 1e15) ("100", not "1e+02").
inline std::string number(double x) {
  std::string s = robustagg::detail::format_number(x);
  const double a = std::fabs(x);
  char buf[64];
  for (int precision = 2; s.find('e') != std::string::npos && a >= 1e-4 && a < 1e15 &&
                          precision <= 17;
       ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) s = buf;
  }
  return s;
}

}  // namespace internal

/// ALIE's default z for n workers of which f are Byzantine:
/// s = floor(n/2 + 1) - f (the honest workers the attackers must win over),
/// z = Phi^-1((n - s) / n). Needs 0 <= f < n and 0 < s.
inline double alie_z(Index n, Index f) {
  if (n < 1 || f < 0 || f >= n)
    robustagg::detail::fail("alie_z(n=", n, ", f=", f, ") needs n >= 1 and 0 <= f < n");
  const Index s = n / 2 + 1 - f;
  if (s <= 0 || s >= n)
    robustagg::detail::fail("alie_z(n=", n, ", f=", f, "): s = floor(n/2 + 1) - f = ", s,
                 " must be in 1..n-1 (give z explicitly)");
  return normal_quantile(double(n - s) / double(n));
}

namespace internal {

using robustagg::detail::fail;

template <class T>
void check_rows(const char* who, const GradientMatrix<T>& g, const std::vector<Index>& byzantine,
                bool need_honest) {
  std::vector<bool> seen(std::size_t(g.rows()), false);
  for (Index i : byzantine) {
    if (i < 0 || i >= g.rows())
      fail(who, ": Byzantine row ", i, " is out of range (the matrix has ", g.rows(), " rows)");
    if (seen[std::size_t(i)]) fail(who, ": Byzantine row ", i, " listed twice");
    seen[std::size_t(i)] = true;
  }
  if (need_honest && Index(byzantine.size()) >= g.rows())
    fail(who, " needs at least one honest row, got ", byzantine.size(), " Byzantine of ",
         g.rows());
}

/// Per coordinate mean (and sample standard deviation when `sd`) of the rows
/// not listed in `byzantine`, accumulated in double.
template <class T>
void honest_moments(const GradientMatrix<T>& g, const std::vector<Index>& byzantine,
                    std::vector<double>& mean, std::vector<double>* sd) {
  const Index n = g.rows(), d = g.cols();
  std::vector<bool> bad(std::size_t(n), false);
  for (Index i : byzantine) bad[std::size_t(i)] = true;
  mean.assign(std::size_t(d), 0.0);
  Index h = 0;
  for (Index i = 0; i < n; ++i) {
    if (bad[std::size_t(i)]) continue;
    ++h;
    for (Index j = 0; j < d; ++j) mean[std::size_t(j)] += double(g(i, j));
  }
  for (double& m : mean) m /= double(h);
  if (!sd) return;
  sd->assign(std::size_t(d), 0.0);
  if (h < 2) return;
  for (Index i = 0; i < n; ++i) {
    if (bad[std::size_t(i)]) continue;
    for (Index j = 0; j < d; ++j) {
      const double t = double(g(i, j)) - mean[std::size_t(j)];
      (*sd)[std::size_t(j)] += t * t;
    }
  }
  for (double& s : *sd) s = std::sqrt(s / double(h - 1));
}

}  // namespace internal

/// ALIE with a given z: Byzantine rows = mean - z * sd over the honest rows.
template <class T>
void alie(GradientMatrix<T>& g, const std::vector<Index>& byzantine, double z) {
  if (byzantine.empty()) return;
  internal::check_rows("alie", g, byzantine, true);
  std::vector<double> mean, sd;
  internal::honest_moments(g, byzantine, mean, &sd);
  for (Index i : byzantine)
    for (Index j = 0; j < g.cols(); ++j)
      g(i, j) = T(mean[std::size_t(j)] - z * sd[std::size_t(j)]);
}

/// ALIE with the paper's z = alie_z(n, f), n = rows, f = Byzantine rows.
template <class T>
void alie(GradientMatrix<T>& g, const std::vector<Index>& byzantine) {
  if (byzantine.empty()) return;
  alie(g, byzantine, alie_z(g.rows(), Index(byzantine.size())));
}

/// IPM: Byzantine rows = -eps * mean of the honest rows.
template <class T>
void ipm(GradientMatrix<T>& g, const std::vector<Index>& byzantine, double eps) {
  if (byzantine.empty()) return;
  internal::check_rows("ipm", g, byzantine, true);
  std::vector<double> mean;
  internal::honest_moments(g, byzantine, mean, nullptr);
  for (Index i : byzantine)
    for (Index j = 0; j < g.cols(); ++j) g(i, j) = T(-eps * mean[std::size_t(j)]);
}

/// Reverse: each Byzantine row i becomes -c * (its own gradient).
template <class T>
void reverse(GradientMatrix<T>& g, const std::vector<Index>& byzantine, double c) {
  internal::check_rows("reverse", g, byzantine, false);
  for (Index i : byzantine) g.row(i) *= T(-c);
}

/// Constant: every entry of each Byzantine row becomes c.
template <class T>
void constant(GradientMatrix<T>& g, const std::vector<Index>& byzantine, double c) {
  internal::check_rows("constant", g, byzantine, false);
  for (Index i : byzantine) g.row(i).setConstant(T(c));
}

/// Gaussian: every entry of each Byzantine row i becomes sigma * xi with xi
/// N(0, 1) keyed by (seed, step, i, coordinate).
template <class T>
void gaussian(GradientMatrix<T>& g, const std::vector<Index>& byzantine, double sigma,
              std::uint64_t seed, std::uint64_t step = 0) {
  internal::check_rows("gaussian", g, byzantine, false);
  const std::uint64_t key = robustagg::detail::mix64(seed) ^ robustagg::detail::mix64(~step);
  for (Index i : byzantine)
    for (Index j = 0; j < g.cols(); ++j)
      g(i, j) = T(sigma * robustagg::detail::gaussian(key, std::uint64_t(i), std::uint64_t(j)));
}

/// Non-finite: every entry of each Byzantine row becomes `value` (NaN, +Inf).
template <class T>
void non_finite(GradientMatrix<T>& g, const std::vector<Index>& byzantine, T value) {
  internal::check_rows("non-finite", g, byzantine, false);
  for (Index i : byzantine) g.row(i).setConstant(value);
}

/// Sign flip: every Byzantine row = -mean of the honest rows.
template <class T>
void sign_flip(GradientMatrix<T>& g, const std::vector<Index>& byzantine) {
  ipm(g, byzantine, 1.0);
}

/// Mimic (Karimireddy, He, Jaggi, ICLR 2022): every Byzantine row = a copy of
/// honest row number `worker`, counted among the honest rows in row order
/// (worker = 0: the first honest row).
template <class T>
void mimic(GradientMatrix<T>& g, const std::vector<Index>& byzantine, Index worker = 0) {
  if (byzantine.empty()) return;
  internal::check_rows("mimic", g, byzantine, true);
  std::vector<bool> bad(std::size_t(g.rows()), false);
  for (Index i : byzantine) bad[std::size_t(i)] = true;
  Index seen = 0, source = -1;
  for (Index i = 0; i < g.rows() && source < 0; ++i)
    if (!bad[std::size_t(i)] && seen++ == worker) source = i;
  if (worker < 0 || source < 0)
    robustagg::detail::fail("mimic(worker=", worker, ") needs 0 <= worker < ",
                            g.rows() - Index(byzantine.size()), " (the number of honest rows)");
  for (Index i : byzantine) g.row(i) = g.row(source);
}

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

/// An attack chosen at run time, parsed from a spec string with the rule
/// grammar: "none", "alie", "alie(z=1.5)", "ipm", "ipm(eps=0.5)",
/// "reverse", "reverse(c=100)", "constant", "constant(c=-100)" (a negative
/// value is written as in "c=-100"), "gaussian(sigma=10, seed=1)", "nan", "inf".
/// Defaults: alie z from alie_z; ipm eps = 0.5; reverse c = 100;
/// constant c = 100; gaussian sigma = 100, seed = 0.
/// Also "sign-flip", "mimic(worker=0)", "optimal-alie(rule=SPEC, max=10,
/// steps=40)", "optimal-ipm(rule=SPEC, max=10, steps=40)" (rule: the
/// defender's rule spec, required), "min-max(p=std)", "min-sum(p=std)"
/// (p = std, unit or sign).
struct Attack {
  enum class Kind {
    none, alie, ipm, reverse, constant, gaussian, nan, inf,
    sign_flip, mimic, optimal_alie, optimal_ipm, min_max, min_sum
  };
  Kind kind = Kind::none;
  double value = 0.0;       // z, eps, c or sigma; max for the optimal attacks
  bool value_given = true;  // false for alie without z (z from alie_z)
  std::uint64_t seed = 0;   // gaussian
  Index worker = 0;         // mimic
  int steps = 40;           // optimal-alie, optimal-ipm: grid intervals
  AnyRule rule;             // optimal-alie, optimal-ipm: the defender's rule
  Direction direction = Direction::std_dev;  // min-max, min-sum

  std::string spec() const {
    using internal::number;
    switch (kind) {
      case Kind::none: return "none";
      case Kind::alie: return value_given ? "alie(z=" + number(value) + ")" : "alie";
      case Kind::ipm: return "ipm(eps=" + number(value) + ")";
      case Kind::reverse: return "reverse(c=" + number(value) + ")";
      case Kind::constant: return "constant(c=" + number(value) + ")";
      case Kind::gaussian:
        return "gaussian(sigma=" + number(value) + ", seed=" + std::to_string(seed) + ")";
      case Kind::nan: return "nan";
      case Kind::inf: return "inf";
      case Kind::sign_flip: return "sign-flip";
      case Kind::mimic: return "mimic(worker=" + std::to_string(worker) + ")";
      case Kind::optimal_alie:
      case Kind::optimal_ipm:
        return std::string(kind == Kind::optimal_alie ? "optimal-alie" : "optimal-ipm") +
               "(rule=" + (rule.empty() ? std::string("?") : rule.spec()) +
               ", max=" + number(value) + ", steps=" + std::to_string(steps) + ")";
      case Kind::min_max: return std::string("min-max(p=") + direction_name(direction) + ")";
      case Kind::min_sum: return std::string("min-sum(p=") + direction_name(direction) + ")";
    }
    return "?";
  }

  /// Overwrites the Byzantine rows of g; `step` varies the Gaussian draw.
  template <class T>
  void apply(GradientMatrix<T>& g, const std::vector<Index>& byzantine,
             std::uint64_t step = 0) const {
    switch (kind) {
      case Kind::none: return;
      case Kind::alie:
        if (value_given)
          alie(g, byzantine, value);
        else
          alie(g, byzantine);
        return;
      case Kind::ipm: ipm(g, byzantine, value); return;
      case Kind::reverse: reverse(g, byzantine, value); return;
      case Kind::constant: constant(g, byzantine, value); return;
      case Kind::gaussian: gaussian(g, byzantine, value, seed, step); return;
      case Kind::nan: non_finite(g, byzantine, std::numeric_limits<T>::quiet_NaN()); return;
      case Kind::inf: non_finite(g, byzantine, std::numeric_limits<T>::infinity()); return;
      case Kind::sign_flip: sign_flip(g, byzantine); return;
      case Kind::mimic: mimic(g, byzantine, worker); return;
      case Kind::optimal_alie:
      case Kind::optimal_ipm:
        if (rule.empty()) robustagg::detail::fail(spec(), ": the defender's rule is empty");
        if (kind == Kind::optimal_alie)
          optimal_alie(g, byzantine, rule, value, steps);
        else
          optimal_ipm(g, byzantine, rule, value, steps);
        return;
      case Kind::min_max: min_max(g, byzantine, direction); return;
      case Kind::min_sum: min_sum(g, byzantine, direction); return;
    }
  }
};

/// Parses an attack spec (see Attack). Throws robustagg::Error on anything
/// malformed or unknown.
inline Attack parse_attack(const std::string& text) {
  const SpecNode node = parse_spec(text);
  SpecArgs a(node, text);
  Attack at;
  // SpecArgs reads non-negative numbers as written; accept a leading '-' for c.
  auto real = [&](const char* key, double fallback) {
    return a.has(key) ? a.get_double(key) : fallback;
  };
  const std::string& name = node.name;
  if (name == "none") {
    a.finish("no parameters");
  } else if (name == "alie") {
    at.kind = Attack::Kind::alie;
    at.value_given = a.has("z");
    at.value = real("z", 0.0);
    a.finish("z");
  } else if (name == "ipm") {
    at.kind = Attack::Kind::ipm;
    at.value = real("eps", 0.5);
    a.finish("eps");
  } else if (name == "reverse") {
    at.kind = Attack::Kind::reverse;
    at.value = real("c", 100.0);
    a.finish("c");
  } else if (name == "constant") {
    at.kind = Attack::Kind::constant;
    at.value = real("c", 100.0);
    a.finish("c");
  } else if (name == "gaussian") {
    at.kind = Attack::Kind::gaussian;
    at.value = real("sigma", 100.0);
    at.seed = a.get_u64("seed", 0);
    a.finish("sigma, seed");
    if (!(at.value >= 0.0)) robustagg::detail::fail("attack '", text, "': sigma must be >= 0");
  } else if (name == "nan") {
    at.kind = Attack::Kind::nan;
    a.finish("no parameters");
  } else if (name == "inf") {
    at.kind = Attack::Kind::inf;
    a.finish("no parameters");
  } else if (name == "sign-flip") {
    at.kind = Attack::Kind::sign_flip;
    a.finish("no parameters");
  } else if (name == "mimic") {
    at.kind = Attack::Kind::mimic;
    at.worker = a.get_int("worker", 0);
    a.finish("worker");
  } else if (name == "optimal-alie" || name == "optimal-ipm") {
    at.kind = name == "optimal-alie" ? Attack::Kind::optimal_alie : Attack::Kind::optimal_ipm;
    if (!a.has("rule"))
      robustagg::detail::fail("attack '", text, "': ", name,
                              " needs rule=SPEC, the defender's rule (e.g. ", name,
                              "(rule=krum(f=2)))");
    at.rule = a.get_rule("rule", [&text](const SpecNode& rule_node) {
      return robustagg::detail::build_rule(rule_node, text);
    });
    at.value = real("max", 10.0);
    at.steps = a.get_int("steps", 40);
    a.finish("rule, max, steps");
    internal::check_search(name.c_str(), at.value, at.steps);
  } else if (name == "min-max" || name == "min-sum") {
    at.kind = name == "min-max" ? Attack::Kind::min_max : Attack::Kind::min_sum;
    if (a.has("p")) {
      std::string p;
      a.get_rule("p", [&](const SpecNode& p_node) {
        if (!p_node.args.empty() || (p_node.name != "std" && p_node.name != "unit" && p_node.name != "sign"))
          robustagg::detail::fail("attack '", text, "': ", name,
                                  ": p must be std, unit or sign, got '", p_node.name, "'");
        p = p_node.name;
        return AnyRule(Mean{});
      });
      at.direction = p == "std" ? Direction::std_dev : p == "unit" ? Direction::unit : Direction::sign;
    }
    a.finish("p");
  } else {
    robustagg::detail::fail("attack '", text, "': unknown attack '", name,
                            "' (known: none, alie, ipm, reverse, constant, gaussian, nan, inf, "
                            "sign-flip, mimic, optimal-alie, optimal-ipm, min-max, min-sum)");
  }
  return at;
}

}  // namespace robustagg::attacks

ROBUSTAGG_FP_END
