// robustagg: noisy median and noisy sign vote (Chen, Chen, Sun, Wu, Hong,
// NeurIPS 2020), and the worker-side perturbation they are built on.
#pragma once

#include <cstdint>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/format.hpp"
#include "detail/kernels.hpp"
#include "detail/rng.hpp"
#include "gradients.hpp"
#include "sign_vote.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

/// Row i, coordinate j becomes perturbed<T>(g[i][j], b, seed, i, j):
/// g[i][j] + T(b) * T(xi(seed, i, j)) (detail/rng.hpp), g[i][j] when b = 0.
struct AddNoise {
  double b;
  std::uint64_t seed;

  /// One value: the definition (detail/rng.hpp), used by the portable
  /// reference engine. The rules themselves go through block().
  template <class T>
  T operator()(Index i, Index j, T x) const {
    return perturbed<T>(x, b, seed, std::uint64_t(i), std::uint64_t(j));
  }

  /// A run of coordinates of row i: dst[k] = perturbed(src[k], b, seed, i,
  /// j0 + k), k < count: the SIMD generator (noise_kernel.hpp), dispatched
  /// like the other kernels, bit for bit the scalar definition.
  template <class T>
  void block(Index i, Index j0, const T* src, T* dst, Index count) const {
    kernels<T>().add_noise(src, dst, count, b, seed, std::uint64_t(i), std::uint64_t(j0));
  }
};

inline std::string noisy_spec(const char* name, double b, std::uint64_t seed) {
  return std::string(name) + "(b=" + format_number(b) + ", seed=" + std::to_string(seed) + ")";
}

}  // namespace detail

/// noisy-median(b, seed): median_i(g_i + b * xi_i), xi_i i.i.d. N(0, 1) per
/// worker i and coordinate, drawn from a counter-based generator keyed by
/// (seed, i, j). b = 0 is the median. Requires n >= 1, b >= 0.
struct NoisyMedian {
  double b = 0.0;
  std::uint64_t seed = 0;

  std::string spec() const { return detail::noisy_spec("noisy-median", b, seed); }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const {
    detail::check_noise_scale(*this, b);
    detail::check_shape(*this, n, d, min_rows(), "");
  }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    if (b == 0.0) return detail::coordinate_median(g, out, ws, detail::AsSent{});  // bitwise the same
    detail::coordinate_median(g, out, ws, detail::AddNoise{b, seed});
  }
};

/// noisy-sign-vote(b, seed): sign(sum_i sign(g_i + b * xi_i)), xi as in
/// NoisyMedian. b = 0 is the sign vote. Requires n >= 1, b >= 0.
struct NoisySignVote {
  double b = 0.0;
  std::uint64_t seed = 0;

  std::string spec() const { return detail::noisy_spec("noisy-sign-vote", b, seed); }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const {
    detail::check_noise_scale(*this, b);
    detail::check_shape(*this, n, d, min_rows(), "");
  }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    if (b == 0.0) return detail::sign_vote_rows(g, out, ws);
    detail::noisy_sign_vote_rows(g, out, ws, detail::AddNoise{b, seed});
  }
};

/// Worker side of the noisy rules: returns gradient + b * xi, where xi is the
/// noise the server-side rule with the same (b, seed) draws for row `worker`.
/// So perturbing row i with worker = i and taking the plain median equals
/// NoisyMedian{b, seed}.
template <class Derived>
Vector<typename Derived::Scalar> perturb(const Eigen::MatrixBase<Derived>& gradient, double b,
                                         std::uint64_t seed, std::uint64_t worker) {
  using T = typename Derived::Scalar;
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  if (gradient.rows() != 1 && gradient.cols() != 1)
    detail::fail("perturb needs a vector, got a ", gradient.rows(), " x ", gradient.cols(),
                 " matrix");
  detail::check_noise_scale("perturb", b);
  const Index d = gradient.size();
  Vector<T> out(d);
  for (Index j = 0; j < d; ++j) out[j] = gradient.derived().coeff(j);
  detail::kernels<T>().add_noise(out.data(), out.data(), d, b, seed, worker, 0);
  return out;
}

/// In-place form for a worker's own buffer of d values (SIMD, bit for bit
/// the scalar definition detail::perturbed).
template <class T>
void perturb_inplace(T* gradient, Index d, double b, std::uint64_t seed, std::uint64_t worker) {
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  detail::check_noise_scale("perturb", b);
  if (d > 0 && !gradient) detail::fail("perturb_inplace: the gradient pointer is null (d = ", d, ")");
  detail::kernels<T>().add_noise(gradient, gradient, d, b, seed, worker, 0);
}

}  // namespace robustagg

ROBUSTAGG_FP_END
