// Plain scalar references of the stages (clip, nnm, arc, bucketing), written
// from their definitions, independent of the library's kernels: norms in long
// double (no overflow for any finite double row), distances pair by pair
// (reference::distances), neighbour lists by std::sort on an explicit key,
// means in double. Each returns the stage's output matrix in double.
//
// The only library code used is detail::mix64, which *is* the definition of
// bucketing's permutation (a Fisher-Yates shuffle keyed by (seed, n)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <robustagg/detail/rng.hpp>

#include "reference.hpp"

namespace robustagg::reference {

/// ||row i||, +Inf when the row holds a non-finite value.
inline long double row_norm(const Matrix& g, Index i) {
  if (!row_finite(g, i)) return std::numeric_limits<long double>::infinity();
  long double s = 0.0L;
  for (Index j = 0; j < g.cols(); ++j) s += (long double)g(i, j) * (long double)g(i, j);
  return std::sqrt(s);
}

/// Row i scaled to norm `target` (a finite row of norm > target).
inline void scale_to(Matrix& out, const Matrix& g, Index i, long double norm, long double target) {
  for (Index j = 0; j < g.cols(); ++j) out(i, j) = double((long double)g(i, j) * target / norm);
}

/// clip(c): x * min(1, c / ||x||); non-finite rows unchanged.
inline Matrix clip(const Matrix& g, double c) {
  Matrix out = g;
  for (Index i = 0; i < g.rows(); ++i) {
    if (!row_finite(g, i)) continue;
    const long double norm = row_norm(g, i);
    if (norm > (long double)c) scale_to(out, g, i, norm, c);
  }
  return out;
}

/// The n - f rows nnm averages for row i: i itself, then the others by
/// (non-finite after finite, distance, index).
inline std::vector<Index> nnm_neighbours(const Matrix& g, const Matrix& D, Index i, int f) {
  const Index n = g.rows();
  std::vector<Index> others;
  for (Index j = 0; j < n; ++j)
    if (j != i) others.push_back(j);
  std::sort(others.begin(), others.end(), [&](Index a, Index b) {
    const bool fa = row_finite(g, a), fb = row_finite(g, b);
    if (fa != fb) return fa;
    if (D(i, a) != D(i, b)) return D(i, a) < D(i, b);
    return a < b;
  });
  std::vector<Index> picked = {i};
  for (Index s = 0; s + 1 < n - f; ++s) picked.push_back(others[std::size_t(s)]);
  return picked;
}

/// nnm(f): each finite row -> the mean of its n - f neighbours (itself included).
inline Matrix nnm(const Matrix& g, int f) {
  const Matrix D = distances(g);
  Matrix out = g;
  for (Index i = 0; i < g.rows(); ++i) {
    if (!row_finite(g, i)) continue;
    const std::vector<Index> rows = nnm_neighbours(g, D, i, f);
    for (Index j = 0; j < g.cols(); ++j) {
      double s = 0.0;
      for (Index r : rows) s += g(r, j);
      out(i, j) = s / double(rows.size());
    }
  }
  return out;
}

/// arc(f): k = floor(2f(n-f)/n); C = the (n-k)-th smallest norm; finite rows
/// of norm > C scaled to norm C.
inline Matrix arc(const Matrix& g, int f) {
  const Index n = g.rows();
  const Index k = 2 * Index(f) * (n - f) / n;
  Matrix out = g;
  if (k <= 0) return out;
  std::vector<long double> norms;
  for (Index i = 0; i < n; ++i) norms.push_back(row_norm(g, i));
  std::vector<long double> sorted = norms;
  std::sort(sorted.begin(), sorted.end());
  const long double C = sorted[std::size_t(n - k - 1)];
  for (Index i = 0; i < n; ++i)
    if (row_finite(g, i) && norms[std::size_t(i)] > C) scale_to(out, g, i, norms[std::size_t(i)], C);
  return out;
}

/// bucketing's permutation of 0..n-1: key = mix64(mix64(seed) ^ n); for i from
/// n-1 down to 1 swap positions i and mix64(key ^ i) mod (i + 1).
inline std::vector<Index> bucketing_permutation(Index n, std::uint64_t seed) {
  std::vector<Index> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), Index(0));
  const std::uint64_t key = detail::mix64(detail::mix64(seed) ^ std::uint64_t(n));
  for (Index i = n - 1; i > 0; --i) {
    const auto j = std::size_t(detail::mix64(key ^ std::uint64_t(i)) % std::uint64_t(i + 1));
    std::swap(p[std::size_t(i)], p[j]);
  }
  return p;
}

/// bucketing(s, seed): row b -> mean of permuted rows [b s, min(n, (b+1) s)).
inline Matrix bucketing(const Matrix& g, int s, std::uint64_t seed) {
  const Index n = g.rows();
  const Index groups = (n + s - 1) / s;
  const std::vector<Index> p = bucketing_permutation(n, seed);
  Matrix out(groups, g.cols());
  for (Index b = 0; b < groups; ++b) {
    const Index lo = b * s, hi = std::min(n, lo + s);
    for (Index j = 0; j < g.cols(); ++j) {
      double sum = 0.0;
      for (Index r = lo; r < hi; ++r) sum += g(p[std::size_t(r)], j);
      out(b, j) = sum / double(hi - lo);
    }
  }
  return out;
}

}  // namespace robustagg::reference
