// robustagg: aggregate(), the one entry point, in its value, workspace and
// row-pointer forms, and Aggregator, a rule with its own workspace.
#pragma once

#include <type_traits>
#include <utility>

#include "gradients.hpp"
#include "rule.hpp"
#include "workspace.hpp"

namespace robustagg {

/// Validates and runs `rule` on a view, writing d values to `out`.
template <class Rule, class T>
void aggregate(const RowsView<T>& gradients, const Rule& rule, T* out, Workspace& workspace) {
  static_assert(is_rule_v<Rule>, "robustagg::aggregate: not a rule type");
  rule.validate(gradients.rows(), gradients.cols());
  workspace.report().clear();
  rule.template run<T>(gradients, out, workspace);
}

/// Zero-copy form over n separate row buffers of d values each (MPI receive
/// buffers, tensors). Writes d values to out.
template <class Rule, class T>
void aggregate(const T* const* rows, Index n, Index d, const Rule& rule, T* out,
               Workspace& workspace) {
  aggregate(RowsView<T>::from_rows(rows, n, d), rule, out, workspace);
}

/// The steady-state form: writes into `out` (resized to d on first use) and
/// reuses `workspace`, so a training loop allocates nothing after its first
/// step. `gradients` binds without a copy when its rows are contiguous.
template <class Rule, class Derived>
void aggregate(const Eigen::MatrixBase<Derived>& gradients, const Rule& rule,
               Vector<typename Derived::Scalar>& out, Workspace& workspace) {
  static_assert(is_rule_v<Rule>, "robustagg::aggregate: not a rule type");
  using T = typename Derived::Scalar;
  detail::with_rows_view(gradients, [&](const RowsView<T>& view) {
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
