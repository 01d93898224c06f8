// The plain scalar reference of every robustagg rule, written straight from
// docs/rules.md (definitions) and docs/security.md (non-finite policy), independent of the
// library's kernels: it works on a GradientMatrix<double> copy of the input,
// accumulates in double, orders values with std::sort and an explicit
// total-order comparator, and computes distances pair by pair in coordinate
// order. The only library code it uses is detail::gaussian, which *is* the
// definition of the noise.
//
// Conventions (docs/rules.md): the median of an even count is the mean of the
// two middle values; sign(0) = 0 and NaN abstains in sign votes; Krum ties go
// to the lowest index; Multi-Krum's m = 0 means n - f; Bulyan as documented in
// bulyan.hpp.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <robustagg/detail/rng.hpp>
#include <robustagg/gradients.hpp>

namespace robustagg::reference {

using Matrix = GradientMatrix<double>;
using VectorD = Eigen::VectorXd;

/// The input as doubles (exact for float and double).
template <class Derived>
Matrix to_double(const Eigen::MatrixBase<Derived>& g) {
  return g.template cast<double>();
}

/// IEEE 754 totalOrder on doubles, written by classes rather than bit tricks:
/// -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN. NaNs of one sign compare
/// equal to each other (their payloads do not matter here).
inline bool total_less(double a, double b) {
  auto cls = [](double x) { return std::isnan(x) ? (std::signbit(x) ? -1 : 1) : 0; };
  const int ca = cls(a), cb = cls(b);
  if (ca != cb) return ca < cb;
  if (ca != 0) return false;
  if (a == b) return std::signbit(a) && !std::signbit(b);  // -0 < +0
  return a < b;
}

/// Column j of g, sorted by totalOrder.
inline std::vector<double> sorted_column(const Matrix& g, Index j) {
  std::vector<double> v(std::size_t(g.rows()));
  for (Index i = 0; i < g.rows(); ++i) v[std::size_t(i)] = g(i, j);
  std::sort(v.begin(), v.end(), total_less);
  return v;
}

/// Median of a sorted run: the middle value, or the mean of the two middle
/// values (computed as a/2 + b/2 so that huge values do not overflow).
inline double median_sorted(const std::vector<double>& v) {
  const std::size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return 0.5 * v[n / 2 - 1] + 0.5 * v[n / 2];
}

/// Mean of v[lo, hi) in double.
inline double mean_range(const std::vector<double>& v, std::size_t lo, std::size_t hi) {
  double s = 0.0;
  for (std::size_t i = lo; i < hi; ++i) s += v[i];
  return s / double(hi - lo);
}

inline VectorD mean(const Matrix& g) {
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    double s = 0.0;
    for (Index i = 0; i < g.rows(); ++i) s += g(i, j);
    out[j] = s / double(g.rows());
  }
  return out;
}

inline VectorD median(const Matrix& g) {
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) out[j] = median_sorted(sorted_column(g, j));
  return out;
}

inline VectorD trimmed_mean(const Matrix& g, int f) {
  VectorD out(g.cols());
  const std::size_t n = std::size_t(g.rows());
  for (Index j = 0; j < g.cols(); ++j)
    out[j] = mean_range(sorted_column(g, j), std::size_t(f), n - std::size_t(f));
  return out;
}

/// True when every value of row i is finite.
inline bool row_finite(const Matrix& g, Index i) {
  for (Index j = 0; j < g.cols(); ++j)
    if (!std::isfinite(g(i, j))) return false;
  return true;
}

/// Squared Euclidean distance, +Inf when either row holds a non-finite value.
inline double sq_distance(const Matrix& g, Index a, Index b) {
  if (!row_finite(g, a) || !row_finite(g, b)) return std::numeric_limits<double>::infinity();
  double s = 0.0;
  for (Index j = 0; j < g.cols(); ++j) {
    const double t = g(a, j) - g(b, j);
    s += t * t;
  }
  return s;
}

inline Matrix distances(const Matrix& g) {
  const Index n = g.rows();
  Matrix D = Matrix::Zero(n, n);
  for (Index a = 0; a < n; ++a)
    for (Index b = a + 1; b < n; ++b) D(a, b) = D(b, a) = sq_distance(g, a, b);
  return D;
}

/// Krum score of row i among the rows with alive[i] (all when empty): the sum
/// of the `neighbours` smallest distances to the other alive rows.
inline double krum_score(const Matrix& D, Index i, Index neighbours,
                         const std::vector<bool>& alive = {}) {
  std::vector<double> dist;
  for (Index j = 0; j < D.rows(); ++j)
    if (j != i && (alive.empty() || alive[std::size_t(j)])) dist.push_back(D(i, j));
  std::sort(dist.begin(), dist.end());
  double s = 0.0;
  for (Index k = 0; k < neighbours && k < Index(dist.size()); ++k) s += dist[std::size_t(k)];
  return s;
}

inline std::vector<double> krum_scores(const Matrix& g, int f) {
  const Matrix D = distances(g);
  std::vector<double> s(std::size_t(g.rows()));
  for (Index i = 0; i < g.rows(); ++i) s[std::size_t(i)] = krum_score(D, i, g.rows() - f - 2);
  return s;
}

/// Row indices by ascending score, ties to the lowest index.
inline std::vector<Index> rank(const std::vector<double>& scores) {
  std::vector<Index> order(scores.size());
  std::iota(order.begin(), order.end(), Index(0));
  std::sort(order.begin(), order.end(), [&](Index a, Index b) {
    const double sa = scores[std::size_t(a)], sb = scores[std::size_t(b)];
    return sa < sb || (sa == sb && a < b);
  });
  return order;
}

/// The index of the row Krum returns.
inline Index krum_index(const Matrix& g, int f) { return rank(krum_scores(g, f))[0]; }

inline VectorD krum(const Matrix& g, int f) { return g.row(krum_index(g, f)).transpose(); }

/// The rows Multi-Krum averages (m = 0 means n - f), in rank order.
inline std::vector<Index> multi_krum_rows(const Matrix& g, int f, int m) {
  std::vector<Index> order = rank(krum_scores(g, f));
  order.resize(std::size_t(m == 0 ? g.rows() - f : m));
  return order;
}

inline VectorD multi_krum(const Matrix& g, int f, int m) {
  const std::vector<Index> rows = multi_krum_rows(g, f, m);
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    double s = 0.0;
    for (Index r : rows) s += g(r, j);
    out[j] = s / double(rows.size());
  }
  return out;
}

/// Bulyan's first step: theta = n - 2f rows, picked one by one by Krum over
/// the rows not yet picked (n' rows left: max(1, n' - f - 2) neighbours).
inline std::vector<Index> bulyan_rows(const Matrix& g, int f) {
  const Index n = g.rows();
  const Index theta = n - 2 * Index(f);
  const Matrix D = distances(g);
  std::vector<bool> alive(std::size_t(n), true);
  std::vector<Index> picked;
  for (Index round = 0; round < theta; ++round) {
    const Index left = n - round;
    const Index neighbours = std::max<Index>(1, left - f - 2);
    Index best = -1;
    double best_score = 0.0;
    for (Index i = 0; i < n; ++i) {
      if (!alive[std::size_t(i)]) continue;
      const double s = krum_score(D, i, neighbours, alive);
      if (best < 0 || s < best_score) best = i, best_score = s;  // ties: lowest index
    }
    alive[std::size_t(best)] = false;
    picked.push_back(best);
  }
  return picked;
}

/// Bulyan's second step on one coordinate's picked values: the mean of the
/// beta values closest to their median. Repeatedly drop the end of the sorted
/// run farther from the median; a tie drops the larger value; a NaN distance
/// counts as +Inf.
inline double mean_closest_to_median(std::vector<double> v, std::size_t beta) {
  std::sort(v.begin(), v.end(), total_less);
  const double med = median_sorted(v);
  auto dist = [med](double x) {
    const double t = std::fabs(x - med);
    return std::isnan(t) ? std::numeric_limits<double>::infinity() : t;
  };
  std::size_t lo = 0, hi = v.size();
  while (hi - lo > beta) {
    if (dist(v[lo]) > dist(v[hi - 1]))
      ++lo;
    else
      --hi;
  }
  return mean_range(v, lo, hi);
}

inline VectorD bulyan(const Matrix& g, int f) {
  const std::vector<Index> rows = bulyan_rows(g, f);
  const std::size_t beta = rows.size() - 2 * std::size_t(f);
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    std::vector<double> v;
    for (Index r : rows) v.push_back(g(r, j));
    out[j] = mean_closest_to_median(v, beta);
  }
  return out;
}

inline VectorD sign_vote(const Matrix& g) {
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    long votes = 0;
    for (Index i = 0; i < g.rows(); ++i) {
      const double x = g(i, j);
      if (x > 0) ++votes;
      else if (x < 0) --votes;  // 0, -0 and NaN abstain
    }
    out[j] = votes > 0 ? 1.0 : votes < 0 ? -1.0 : 0.0;
  }
  return out;
}

/// What the workers send under noise of scale b, computed in their type T:
/// g[i][j] + T(b) * T(xi(seed, i, j)) (the product rounded to T, then the
/// sum; the tests build with -ffp-contract=off), and g[i][j] itself when
/// b = 0; xi = detail::gaussian (the noise's definition).
template <class T>
Matrix noisy_input(const Matrix& g, double b, std::uint64_t seed) {
  Matrix out(g.rows(), g.cols());
  for (Index i = 0; i < g.rows(); ++i)
    for (Index j = 0; j < g.cols(); ++j) {
      const T x = T(g(i, j));
      if (b == 0) {
        out(i, j) = double(x);
        continue;
      }
      const T noise = T(b) * T(detail::gaussian(seed, std::uint64_t(i), std::uint64_t(j)));
      out(i, j) = double(x + noise);
    }
  return out;
}

template <class T>
VectorD noisy_median(const Matrix& g, double b, std::uint64_t seed) {
  return median(noisy_input<T>(g, b, seed));
}

template <class T>
VectorD noisy_sign_vote(const Matrix& g, double b, std::uint64_t seed) {
  return sign_vote(noisy_input<T>(g, b, seed));
}

}  // namespace robustagg::reference
