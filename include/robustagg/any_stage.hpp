// robustagg: a stage chosen at run time and its own output. parse_stage("nnm(f=2)")
// gives an AnyStage (a catalogue stage without then=); apply_stage() writes the
// matrix the stage outputs (n x d for clip, nnm and arc, ceil(n/s) x d for
// bucketing) instead of running a rule on it. The CLI's `robustagg stage` and
// Python's robustagg.apply_stage() are this.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aggregate.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "rule.hpp"
#include "spec.hpp"
#include "stages.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// Any stage of stages.hpp (Clip, Nnm, Arc, Bucketing), held by value behind
/// a shared immutable pointer: cheap to copy, safe to share between threads.
class AnyStage {
 public:
  AnyStage() = default;
  template <class S, class = std::enable_if_t<!std::is_same_v<std::decay_t<S>, AnyStage>>>
  explicit AnyStage(S stage) : self_(std::make_shared<const Model<std::decay_t<S>>>(std::move(stage))) {}

  bool empty() const { return !self_; }
  /// The stage's canonical spec without then= ("nnm(f=2)").
  std::string spec() const { return get().spec(); }
  /// Throws Error when the stage cannot take n rows of d values.
  void validate(Index n, Index d) const { get().validate(n, d); }
  /// The rows the stage outputs from n rows.
  Index rows_out(Index n) const { return get().rows_out(n); }

  /// The stage's output rows: a view into `ws` (and into g's rows for the rows
  /// it passes unchanged), valid until `ws` is used again. Call validate first.
  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    if constexpr (std::is_same_v<T, float>)
      return get().apply_float(g, ws, report);
    else
      return get().apply_double(g, ws, report);
  }

  template <class S>
  const S* target() const& {
    auto* m = dynamic_cast<const Model<S>*>(self_.get());
    return m ? &m->stage : nullptr;
  }
  template <class S>
  const S* target() const&& = delete;

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::string spec() const = 0;
    virtual void validate(Index n, Index d) const = 0;
    virtual Index rows_out(Index n) const = 0;
    virtual RowsView<float> apply_float(const RowsView<float>&, Workspace&, std::vector<StageReport>&) const = 0;
    virtual RowsView<double> apply_double(const RowsView<double>&, Workspace&, std::vector<StageReport>&) const = 0;
  };
  template <class S>
  struct Model final : Concept {
    explicit Model(S s) : stage(std::move(s)) {}
    std::string spec() const override { return stage.spec(); }
    void validate(Index n, Index d) const override { stage.validate(n, d); }
    Index rows_out(Index n) const override { return stage.rows_out(n); }
    RowsView<float> apply_float(const RowsView<float>& g, Workspace& ws,
                                std::vector<StageReport>& r) const override {
      return stage.template apply<float>(g, ws, r);
    }
    RowsView<double> apply_double(const RowsView<double>& g, Workspace& ws,
                                  std::vector<StageReport>& r) const override {
      return stage.template apply<double>(g, ws, r);
    }
    S stage;
  };
  const Concept& get() const {
    if (!self_) throw Error("robustagg::AnyStage: empty stage (default-constructed)");
    return *self_;
  }
  std::shared_ptr<const Concept> self_;
};

namespace detail {

/// The stage of a catalogue rule built as stage-then-rule, or an empty AnyStage.
template <class S, class... Rest>
AnyStage stage_of(const AnyRule& composed) {
  if (const auto* c = composed.target<Composed<S, AnyRule>>()) return AnyStage(c->stage);
  if constexpr (sizeof...(Rest) > 0)
    return stage_of<Rest...>(composed);
  else
    return AnyStage();
}

/// The catalogue's stages: the entries that take then=.
inline std::string stage_names() {
  std::string names;
  for (const RuleInfo& info : rule_catalog())
    if (takes_parameter(info.parameters, "then")) names += (names.empty() ? "" : ", ") + info.name;
  return names;
}

}  // namespace detail

/// A stage of the rule catalogue without then=: "clip(c=2)", "nnm(f=2)",
/// "arc(f=1)", "bucketing(s=2, seed=3)". Parameters and their checks are the
/// catalogue's. Throws Error naming the spec on anything else (a rule, a
/// then=, an unknown name).
inline AnyStage parse_stage(const std::string& text) {
  SpecNode node = parse_spec(text);
  const RuleInfo* info = nullptr;
  for (const RuleInfo& r : rule_catalog())
    if (r.name == node.name) info = &r;
  if (!info || !detail::takes_parameter(info->parameters, "then"))
    detail::fail("stage spec '", text, "': '", node.name, "' is ", info ? "a rule" : "unknown",
                 ", not a stage (stages: ", detail::stage_names(), ")");
  for (const auto& kv : node.args)
    if (kv.first == "then")
      detail::fail("stage spec '", text, "': a stage's own output takes the stage alone, without then=");
  SpecNode::Value mean;
  mean.node = std::make_shared<SpecNode>();
  mean.node->name = "mean";
  node.args.emplace_back("then", mean);
  const AnyStage stage =
      detail::stage_of<Clip, Nnm, Arc, Bucketing>(detail::build_rule(node, text));
  if (stage.empty())
    detail::fail("stage spec '", text, "': ", node.name, " has no stand-alone form in robustagg::AnyStage");
  return stage;
}

/// Runs `stage` on the n x d gradients and writes the rows it outputs
/// (rows_out(n) of d values each, row after row) to `out`; returns their
/// number. Validates first; inputs are never modified. Preconditions as
/// aggregate(): `out` holds rows_out(n) * d values overlapping no input row.
template <class T>
Index apply_stage(const RowsView<T>& g, const AnyStage& stage, T* out, Workspace& ws) {
  detail::check_pointers(g, out);
  stage.validate(g.rows(), g.cols());
  ws.report().clear();
  // A stage reads rows many times: strided (column-major) input is gathered
  // once into contiguous rows (detail/strided.hpp).
  const RowsView<T> v = stage.apply(detail::contiguous_rows(g, ws), ws, ws.report());
  const Index d = g.cols();
  for (Index i = 0; i < v.rows(); ++i) std::copy(v.row(i), v.row(i) + d, out + i * d);
  return v.rows();
}

/// The stage's output as a matrix (resized to its rows x d).
template <class Derived>
void apply_stage(const Eigen::MatrixBase<Derived>& gradients, const AnyStage& stage,
                 GradientMatrix<typename Derived::Scalar>& out, Workspace& ws) {
  using T = typename Derived::Scalar;
  detail::with_rows_view(gradients, ws, [&](const RowsView<T>& view) {
    stage.validate(view.rows(), view.cols());
    out.resize(stage.rows_out(view.rows()), view.cols());
    const Index m = apply_stage(view, stage, out.data(), ws);
    if (m != out.rows()) out.conservativeResize(m, view.cols());
  });
}

}  // namespace robustagg

ROBUSTAGG_FP_END
