// robustagg::attacks, the basic attack models: each overwrites the chosen
// (Byzantine) rows of an n x d matrix of honest gradients with a formula of
// the honest rows (or of a seed); the other rows are left as they are.
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
//   label-flip
//             a data attack: the Byzantine workers train on label
//             classes - 1 - y (flip_label); their gradients are honest
//             gradients of the wrong labels, so nothing here rewrites rows.
//
// The attacks that search against the defender's rule are in searched.hpp;
// the catalogue and the spec parser in spec.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/rng.hpp"
#include "../errors.hpp"
#include "../gradients.hpp"
#include "../detail/linkage.hpp"

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

/// Label flipping (a data attack): the label a Byzantine worker trains on
/// instead of y, for labels 0 .. classes - 1: classes - 1 - y.
inline int flip_label(int y, int classes) {
  if (classes < 2 || y < 0 || y >= classes)
    robustagg::detail::fail("label-flip(classes=", classes, ") needs 0 <= label < classes and ",
                            "classes >= 2, got label ", y);
  return classes - 1 - y;
}

}  // namespace robustagg::attacks

ROBUSTAGG_FP_END
