// robustagg: aggregate(), the one entry point, in its value, workspace and
// row-pointer forms, and Aggregator, a rule with its own workspace.
#pragma once

#include <type_traits>
#include <utility>

#include "gradients.hpp"
#include "rule.hpp"
#include "workspace.hpp"

namespace robustagg {

namespace detail {

/// The raw-pointer entry points' boundary checks: no null pointer where
/// values are read or written (a clear error, not a crash). Sizes and
/// lifetimes cannot be checked: see the preconditions below.
template <class T>
void check_pointers(const RowsView<T>& g, const T* out) {
  if (g.rows() < 0 || g.cols() < 0)
    fail("aggregate: negative shape n = ", g.rows(), ", d = ", g.cols());
  if (g.rows() > 0 && g.cols() > 0) {
    if (!g.has_rows()) fail("aggregate: the gradients pointer is null (n = ", g.rows(), ", d = ", g.cols(), ")");
    for (Index i = 0; i < g.rows(); ++i)
      if (!g.row(i)) fail("aggregate: row pointer ", i, " of ", g.rows(), " is null");
  }
  if (!out && g.cols() > 0) fail("aggregate: the output pointer is null (d = ", g.cols(), ")");
}

/// Workspace slot of the one copy of an input whose rows cannot be viewed in
/// place (with_rows_view).
inline constexpr std::size_t kSlotInputCopy = 63;

}  // namespace detail

/// Validates and runs `rule` on a view, writing d values to `out`.
/// Preconditions (not checkable): every row holds d readable values and `out`
/// d writable ones that do not overlap the rows; all live until the call
/// returns. A null row or output pointer throws robustagg::Error.
template <class Rule, class T>
void aggregate(const RowsView<T>& gradients, const Rule& rule, T* out, Workspace& workspace) {
  static_assert(is_rule_v<Rule>, "robustagg::aggregate: not a rule type");
  detail::check_pointers(gradients, out);
  rule.validate(gradients.rows(), gradients.cols());
  workspace.report().clear();
  rule.template run<T>(gradients, out, workspace);
}

/// Zero-copy form over n separate row buffers of d values each (MPI receive
/// buffers, tensors). Writes d values to out.
/// Preconditions: `rows` points to n row pointers, each to d readable values;
/// `out` to d writable values overlapping no row; all live until the call
/// returns. A null `rows`, row or `out` throws robustagg::Error.
template <class Rule, class T>
void aggregate(const T* const* rows, Index n, Index d, const Rule& rule, T* out,
               Workspace& workspace) {
  if (!rows && n > 0) detail::fail("aggregate: the row-pointer array is null (n = ", n, ", d = ", d, ")");
  aggregate(RowsView<T>::from_rows(rows, n, d), rule, out, workspace);
}

/// The steady-state form: writes into `out` (resized to d on first use) and
/// reuses `workspace`, so a training loop allocates nothing after its first
/// step. `gradients` binds without a copy when its rows are contiguous; any
/// other expression (a column-major n x d matrix, `grads * 2.0f`) is
/// evaluated into the workspace, one copy per call but no allocation after
/// the first.
template <class Rule, class Derived>
void aggregate(const Eigen::MatrixBase<Derived>& gradients, const Rule& rule,
               Vector<typename Derived::Scalar>& out, Workspace& workspace) {
  static_assert(is_rule_v<Rule>, "robustagg::aggregate: not a rule type");
  using T = typename Derived::Scalar;
  detail::with_rows_view(gradients, workspace.child(detail::kSlotInputCopy), [&](const RowsView<T>& view) {
    rule.validate(view.rows(), view.cols());
    if (out.size() != view.cols()) out.resize(view.cols());
    workspace.report().clear();
    rule.template run<T>(view, out.data(), workspace);
  });
}

/// The robust gradient of `gradients` (n x d, one row per worker) under `rule`.
template <class Rule, class Derived, class = std::enable_if_t<is_rule_v<Rule>>>
Vector<typename Derived::Scalar> aggregate(const Eigen::MatrixBase<Derived>& gradients,
                                           const Rule& rule) {
  Vector<typename Derived::Scalar> out;
  Workspace workspace;
  aggregate(gradients, rule, out, workspace);
  return out;
}

/// The short form: aggregate<Bulyan>(gradients, f) == aggregate(gradients, Bulyan{f}).
template <class Rule, class Derived, class... Args,
          class = std::enable_if_t<is_rule_v<Rule> && std::is_aggregate_v<Rule>>>
Vector<typename Derived::Scalar> aggregate(const Eigen::MatrixBase<Derived>& gradients,
                                           Args&&... args) {
  return aggregate(gradients, Rule{std::forward<Args>(args)...});
}

/// A rule with its own workspace: call it every step; after the first call
/// for a given shape it allocates nothing. Not thread-safe (one per thread).
template <class Rule = AnyRule>
class Aggregator {
 public:
  explicit Aggregator(Rule rule) : rule_(std::move(rule)) {}

  const Rule& rule() const { return rule_; }
  Workspace& workspace() { return workspace_; }

  template <class Derived>
  void operator()(const Eigen::MatrixBase<Derived>& gradients,
                  Vector<typename Derived::Scalar>& out) {
    aggregate(gradients, rule_, out, workspace_);
  }

  template <class Derived>
  Vector<typename Derived::Scalar> operator()(const Eigen::MatrixBase<Derived>& gradients) {
    Vector<typename Derived::Scalar> out;
    aggregate(gradients, rule_, out, workspace_);
    return out;
  }

  template <class T>
  void operator()(const RowsView<T>& gradients, T* out) {
    aggregate(gradients, rule_, out, workspace_);
  }

 private:
  Rule rule_;
  Workspace workspace_;
};

}  // namespace robustagg
