// robustagg: noisy median and noisy sign vote (Chen, Chen, Sun, Wu, Hong,
// NeurIPS 2020), and the worker-side perturbation they are built on.
#pragma once

#include <cstdint>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/format.hpp"
#include "detail/noise_kernel.hpp"
#include "detail/rng.hpp"
#include "gradients.hpp"
#include "sign_vote.hpp"
#include "workspace.hpp"

namespace robustagg {

namespace detail {

/// Row i, coordinate j becomes perturbed<T>(g[i][j], b, seed, i, j):
/// g[i][j] + T(b) * T(xi(seed, i, j)) (detail/rng.hpp), g[i][j] when b = 0.
struct AddNoise {
  double b;
  std::uint64_t seed;

  /// One value. The kernels call it for consecutive coordinates of a row, so
  /// the calling thread keeps the last block of 64 normals (noise_block, bit
  /// for bit gaussian_float): one SIMD block per 64 values instead of one
  /// scalar Threefry per value.
  template <class T>
  T operator()(Index i, Index j, T x) const {
    if (b == 0.0) return x;
    struct Cache {
      alignas(64) float z[kNoiseBlock];
      double b;
      std::uint64_t seed, worker, block;
      bool valid;
    };
    thread_local Cache c{};
    const std::uint64_t block = std::uint64_t(j) / kNoiseBlock;
    if (!c.valid || c.block != block || c.worker != std::uint64_t(i) || c.seed != seed || !(c.b == b)) {
      noise_block<xsimd::default_arch>(noise_key(seed, std::uint64_t(i)), block, c.z);
      c.b = b;
      c.seed = seed;
      c.worker = std::uint64_t(i);
      c.block = block;
      c.valid = true;
    }
    return x + ScalarNoiseOps<>::rounded(T(b) * T(c.z[std::uint64_t(j) % kNoiseBlock]));
  }

  /// A run of coordinates: dst[k] = perturbed(src[k], b, seed, i, j0 + k),
  /// k < count, on architecture Arch (for kernels that add the noise to each
  /// batch as they load it).
  template <class Arch, class T>
  void apply(Index i, Index j0, const T* src, T* dst, Index count) const {
    add_noise<Arch, T>(src, dst, count, b, seed, std::uint64_t(i), std::uint64_t(j0));
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

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
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

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::sign_vote_kernel(g, out, ws, detail::AddNoise{b, seed});
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
  detail::add_noise<xsimd::default_arch, T>(out.data(), out.data(), d, b, seed, worker, 0);
  return out;
}

/// In-place form for a worker's own buffer of d values (SIMD, bit for bit
/// the scalar definition detail::perturbed).
template <class T>
void perturb_inplace(T* gradient, Index d, double b, std::uint64_t seed, std::uint64_t worker) {
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  detail::check_noise_scale("perturb", b);
  detail::add_noise<xsimd::default_arch, T>(gradient, gradient, d, b, seed, worker, 0);
}

}  // namespace robustagg
