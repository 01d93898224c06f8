// robustagg: the data model. A batch of gradients is an n x d matrix, one row per
// worker, each row contiguous. Kernels never see Eigen types: they see a RowsView,
// n row pointers (explicit, or base + row stride) and d.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>

#include "errors.hpp"

namespace robustagg {

using Index = std::ptrdiff_t;

/// n x d, one row per worker, rows contiguous (matches np.stack / torch.stack).
template <class T>
using GradientMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The aggregated gradient: a column vector of length d.
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// True for the scalar types the library aggregates.
template <class T>
inline constexpr bool is_supported_scalar_v =
    std::is_same_v<T, float> || std::is_same_v<T, double>;

/// A read-only view of n gradients of d coordinates each. Either strided
/// (row i starts at base + i * stride) or over n separate row pointers
/// (zero copy from MPI receive buffers or tensors). The viewed data is never
/// modified and must outlive the view.
template <class T>
class RowsView {
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");

 public:
  using Scalar = T;

  RowsView() = default;

  /// Row i is base[i * row_stride .. i * row_stride + d).
  static RowsView strided(const T* base, Index n, Index d, Index row_stride) {
    RowsView v;
    v.base_ = base;
    v.n_ = n;
    v.d_ = d;
    v.stride_ = row_stride;
    return v;
  }

  /// Row i is rows[i][0 .. d). The pointer array must outlive the view.
  static RowsView from_rows(const T* const* rows, Index n, Index d) {
    RowsView v;
    v.rows_ = rows;
    v.n_ = n;
    v.d_ = d;
    return v;
  }

  Index rows() const { return n_; }
  /// False for a view over a null base or row-pointer array.
  bool has_rows() const { return rows_ != nullptr || base_ != nullptr; }
  Index cols() const { return d_; }
  const T* row(Index i) const { return rows_ ? rows_[i] : base_ + i * stride_; }
  T operator()(Index i, Index j) const { return row(i)[j]; }

 private:
  const T* base_ = nullptr;
  const T* const* rows_ = nullptr;
  Index n_ = 0;
  Index d_ = 0;
  Index stride_ = 0;
};

namespace detail {

/// True when the expression's rows can be viewed in place: direct access,
/// row-major storage order and unit inner stride (checked again at run time).
template <class Derived>
inline constexpr bool has_direct_rows_v =
    (int(Derived::Flags) & Eigen::DirectAccessBit) != 0 && bool(Derived::IsRowMajor);

/// Calls fn(RowsView<Scalar>) on the gradients of `g` without a copy when its
/// rows are contiguous in memory (a RowMajor matrix, a Map or Ref over a
/// buffer, a block of rows, the transpose of a column-major d x n matrix).
/// Other layouts (column-major n x d, general expressions) are evaluated once
/// into a row-major temporary.
template <class Derived, class Fn>
decltype(auto) with_rows_view(const Eigen::MatrixBase<Derived>& g, Fn&& fn) {
  using T = typename Derived::Scalar;
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  if constexpr (has_direct_rows_v<Derived>) {
    const Derived& m = g.derived();
    if (m.innerStride() == 1 || m.cols() <= 1) {
      return fn(RowsView<T>::strided(m.data(), m.rows(), m.cols(), m.outerStride()));
    }
  }
  const GradientMatrix<T> copy = g;  // the one copy for layouts that cannot bind
  return fn(RowsView<T>::strided(copy.data(), copy.rows(), copy.cols(), copy.cols()));
}

}  // namespace detail
}  // namespace robustagg
