// robustagg: aggregate(), the one entry point, in its value, workspace and
// row-pointer forms, and Aggregator, a rule with its own workspace.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "centered_clipping.hpp"
#include "gradients.hpp"
#include "rule.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

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
  detail::run_rule(rule, gradients, out, workspace);
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
/// step. `gradients` binds without a copy when its values are in memory
/// (either storage order, a Map, a Ref, a block): the coordinate-wise rules
/// read a column-major matrix in place, the others gather it once into the
/// workspace. An expression without direct access (`grads * 2.0f`) is
/// evaluated into the workspace. Neither copy allocates after the first call.
template <class Rule, class Derived>
void aggregate(const Eigen::MatrixBase<Derived>& gradients, const Rule& rule,
               Vector<typename Derived::Scalar>& out, Workspace& workspace) {
  static_assert(is_rule_v<Rule>, "robustagg::aggregate: not a rule type");
  using T = typename Derived::Scalar;
  detail::with_rows_view(gradients, workspace, [&](const RowsView<T>& view) {
    rule.validate(view.rows(), view.cols());
    if (out.size() != view.cols()) out.resize(view.cols());
    workspace.report().clear();
    detail::run_rule(rule, view, out.data(), workspace);
  });
}

namespace detail {

/// The value form's workspace of the calling thread, and whether a value-form
/// call on this thread is using it (a nested call gets a workspace of its own).
struct CachedWorkspace {
  Workspace workspace;
  bool busy = false;
};
inline CachedWorkspace& cached_workspace() {
  static thread_local CachedWorkspace cached;
  return cached;
}
inline std::atomic<std::size_t>& cached_workspace_limit_value() {
  static std::atomic<std::size_t> limit{std::size_t(1) << 30};
  return limit;
}

}  // namespace detail

/// The most bytes the value form's per-thread workspace keeps between calls
/// (default 1 GiB; 0: no cache, a fresh workspace per call). Over it, the
/// cache is released at the end of the call.
inline void set_cached_workspace_limit(std::size_t bytes) { detail::cached_workspace_limit_value() = bytes; }
inline std::size_t cached_workspace_limit() { return detail::cached_workspace_limit_value(); }

/// Bytes the calling thread's value-form workspace holds now.
inline std::size_t cached_workspace_bytes() { return detail::cached_workspace().workspace.capacity_bytes(); }

/// Frees the calling thread's value-form workspace (the next value-form call
/// on this thread allocates its buffers again).
inline void release_cached_workspace() { detail::cached_workspace().workspace.release(); }

namespace detail {

/// fn(ws) with the calling thread's cached workspace (a fresh one when the
/// cache is disabled or already in use by an enclosing call on this thread);
/// afterwards the cache is released if it holds more than the limit.
template <class Fn>
void with_cached_workspace(Fn&& fn) {
  CachedWorkspace& cached = cached_workspace();
  const std::size_t limit = cached_workspace_limit();
  if (cached.busy || limit == 0) {
    Workspace workspace;
    fn(workspace);
    return;
  }
  struct Done {
    CachedWorkspace& c;
    std::size_t limit;
    ~Done() {
      c.busy = false;
      if (c.workspace.capacity_bytes() > limit) c.workspace.release();
    }
  } done{cached, limit};
  cached.busy = true;
  fn(cached.workspace);
}

}  // namespace detail

/// The robust gradient of `gradients` (n x d, one row per worker) under `rule`.
/// Runs in a workspace cached per calling thread (cached_workspace_limit), so
/// a repeated call of the same shape allocates only its output and pays no
/// page faults for the rule's scratch: the cost of the workspace form plus the
/// output.
template <class Rule, class Derived, class = std::enable_if_t<is_rule_v<Rule>>>
Vector<typename Derived::Scalar> aggregate(const Eigen::MatrixBase<Derived>& gradients,
                                           const Rule& rule) {
  Vector<typename Derived::Scalar> out;
  detail::with_cached_workspace([&](Workspace& ws) { aggregate(gradients, rule, out, ws); });
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
///
/// Warm start: when the rule is a CenteredClipping with warm_start set (held
/// directly or in an AnyRule, e.g. parse_rule("centered-clipping(tau=1,
/// warm-start=1)")), each call starts the clipping iterations from this
/// Aggregator's previous output of the same scalar type and length (the
/// paper's use: v_0 = the previous step's aggregate); the first call, and
/// any call after forget_start() or with another d, starts from the median.
template <class Rule = AnyRule>
class Aggregator {
  static_assert(is_rule_v<Rule>, "robustagg::Aggregator: not a rule type");

 public:
  explicit Aggregator(Rule rule) : rule_(std::move(rule)) {}

  const Rule& rule() const { return rule_; }
  Workspace& workspace() { return workspace_; }

  /// Drops the remembered output: the next warm-started call starts from the median.
  void forget_start() {
    last_float_.resize(0);
    last_double_.resize(0);
  }

  template <class Derived>
  void operator()(const Eigen::MatrixBase<Derived>& gradients,
                  Vector<typename Derived::Scalar>& out) {
    using T = typename Derived::Scalar;
    detail::with_rows_view(gradients, [&](const RowsView<T>& view) {
      rule_.validate(view.rows(), view.cols());
      if (out.size() != view.cols()) out.resize(view.cols());
      run(view, out.data());
    });
  }

  template <class Derived>
  Vector<typename Derived::Scalar> operator()(const Eigen::MatrixBase<Derived>& gradients) {
    Vector<typename Derived::Scalar> out;
    (*this)(gradients, out);
    return out;
  }

  template <class T>
  void operator()(const RowsView<T>& gradients, T* out) {
    rule_.validate(gradients.rows(), gradients.cols());
    run(gradients, out);
  }

 private:
  /// The warm-started centered clipping this Aggregator runs, or nullptr.
  const CenteredClipping* warm_clipping() const {
    const CenteredClipping* cc = nullptr;
    if constexpr (std::is_same_v<Rule, CenteredClipping>)
      cc = &rule_;
    else if constexpr (std::is_same_v<Rule, AnyRule>)
      cc = rule_.template target<CenteredClipping>();
    return cc && cc->warm_start ? cc : nullptr;
  }

  template <class T>
  void run(const RowsView<T>& input, T* out) {
    workspace_.report().clear();
    const RowsView<T> g = detail::view_for(rule_, input, workspace_);
    const CenteredClipping* cc = warm_clipping();
    if (!cc) {
      rule_.template run<T>(g, out, workspace_);
      return;
    }
    Vector<T>& last = last_of<T>();
    const Index d = g.cols();
    cc->run_from(g, last.size() == d ? last.data() : static_cast<const T*>(nullptr), out,
                 workspace_);
    if (!detail::all_finite(out, d)) {  // never start from a non-finite vector
      last.resize(0);
      return;
    }
    if (last.size() != d) last.resize(d);
    std::copy(out, out + d, last.data());
  }

  template <class T>
  Vector<T>& last_of() {
    if constexpr (std::is_same_v<T, float>)
      return last_float_;
    else
      return last_double_;
  }

  Rule rule_;
  Workspace workspace_;
  Vector<float> last_float_;    // previous output (warm-started centered clipping)
  Vector<double> last_double_;
};

}  // namespace robustagg

ROBUSTAGG_FP_END
