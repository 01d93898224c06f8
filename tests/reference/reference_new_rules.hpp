// Plain scalar references of the rules after 2020 (geometric median, centered
// clipping, Meamed, MDA, MoNNA, CAF, SMEA), written from their definitions
// (docs/rules.md), independent of the library's kernels: double copies of the
// input, sums in row order in double, distances pair by pair or directly
// from the rows, subsets enumerated one by one, eigenpairs from Eigen's
// SelfAdjointEigenSolver on Gram matrices of explicitly centred rows.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "reference.hpp"

namespace robustagg::reference {

/// The indices of the rows holding only finite values.
inline std::vector<Index> finite_row_indices(const Matrix& g) {
  std::vector<Index> out;
  for (Index i = 0; i < g.rows(); ++i)
    if (row_finite(g, i)) out.push_back(i);
  return out;
}

/// ||x_i - z||^2, summed in coordinate order.
inline double sq_dist_to(const Matrix& g, Index i, const VectorD& z) {
  double s = 0.0;
  for (Index j = 0; j < g.cols(); ++j) {
    const double t = g(i, j) - z[j];
    s += t * t;
  }
  return s;
}

/// The coordinate-wise median of the listed rows as the library returns it
/// in T (even count: the mean of the two middle values, rounded to T).
template <class T>
VectorD median_of_rows(const Matrix& g, const std::vector<Index>& rows) {
  Matrix sub(Index(rows.size()), g.cols());
  for (std::size_t a = 0; a < rows.size(); ++a) sub.row(Index(a)) = g.row(rows[a]);
  VectorD m = median(sub);
  for (Index j = 0; j < m.size(); ++j) m[j] = double(T(m[j]));
  return m;
}

/// Smoothed Weiszfeld over the finite rows (definition in docs/rules.md).
template <class T>
VectorD geometric_median(const Matrix& g, int iterations, double nu, double tolerance) {
  const std::vector<Index> rows = finite_row_indices(g);
  const Index d = g.cols();
  if (rows.empty()) return VectorD::Constant(d, std::numeric_limits<double>::quiet_NaN());
  VectorD z = median_of_rows<T>(g, rows);
  for (int t = 0; t < iterations; ++t) {
    std::vector<double> w;
    double total = 0.0;
    for (Index i : rows) {
      w.push_back(1.0 / std::max(nu, std::sqrt(sq_dist_to(g, i, z))));
      total += w.back();
    }
    if (!(total > 0.0)) break;
    VectorD next(d);
    for (Index j = 0; j < d; ++j) {
      double s = 0.0;
      for (std::size_t a = 0; a < rows.size(); ++a)
        if (w[a] != 0.0) s += w[a] * g(rows[a], j);
      next[j] = s / total;
    }
    double delta = 0.0, norm = 0.0;
    for (Index j = 0; j < d; ++j) {
      delta += (next[j] - z[j]) * (next[j] - z[j]);
      norm += z[j] * z[j];
    }
    z = next;
    if (std::sqrt(delta) <= tolerance * std::max(1.0, std::sqrt(norm))) break;
  }
  return z;
}

/// Centered clipping from `start` (empty: the median of the finite rows, as T).
template <class T>
VectorD centered_clipping(const Matrix& g, double tau, int iterations, VectorD start = {}) {
  const std::vector<Index> rows = finite_row_indices(g);
  const Index d = g.cols();
  VectorD v;
  if (start.size() == d) {
    v = start;
  } else {
    if (rows.empty()) return VectorD::Constant(d, std::numeric_limits<double>::quiet_NaN());
    v = median_of_rows<T>(g, rows);
  }
  for (int l = 0; l < iterations; ++l) {
    VectorD acc = VectorD::Zero(d);
    for (Index i : rows) {
      const double r = std::sqrt(sq_dist_to(g, i, v));
      const double c = r == 0.0 ? 1.0 : std::min(1.0, tau / r);
      if (c == 0.0) continue;
      for (Index j = 0; j < d; ++j) acc[j] += c * (g(i, j) - v[j]);
    }
    for (Index j = 0; j < d; ++j) acc[j] = v[j] + acc[j] / double(g.rows());
    v = acc;
  }
  return v;
}

/// Meamed: per coordinate the mean of the n - f values closest to the median.
inline VectorD meamed(const Matrix& g, int f) {
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    std::vector<double> v;
    for (Index i = 0; i < g.rows(); ++i) v.push_back(g(i, j));
    out[j] = mean_closest_to_median(v, std::size_t(g.rows() - f));
  }
  return out;
}

/// The mean of the listed rows, summed in the listed order.
inline VectorD mean_of(const Matrix& g, const std::vector<Index>& rows) {
  VectorD out(g.cols());
  for (Index j = 0; j < g.cols(); ++j) {
    double s = 0.0;
    for (Index r : rows) s += g(r, j);
    out[j] = s / double(rows.size());
  }
  return out;
}

/// Calls fn(subset) for every m-subset of [0, n) in lexicographic order.
inline void for_each_subset(Index n, Index m, const std::function<void(const std::vector<Index>&)>& fn) {
  std::vector<Index> s(static_cast<std::size_t>(m));
  std::function<void(Index, Index)> rec = [&](Index depth, Index next) {
    if (depth == m) {
      fn(s);
      return;
    }
    for (Index k = next; k < n; ++k) {
      s[std::size_t(depth)] = k;
      rec(depth + 1, k + 1);
    }
  };
  rec(0, 0);
}

/// Every (n - f)-subset with its value, in lexicographic order.
struct ScoredSubset {
  std::vector<Index> rows;
  double value;
};

inline std::vector<ScoredSubset> mda_subsets(const Matrix& g, int f) {
  const Matrix D = distances(g);
  std::vector<ScoredSubset> out;
  for_each_subset(g.rows(), g.rows() - f, [&](const std::vector<Index>& s) {
    double diam = 0.0;
    for (Index a : s)
      for (Index b : s) diam = std::max(diam, D(a, b));
    out.push_back({s, diam});
  });
  return out;
}

/// MDA's subset from squared distances D (n x n, +Inf allowed) by a pruned
/// depth-first search over the m-subsets in lexicographic order: a partial
/// subset whose diameter already reaches the best one is cut, so the first
/// subset of smallest diameter is kept. Exhaustive in effect (a cut subtree
/// holds no strictly better subset), and fast on spread-out inputs.
inline std::vector<Index> mda_subset_pruned(const Matrix& D, Index m) {
  const Index n = D.rows();
  std::vector<Index> current(static_cast<std::size_t>(m)), best;
  double best_diameter = std::numeric_limits<double>::infinity();
  std::function<void(Index, Index, double)> go = [&](Index depth, Index next, double diameter) {
    if (depth == m) {
      best = current;
      best_diameter = diameter;
      return;
    }
    for (Index k = next; k <= n - (m - depth); ++k) {
      double dk = diameter;
      for (Index a = 0; a < depth; ++a) dk = std::max(dk, D(k, current[std::size_t(a)]));
      if (!best.empty() && !(dk < best_diameter)) continue;
      current[std::size_t(depth)] = k;
      go(depth + 1, k + 1, dk);
    }
  };
  go(0, 0, 0.0);
  return best;
}

/// Top eigenvalue of the covariance (1/m) sum (x - mu)(x - mu)^T of the rows,
/// from the m x m Gram matrix of the explicitly centred rows.
inline double top_covariance_eigenvalue(const Matrix& g, const std::vector<Index>& rows) {
  // a non-finite row, or distances that overflow double: +Inf
  for (Index a : rows)
    for (Index b : rows)
      if (std::isinf(sq_distance(g, a, b))) return std::numeric_limits<double>::infinity();
  const Index m = Index(rows.size());
  const VectorD mu = mean_of(g, rows);
  Matrix Y(m, g.cols());
  for (Index a = 0; a < m; ++a) Y.row(a) = g.row(rows[std::size_t(a)]) - mu.transpose();
  const Eigen::MatrixXd G = Y * Y.transpose() / double(m);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G, Eigen::EigenvaluesOnly);
  return es.eigenvalues().maxCoeff();
}

inline std::vector<ScoredSubset> smea_subsets(const Matrix& g, int f) {
  std::vector<ScoredSubset> out;
  for_each_subset(g.rows(), g.rows() - f, [&](const std::vector<Index>& s) {
    out.push_back({s, top_covariance_eigenvalue(g, s)});
  });
  return out;
}

/// The first subset (lexicographic) of smallest value.
inline const ScoredSubset& best_subset(const std::vector<ScoredSubset>& all) {
  std::size_t best = 0;
  for (std::size_t k = 1; k < all.size(); ++k)
    if (all[k].value < all[best].value) best = k;
  return all[best];
}

/// MoNNA: row t, then the others by (distance to t, index); mean in index order.
inline VectorD monna(const Matrix& g, int f, int t) {
  if (!row_finite(g, t)) return VectorD::Constant(g.cols(), std::numeric_limits<double>::quiet_NaN());
  std::vector<Index> others;
  for (Index i = 0; i < g.rows(); ++i)
    if (i != t) others.push_back(i);
  std::vector<double> dist(std::size_t(g.rows()));
  for (Index i = 0; i < g.rows(); ++i) dist[std::size_t(i)] = sq_distance(g, t, i);
  std::stable_sort(others.begin(), others.end(),
                   [&](Index a, Index b) { return dist[std::size_t(a)] < dist[std::size_t(b)]; });
  std::vector<Index> chosen = {Index(t)};
  for (Index k = 0; k + 1 < g.rows() - f; ++k) chosen.push_back(others[std::size_t(k)]);
  std::sort(chosen.begin(), chosen.end());
  return mean_of(g, chosen);
}

/// CAF on explicitly centred rows (d x d never formed: the weighted Gram
/// matrix G_ab = sqrt(p_a p_b) y_a . y_b has the covariance's eigenvalues).
inline VectorD caf(const Matrix& g, int f) {
  const Index n = g.rows(), d = g.cols();
  const std::vector<Index> rows = finite_row_indices(g);
  if (rows.empty()) return VectorD::Constant(d, std::numeric_limits<double>::quiet_NaN());
  const Index m = Index(rows.size());
  std::vector<double> c(std::size_t(m), 1.0), kept = c;
  auto weighted_mean = [&](const std::vector<double>& w) {
    double total = 0.0;
    for (double x : w) total += x;
    VectorD mu(d);
    for (Index j = 0; j < d; ++j) {
      double s = 0.0;
      for (Index a = 0; a < m; ++a)
        if (w[std::size_t(a)] != 0.0) s += w[std::size_t(a)] * g(rows[std::size_t(a)], j);
      mu[j] = s / total;
    }
    return mu;
  };
  double best = std::numeric_limits<double>::infinity();
  auto total_of = [](const std::vector<double>& w) {
    double s = 0.0;
    for (double x : w) s += x;
    return s;
  };
  while (total_of(c) > double(n - 2 * f)) {
    const double total = total_of(c);
    const VectorD mu = weighted_mean(c);
    Matrix Y(m, d);
    for (Index a = 0; a < m; ++a) Y.row(a) = g.row(rows[std::size_t(a)]) - mu.transpose();
    Eigen::VectorXd root(m);
    for (Index a = 0; a < m; ++a) root[a] = std::sqrt(c[std::size_t(a)] / total);
    const Eigen::MatrixXd G = root.asDiagonal() * (Y * Y.transpose()) * root.asDiagonal();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G);
    Index top = 0;
    es.eigenvalues().maxCoeff(&top);
    const double lambda = es.eigenvalues()[top];
    if (lambda < best) {
      best = lambda;
      kept = c;
    }
    // v = Y^T diag(root) u / sqrt(lambda): the covariance's unit eigenvector
    if (!(lambda > 0.0)) break;
    const Eigen::VectorXd v = Y.transpose() * (root.asDiagonal() * es.eigenvectors().col(top)) /
                              std::sqrt(lambda);
    std::vector<double> tau(std::size_t(m), 0.0);
    double tau_max = 0.0;
    Index arg = -1;
    for (Index a = 0; a < m; ++a) {
      if (!(c[std::size_t(a)] > 0.0)) continue;
      const double p = Y.row(a).dot(v);
      tau[std::size_t(a)] = p * p;
      if (arg < 0 || p * p > tau_max) tau_max = p * p, arg = a;
    }
    if (!(tau_max > 0.0)) break;
    for (Index a = 0; a < m; ++a)
      if (c[std::size_t(a)] > 0.0)
        c[std::size_t(a)] = a == arg ? 0.0 : c[std::size_t(a)] * (1.0 - tau[std::size_t(a)] / tau_max);
  }
  return weighted_mean(kept);
}

}  // namespace robustagg::reference
