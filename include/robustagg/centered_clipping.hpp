// robustagg: centered clipping (Karimireddy, He, Jaggi, "Learning from History
// for Byzantine Robust Optimization", ICML 2021).
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
struct CenteredClippingRowFinite {};
struct CenteredClippingRowPtrs {};
struct CenteredClippingCentreA {};
struct CenteredClippingCentreB {};
struct CenteredClippingRowDist {};
struct CenteredClippingRowWeights {};

}  // namespace detail

/// centered-clipping(tau, iterations=1, start=median): from a start v_0,
///   v_{l+1} = v_l + (1/n) sum_i c_i (x_i - v_l),
///   c_i = min(1, tau / ||x_i - v_l||) (1 when the distance is 0),
///   c_i = 0 for a row holding a non-finite value (and for a row whose
///   distance overflows double); rows with c_i = 0 add nothing,
/// sums in row order in double, n counting every row; the result is v_L,
/// L = iterations, rounded to T.
///
/// The pure rule (run(), aggregate(), the spec) starts from `start`: the
/// coordinate-wise median of the finite rows (the default), their mean
/// (each as the rule median / mean returns it, in T; NaN with no finite row),
/// or the zero vector. The paper starts each step from the previous step's
/// aggregate: pass a start vector with run_from(), or set warm_start and call
/// the rule through an Aggregator, which then starts every step from its own
/// previous output (from `start` on the first step, and whenever d changes).
/// Requires n >= 1, tau > 0, iterations >= 1. Cost: the start (a median or
/// mean pass; nothing for zero), one distance pass, one read of the input per
/// iteration.
struct CenteredClipping {
  /// Where the iterations start when no start vector is given.
  enum class Start { median, mean, zero };

  double tau = 0.0;     // required: the clipping radius
  int iterations = 1;   // L
  bool warm_start = false;  // Aggregator: start from its previous output
  Start start = Start::median;

  static const char* start_name(Start s) {
    return s == Start::mean ? "mean" : s == Start::zero ? "zero" : "median";
  }
  std::string spec() const {
    return "centered-clipping(tau=" + detail::format_number(tau) +
           ", iterations=" + std::to_string(iterations) +
           (start != Start::median ? std::string(", start=") + start_name(start) : std::string()) +
           (warm_start ? ", warm-start=1)" : ")");
  }
  Index min_rows() const { return 1; }
  /// The parameter checks alone (the spec parser runs them too).
  void check_parameters() const {
    if (!(tau > 0.0) || !std::isfinite(tau))
      detail::fail(spec(), ": tau must be finite and > 0, got tau = ", tau);
    if (iterations < 1) detail::check_iterations(spec(), iterations);
  }
  void validate(Index n, Index d) const {
    check_parameters();
    detail::check_shape(*this, n, d, min_rows(), "");
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    run_from(g, static_cast<const T*>(nullptr), out, ws);
  }

  /// run() from the start vector `v0` (d values; nullptr: the `start` option).
  /// `v0` may alias `out`. A start holding a non-finite value is an Error.
  /// Call validate(n, d) first, as aggregate() does for run().
  template <class T>
  void run_from(const RowsView<T>& g, const T* v0, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), d = g.cols();
    if (v0 && !all_finite(v0, d))
      fail(spec(), ": the start vector holds a non-finite value");
    unsigned char* ok = ws.get<detail::Key<detail::CenteredClippingRowFinite, unsigned char>>(std::size_t(n));
    const T** rows = ws.get<detail::Key<detail::CenteredClippingRowPtrs, const T*>>(std::size_t(n));
    const Index m = finite_rows(g, ok, rows, ws);
    double* v = ws.get<detail::Key<detail::CenteredClippingCentreA, double>>(std::size_t(d));
    double* v_next = ws.get<detail::Key<detail::CenteredClippingCentreB, double>>(std::size_t(d));
    if (v0) {
      to_double(v, v0, d);
    } else if (start == Start::zero) {
      std::fill(v, v + d, 0.0);
    } else {
      if (m == 0) {
        std::fill(out, out + d, std::numeric_limits<T>::quiet_NaN());
        return;
      }
      if (start == Start::mean)
        mean_rows(RowsView<T>::from_rows(rows, m, d), out, ws);
      else
        coordinate_median(RowsView<T>::from_rows(rows, m, d), out, ws, AsSent{});
      to_double(v, out, d);
    }
    if (m == 0) {
      from_double(out, v, d);
      return;
    }
    double* dist = ws.get<detail::Key<detail::CenteredClippingRowDist, double>>(std::size_t(m));
    double* c = ws.get<detail::Key<detail::CenteredClippingRowWeights, double>>(std::size_t(m));
    sq_distances_to(rows, m, v, d, dist, ws);
    for (int l = 0; l < iterations; ++l) {
      for (Index i = 0; i < m; ++i) {
        const double r = std::sqrt(dist[i]);
        c[i] = r == 0.0 ? 1.0 : std::min(1.0, tau / r);  // tau / inf = 0
      }
      const bool last = l + 1 == iterations;
      WeightedStep step;
      step.weights = c;
      step.center = v;
      step.base = v;
      step.divisor = double(n);
      weighted_step(rows, m, d, step, v_next, nullptr, nullptr, last ? nullptr : dist, ws);
      std::swap(v, v_next);
    }
    from_double(out, v, d);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
