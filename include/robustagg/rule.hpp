// robustagg: what a rule is, and AnyRule, the type-erased rule.
//
// A rule is a copyable value type with
//   std::string spec() const;                   // canonical spec string
//   Index min_rows() const;                      // fewest gradients it accepts
//   void validate(Index n, Index d) const;       // throws robustagg::Error
//   template <class T>
//   void run(const RowsView<T>& g, T* out, Workspace& ws) const;  // after validate
// run() writes d values to out and never modifies the gradients. It is given
// contiguous rows (RowsView::contiguous()) unless the rule also has
//   bool reads_strided() const;                  // true: run() reads any layout
// which the coordinate-wise rules do (they read column-major input in place);
// detail::run_rule gives the others one contiguous copy (detail/strided.hpp).
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/strided.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {
template <class R, class = void>
struct is_rule : std::false_type {};
template <class R>
struct is_rule<R, std::void_t<decltype(std::declval<const R&>().spec()),
                              decltype(std::declval<const R&>().min_rows()),
                              decltype(std::declval<const R&>().validate(Index(), Index())),
                              decltype(std::declval<const R&>().template run<float>(
                                  std::declval<const RowsView<float>&>(),
                                  std::declval<float*>(), std::declval<Workspace&>()))>>
    : std::true_type {};

template <class R, class = void>
struct has_reads_strided : std::false_type {};
template <class R>
struct has_reads_strided<R, std::void_t<decltype(std::declval<const R&>().reads_strided())>>
    : std::true_type {};

/// Whether rule r's run() reads strided (non-contiguous) views in place.
template <class R>
bool reads_strided(const R& r) {
  if constexpr (has_reads_strided<R>::value)
    return r.reads_strided();
  else
    return false;
}
}  // namespace detail

/// True when R models the rule concept above.
template <class R>
inline constexpr bool is_rule_v = detail::is_rule<std::decay_t<R>>::value;

/// A rule chosen at run time (parse_rule, the CLI, DETOX's inner and outer
/// rules). Holds any rule by value behind a shared immutable pointer; cheap to
/// copy, safe to share between threads.
class AnyRule {
 public:
  /// An empty AnyRule; using it throws.
  AnyRule() = default;

  template <class R, class = std::enable_if_t<is_rule_v<R> && !std::is_same_v<std::decay_t<R>, AnyRule>>>
  AnyRule(R rule)  // NOLINT(google-explicit-constructor): any rule converts
      : self_(std::make_shared<const Model<std::decay_t<R>>>(std::move(rule))) {}

  bool empty() const { return !self_; }
  std::string spec() const { return get().spec(); }
  Index min_rows() const { return get().min_rows(); }
  void validate(Index n, Index d) const { get().validate(n, d); }
  /// Whether the held rule reads strided views in place (rule concept above).
  bool reads_strided() const { return get().reads_strided(); }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    if constexpr (std::is_same_v<T, float>)
      get().run_float(g, out, ws);
    else
      get().run_double(g, out, ws);
  }

  /// The held rule if it is an R, else nullptr. The pointer lives as long as
  /// this AnyRule; on a temporary it would dangle, so that overload is deleted.
  template <class R>
  const R* target() const& {
    auto* m = dynamic_cast<const Model<R>*>(self_.get());
    return m ? &m->rule : nullptr;
  }
  template <class R>
  const R* target() const&& = delete;

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::string spec() const = 0;
    virtual Index min_rows() const = 0;
    virtual void validate(Index n, Index d) const = 0;
    virtual bool reads_strided() const = 0;
    virtual void run_float(const RowsView<float>&, float*, Workspace&) const = 0;
    virtual void run_double(const RowsView<double>&, double*, Workspace&) const = 0;
  };
  template <class R>
  struct Model final : Concept {
    explicit Model(R r) : rule(std::move(r)) {}
    std::string spec() const override { return rule.spec(); }
    Index min_rows() const override { return rule.min_rows(); }
    void validate(Index n, Index d) const override { rule.validate(n, d); }
    bool reads_strided() const override { return detail::reads_strided(rule); }
    void run_float(const RowsView<float>& g, float* out, Workspace& ws) const override {
      rule.template run<float>(g, out, ws);
    }
    void run_double(const RowsView<double>& g, double* out, Workspace& ws) const override {
      rule.template run<double>(g, out, ws);
    }
    R rule;
  };

  const Concept& get() const {
    if (!self_) throw Error("robustagg::AnyRule: empty rule (default-constructed)");
    return *self_;
  }

  std::shared_ptr<const Concept> self_;
};

namespace detail {

/// g itself for a rule that reads any layout or for contiguous rows, else one
/// contiguous copy of g in ws (strided.hpp).
template <class Rule, class T>
RowsView<T> view_for(const Rule& rule, const RowsView<T>& g, Workspace& ws) {
  return g.contiguous() || reads_strided(rule) ? g : contiguous_rows(g, ws);
}

/// rule.run on the view the rule reads (view_for).
template <class Rule, class T>
void run_rule(const Rule& rule, const RowsView<T>& g, T* out, Workspace& ws) {
  rule.template run<T>(view_for(rule, g, ws), out, ws);
}

}  // namespace detail
}  // namespace robustagg

ROBUSTAGG_FP_END
