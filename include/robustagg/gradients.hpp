// robustagg: the data model. A batch of gradients is an n x d matrix, one row per
// worker, each row contiguous. Kernels never see Eigen types: they see a RowsView,
// n row pointers (explicit, or base + row stride) and d.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>

#include "errors.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

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
/// (value (i, j) at base[i * row_stride + j * col_stride]: a row-major matrix
/// has col_stride 1, a column-major one row_stride 1) or over n separate row
/// pointers (zero copy from MPI receive buffers or tensors). The viewed data
/// is never modified and must outlive the view.
template <class T>
class RowsView {
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");

 public:
  using Scalar = T;

  RowsView() = default;

  /// Value (i, j) is base[i * row_stride + j * col_stride]. col_stride 1
  /// (the default) is the row-major layout: row i is base[i * row_stride ..
  /// i * row_stride + d). Strides are in values and must be positive.
  static RowsView strided(const T* base, Index n, Index d, Index row_stride, Index col_stride = 1) {
    RowsView v;
    v.base_ = base;
    v.n_ = n;
    v.d_ = d;
    v.stride_ = row_stride;
    v.col_stride_ = col_stride;
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
  /// True when every row's d values are contiguous (row pointers, or
  /// col_stride 1): row(i) is then valid. Engines that read other layouts
  /// in place say so (rule.hpp: reads_strided); every other rule is given a
  /// contiguous copy (detail/strided.hpp).
  bool contiguous() const { return rows_ != nullptr || col_stride_ == 1 || d_ <= 1; }
  /// Row i's first value; with contiguous(), the row's d values follow it.
  const T* row(Index i) const { return rows_ ? rows_[i] : base_ + i * stride_; }
  T operator()(Index i, Index j) const { return rows_ ? rows_[i][j] : base_[i * stride_ + j * col_stride_]; }
  /// The strided form's base and strides (null base for row pointers).
  const T* base() const { return rows_ ? nullptr : base_; }
  Index row_stride() const { return stride_; }
  Index col_stride() const { return col_stride_; }

 private:
  const T* base_ = nullptr;
  const T* const* rows_ = nullptr;
  Index n_ = 0;
  Index d_ = 0;
  Index stride_ = 0;
  Index col_stride_ = 1;
};

namespace detail {

/// True when the expression's values can be read in place: direct access
/// (a matrix of either storage order, a Map or Ref over a buffer, a block of
/// one, a transpose of one); its strides are read at run time.
template <class Derived>
inline constexpr bool has_direct_access_v = (int(Derived::Flags) & Eigen::DirectAccessBit) != 0;

/// The view of a direct-access expression: row-major storage gives
/// contiguous rows, column-major a view with col_stride = the column stride
/// (read in place by the coordinate-wise engines, copied once for the rest).
template <class Derived>
RowsView<typename Derived::Scalar> direct_view(const Derived& m) {
  using T = typename Derived::Scalar;
  if (m.cols() <= 1 || m.colStride() == 1) return RowsView<T>::strided(m.data(), m.rows(), m.cols(), m.rowStride());
  return RowsView<T>::strided(m.data(), m.rows(), m.cols(), m.rowStride(), m.colStride());
}

/// Calls fn(RowsView<Scalar>) on the gradients of `g` without a copy when
/// its values are in memory with positive strides (any storage order, a Map
/// or Ref over a buffer, a block). Other expressions are evaluated once into
/// a row-major temporary.
template <class Derived, class Fn>
decltype(auto) with_rows_view(const Eigen::MatrixBase<Derived>& g, Fn&& fn) {
  using T = typename Derived::Scalar;
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  if constexpr (has_direct_access_v<Derived>) {
    const Derived& m = g.derived();
    if ((m.rowStride() > 0 || m.rows() <= 1) && (m.colStride() > 0 || m.cols() <= 1))
      return fn(direct_view(m));
  }
  const GradientMatrix<T> copy = g;  // the one copy for expressions without direct access
  return fn(RowsView<T>::strided(copy.data(), copy.rows(), copy.cols(), copy.cols()));
}

}  // namespace detail
}  // namespace robustagg

ROBUSTAGG_FP_END
