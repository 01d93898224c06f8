// robustagg: the geometric median by smoothed Weiszfeld iterations (RFA:
// Pillutla, Kakade, Harchaoui, "Robust Aggregation for Federated Learning",
// IEEE TSP 2022).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/format.hpp"
#include "detail/row_pass.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
// Workspace keys (workspace.hpp) of this header.
struct GeoMedianRowFinite {};
struct GeoMedianRowPtrs {};
struct GeoMedianRowDist {};
struct GeoMedianRowWeights {};
struct GeoMedianCentreA {};
struct GeoMedianCentreB {};

}  // namespace detail

/// geometric-median(iterations=64, nu=1e-6, tolerance=1e-7): smoothed
/// Weiszfeld over the finite rows (a row holding any non-finite value is left
/// out). z_0 = their coordinate-wise median (as the median rule returns it,
/// in T); then
///   z_{t+1} = sum_i w_i x_i / sum_i w_i,  w_i = 1 / max(nu, ||x_i - z_t||),
/// sums in row order in double, with the weights normalised to sum 1 first
/// (so no product w_i x_i underflows where the raw weights are tiny). It stops after `iterations` steps, or after
/// the step where ||z_{t+1} - z_t|| <= tolerance * max(1, ||z_t||), and
/// returns the last z (rounded to T). A weight that underflows to 0 (a
/// distance that overflows double) drops its row from that step; if every
/// weight is 0 the current z is returned. With no finite row the result is
/// NaN. Requires n >= 1, nu > 0, iterations >= 1, tolerance >= 0.
/// Cost: one read of the input per iteration, plus the median and one
/// distance pass to start.
struct GeometricMedian {
  int iterations = 64;
  double nu = 1e-6;
  double tolerance = 1e-7;

  std::string spec() const {
    return "geometric-median(iterations=" + std::to_string(iterations) +
           ", nu=" + detail::format_number(nu) + ", tolerance=" + detail::format_number(tolerance) +
           ")";
  }
  Index min_rows() const { return 1; }
  /// The parameter checks alone (the spec parser runs them too).
  void check_parameters() const {
    if (iterations < 1) detail::check_iterations(spec(), iterations);
    if (!(nu > 0.0) || !std::isfinite(nu))
      detail::fail(spec(), ": nu must be finite and > 0, got nu = ", nu);
    if (!(tolerance >= 0.0) || !std::isfinite(tolerance))
      detail::fail(spec(), ": tolerance must be finite and >= 0, got tolerance = ", tolerance);
  }
  void validate(Index n, Index d) const {
    check_parameters();
    detail::check_shape(*this, n, d, min_rows(), "");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), d = g.cols();
    unsigned char* ok = ws.get<detail::Key<detail::GeoMedianRowFinite, unsigned char>>(std::size_t(n));
    const T** rows = ws.get<detail::Key<detail::GeoMedianRowPtrs, const T*>>(std::size_t(n));
    const Index m = finite_rows(g, ok, rows, ws);
    if (m == 0) {
      std::fill(out, out + d, std::numeric_limits<T>::quiet_NaN());
      return;
    }
    double* dist = ws.get<detail::Key<detail::GeoMedianRowDist, double>>(std::size_t(m));
    double* w = ws.get<detail::Key<detail::GeoMedianRowWeights, double>>(std::size_t(m));
    double* z = ws.get<detail::Key<detail::GeoMedianCentreA, double>>(std::size_t(d));
    double* z_next = ws.get<detail::Key<detail::GeoMedianCentreB, double>>(std::size_t(d));
    const RowsView<T> fin = RowsView<T>::from_rows(rows, m, d);
    coordinate_median(fin, out, ws, AsSent{});
    to_double(z, out, d);
    sq_distances_to(rows, m, z, d, dist, ws);
    for (int t = 0; t < iterations; ++t) {
      double total = 0.0;
      for (Index i = 0; i < m; ++i) {
        w[i] = 1.0 / std::max(nu, std::sqrt(dist[i]));
        total += w[i];
      }
      if (!(total > 0.0)) break;
      // Normalised weights (they sum to 1): with raw weights w_i x_i could
      // underflow to 0 where rows far from z (raw weights ~1e-150) hold tiny
      // values (~1e-241), leaving z outside the rows' range (found by
      // fuzz_aggregate).
      for (Index i = 0; i < m; ++i) w[i] /= total;
      const bool last = t + 1 == iterations;
      WeightedStep step;
      step.weights = w;
      step.divisor = 1.0;
      double old_norm = 0.0;
      const double delta =
          weighted_step(rows, m, d, step, z_next, z, &old_norm, last ? nullptr : dist, ws);
      std::swap(z, z_next);
      if (std::sqrt(delta) <= tolerance * std::max(1.0, std::sqrt(old_norm))) break;
    }
    from_double(out, z, d);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
