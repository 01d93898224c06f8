// robustagg::detail: row primitives on raw pointers, double accumulation.
//
// The building blocks of the rules that work row by row (geometric median,
// centered clipping, CAF): a finiteness check, the squared distance from a
// row to a double vector, and scaled accumulation of a row into a double
// vector. Each is a small free function template over plain loops with
// independent accumulators (so the compiler vectorises them); the order of
// every floating-point operation is fixed by the arguments alone, so a caller
// that cuts its work into fixed blocks gets the same bits on any thread count.
#pragma once

#include <cmath>

#include "../gradients.hpp"

namespace robustagg::detail {

/// True when x[0, d) holds only finite values (x - x is 0 exactly for finite
/// x and NaN for +-Inf and NaN).
template <class T>
inline bool all_finite(const T* x, Index d) {
  constexpr Index U = 8;
  T acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) acc[u] += x[j + u] - x[j + u];
  T tail = 0;
  for (; j < d; ++j) tail += x[j] - x[j];
  T s = tail;
  for (Index u = 0; u < U; ++u) s += acc[u];
  return s == T(0);
}

/// sum_j (double(x[j]) - z[j])^2, in 8 interleaved double accumulators
/// (lane j mod 8), combined pairwise, then the tail.
template <class T>
inline double sq_distance_to(const T* x, const double* z, Index d) {
  constexpr Index U = 8;
  double acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) {
      const double t = double(x[j + u]) - z[j + u];
      acc[u] += t * t;
    }
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < d; ++j) {
    const double t = double(x[j]) - z[j];
    s += t * t;
  }
  return s;
}

/// sum_j (a[j] - b[j])^2 over two double vectors, in the order of sq_distance_to.
inline double sq_distance_dd(const double* a, const double* b, Index d) {
  return sq_distance_to<double>(a, b, d);
}

/// sum_j z[j]^2, in the order of sq_distance_to.
inline double sq_norm(const double* z, Index d) {
  constexpr Index U = 8;
  double acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) acc[u] += z[j + u] * z[j + u];
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < d; ++j) s += z[j] * z[j];
  return s;
}

/// acc[j] += w * double(x[j]).
template <class T>
inline void add_scaled(double* acc, const T* x, double w, Index d) {
  for (Index j = 0; j < d; ++j) acc[j] += w * double(x[j]);
}

/// acc[j] += w * (double(x[j]) - z[j]).
template <class T>
inline void add_scaled_diff(double* acc, const T* x, const double* z, double w, Index d) {
  for (Index j = 0; j < d; ++j) acc[j] += w * (double(x[j]) - z[j]);
}

/// out[j] = double(x[j]).
template <class T>
inline void to_double(double* out, const T* x, Index d) {
  for (Index j = 0; j < d; ++j) out[j] = double(x[j]);
}

/// out[j] = T(z[j]).
template <class T>
inline void from_double(T* out, const double* z, Index d) {
  for (Index j = 0; j < d; ++j) out[j] = T(z[j]);
}

}  // namespace robustagg::detail
