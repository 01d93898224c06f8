// robustagg::detail: row primitives on raw pointers, double accumulation.
//
// The building blocks of the rules that work row by row (geometric median,
// centered clipping, CAF): a finiteness check, the squared distance from a
// row to a double vector, and scaled accumulation of a row into a double
// vector. Each is defined by a plain loop with independent accumulators (the
// *_scalar functions below, the tests' references); the calls go to the
// dispatched SIMD kernels (kernels/rows-inl.hpp), which keep those lanes and
// operations and so give the same bits on every architecture. The order of
// every floating-point operation is fixed by the arguments alone, so a caller
// that cuts its work into fixed blocks gets the same bits on any thread count.
#pragma once

#include <cmath>

#include "../gradients.hpp"
#include "kernels.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

/// Adds the kRowLanes lanes of acc pairwise (lane u + w into lane u, w halving).
template <class A>
inline A combine_lanes(A* acc) {
  for (Index w = kRowLanes / 2; w >= 1; w /= 2)
    for (Index u = 0; u < w; ++u) acc[u] += acc[u + w];
  return acc[0];
}

/// True when x[0, d) holds only finite values (x - x is 0 exactly for finite
/// x and NaN for +-Inf and NaN).
template <class T>
inline bool all_finite_scalar(const T* x, Index d) {
  constexpr Index U = kRowLanes;
  T acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) acc[u] += x[j + u] - x[j + u];
  T s = combine_lanes(acc);
  for (; j < d; ++j) s += x[j] - x[j];
  return s == T(0);
}

/// sum_j (double(x[j]) - z[j])^2: kRowLanes interleaved double accumulators
/// (lane j mod kRowLanes), combined pairwise, then the tail in order.
template <class T>
inline double sq_distance_to_scalar(const T* x, const double* z, Index d) {
  constexpr Index U = kRowLanes;
  double acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) {
      const double t = double(x[j + u]) - z[j + u];
      acc[u] += t * t;
    }
  double s = combine_lanes(acc);
  for (; j < d; ++j) {
    const double t = double(x[j]) - z[j];
    s += t * t;
  }
  return s;
}

template <class T>
inline bool all_finite(const T* x, Index d) {
  return kernels<T>().all_finite(x, d);
}

template <class T>
inline double sq_distance_to(const T* x, const double* z, Index d) {
  return kernels<T>().sq_distance_to(x, z, d);
}

/// sum_j (a[j] - b[j])^2 over two double vectors, in the order of sq_distance_to.
inline double sq_distance_dd(const double* a, const double* b, Index d) {
  return sq_distance_to<double>(a, b, d);
}

/// sum_j z[j]^2, in the order of sq_distance_to.
inline double sq_norm(const double* z, Index d) {
  constexpr Index U = kRowLanes;
  double acc[U] = {};
  Index j = 0;
  for (; j + U <= d; j += U)
    for (Index u = 0; u < U; ++u) acc[u] += z[j + u] * z[j + u];
  double s = combine_lanes(acc);
  for (; j < d; ++j) s += z[j] * z[j];
  return s;
}

/// acc[j] += w * double(x[j]) (z null), or acc[j] += w * (double(x[j]) - z[j]).
template <class T>
inline void add_scaled_scalar(double* acc, const T* x, const double* z, double w, Index d) {
  if (z)
    for (Index j = 0; j < d; ++j) acc[j] += w * (double(x[j]) - z[j]);
  else
    for (Index j = 0; j < d; ++j) acc[j] += w * double(x[j]);
}

/// acc[j] += w * double(x[j]).
template <class T>
inline void add_scaled(double* acc, const T* x, double w, Index d) {
  kernels<T>().add_scaled(acc, x, nullptr, w, d);
}

/// acc[j] += w * (double(x[j]) - z[j]).
template <class T>
inline void add_scaled_diff(double* acc, const T* x, const double* z, double w, Index d) {
  kernels<T>().add_scaled(acc, x, z, w, d);
}

/// sum_j double(x[j])^2 in kNormLanes lanes added in lane order, then the
/// tail in order (the sum behind stages.hpp's row_norm).
template <class T>
inline double sum_squares_scalar(const T* x, Index d) {
  constexpr Index L = kNormLanes;
  double acc[L] = {};
  Index j = 0;
  for (; j + L <= d; j += L)
    for (Index l = 0; l < L; ++l) acc[l] += double(x[j + l]) * double(x[j + l]);
  double s = 0.0;
  for (Index l = 0; l < L; ++l) s += acc[l];
  for (; j < d; ++j) s += double(x[j]) * double(x[j]);
  return s;
}

template <class T>
inline double sum_squares(const T* x, Index d) {
  return kernels<T>().sum_squares(x, d);
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

ROBUSTAGG_FP_END
