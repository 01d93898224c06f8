// robustagg::attacks, by spec string: the attack catalogue (attack_catalog(),
// what `robustagg attacks` and Python's robustagg.attacks() list), Attack (an
// attack chosen at run time) and parse_attack. The spec grammar is the rule
// grammar (spec.hpp): "alie", "alie(z=1.5)", "optimal-alie(rule=krum(f=2))".
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../gradients.hpp"
#include "../rule.hpp"
#include "../spec.hpp"
#include "basic.hpp"
#include "searched.hpp"
#include "../detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::attacks {

/// An attack chosen at run time (parse_attack, the demo, the CLI, Python): a
/// canonical spec and the function that overwrites the Byzantine rows, for
/// float and double. Default-constructed: "none" (changes nothing). Cheap to
/// copy; safe to share between threads.
class Attack {
 public:
  /// How an attack acts: on the gradients sent, or on the training data.
  enum class Kind { gradient, data };

  Attack() : Attack("none", "none", Kind::gradient, [](auto&, const std::vector<Index>&, std::uint64_t) {}) {}

  /// An attack named `name` with canonical spec `spec` that runs
  /// `f(g, byzantine, step)`; f is called with GradientMatrix<float> and
  /// GradientMatrix<double> (a generic lambda).
  template <class F>
  Attack(std::string name, std::string spec, Kind kind, F f)
      : self_(std::make_shared<const Impl>(Impl{std::move(name), std::move(spec), kind, f, f})) {}

  /// The attack's catalogue name ("alie", "label-flip").
  const std::string& name() const { return self_->name; }
  /// The canonical spec: parse_attack(a.spec()).spec() == a.spec().
  const std::string& spec() const { return self_->spec; }
  Kind kind() const { return self_->kind; }

  /// Overwrites the Byzantine rows of g; `step` varies the Gaussian draw. A
  /// data attack (label-flip) has no gradient form and throws Error.
  template <class T>
  void apply(GradientMatrix<T>& g, const std::vector<Index>& byzantine,
             std::uint64_t step = 0) const {
    static_assert(is_supported_scalar_v<T>, "attacks apply to float or double gradients");
    if constexpr (std::is_same_v<T, float>)
      self_->on_float(g, byzantine, step);
    else
      self_->on_double(g, byzantine, step);
  }

 private:
  struct Impl {
    std::string name, spec;
    Kind kind;
    std::function<void(GradientMatrix<float>&, const std::vector<Index>&, std::uint64_t)> on_float;
    std::function<void(GradientMatrix<double>&, const std::vector<Index>&, std::uint64_t)> on_double;
  };
  std::shared_ptr<const Impl> self_;
};

/// One attack parse_attack knows, for listings (robustagg attacks, Python's
/// robustagg.attacks()).
struct AttackInfo {
  std::string name;         // "min-max"
  std::string parameters;   // "p=std" (key=default; a key alone is required)
  Attack::Kind kind;        // gradient: replaces the Byzantine rows; data: changes labels
  std::string requirement;  // what the rows must satisfy
  std::string summary;      // one line
  std::function<Attack(SpecArgs&, const std::string& text)> build;
};

inline const char* kind_name(Attack::Kind k) { return k == Attack::Kind::data ? "data" : "gradient"; }

namespace internal {

/// "optimal-alie(rule=..., max=10, steps=40)": the spec of a searched attack.
inline std::string search_spec(const std::string& name, const AnyRule& rule, double max, int steps) {
  return name + "(rule=" + rule.spec() + ", max=" + number(max) + ", steps=" + std::to_string(steps) + ")";
}

inline Direction direction_of(const std::string& p) {
  return p == "unit" ? Direction::unit : p == "sign" ? Direction::sign : Direction::std_dev;
}

}  // namespace internal

namespace internal {

/// The builder of optimal-alie and optimal-ipm.
inline Attack build_search(SpecArgs& a, const std::string& text, const std::string& name) {
  if (!a.has("rule"))
    robustagg::detail::fail("attack '", text, "': ", name, " needs rule=SPEC, the defender's rule (e.g. ",
                            name, "(rule=krum(f=2)))");
  const AnyRule rule = a.get_rule("rule", [&text](const SpecNode& rule_node) {
    return robustagg::detail::build_rule(rule_node, text);
  });
  const double max = a.has("max") ? a.get_double("max") : 10.0;
  const int steps = a.get_int("steps", 40);
  a.finish("rule, max, steps");
  check_search(name.c_str(), max, steps);
  const bool is_alie = name == "optimal-alie";
  return Attack(name, search_spec(name, rule, max, steps), Attack::Kind::gradient,
                [rule, max, steps, is_alie](auto& g, const std::vector<Index>& byz, std::uint64_t) {
                  if (is_alie)
                    optimal_alie(g, byz, rule, max, steps);
                  else
                    optimal_ipm(g, byz, rule, max, steps);
                });
}

}  // namespace internal

/// Every attack parse_attack knows, in the order the docs list them.
inline const std::vector<AttackInfo>& attack_catalog() {
  using K = Attack::Kind;
  using internal::number;
  using V = const std::vector<Index>&;
  static const std::vector<AttackInfo> catalog = {
      {"none", "", K::gradient, "none", "no attack: the Byzantine rows stay as they are",
       [](SpecArgs& a, const std::string&) {
         a.finish("no parameters");
         return Attack();
       }},
      {"alie", "z=auto", K::gradient,
       "at least one honest row; z=auto needs 1 <= floor(n/2+1) - f <= n-1",
       "a little is enough (Baruch et al. 2019): mu - z * sigma of the honest rows; z=auto: "
       "z = Phi^-1((n - s)/n), s = floor(n/2+1) - f",
       [](SpecArgs& a, const std::string&) {
         if (a.has("z") && !a.has_word("z")) {
           const double z = a.get_double("z");
           a.finish("z");
           return Attack("alie", "alie(z=" + number(z) + ")", K::gradient,
                         [z](auto& g, V byz, std::uint64_t) { alie(g, byz, z); });
         }
         if (a.has("z")) a.get_word("z", "auto");
         a.finish("z");
         return Attack("alie", "alie", K::gradient, [](auto& g, V byz, std::uint64_t) { alie(g, byz); });
       }},
      {"ipm", "eps=0.5", K::gradient, "at least one honest row",
       "inner-product manipulation (Xie et al. 2019): -eps * mu of the honest rows",
       [](SpecArgs& a, const std::string&) {
         const double eps = a.has("eps") ? a.get_double("eps") : 0.5;
         a.finish("eps");
         return Attack("ipm", "ipm(eps=" + number(eps) + ")", K::gradient,
                       [eps](auto& g, V byz, std::uint64_t) { ipm(g, byz, eps); });
       }},
      {"reverse", "c=100", K::gradient, "none",
       "each Byzantine row -c times its own honest gradient",
       [](SpecArgs& a, const std::string&) {
         const double c = a.has("c") ? a.get_double("c") : 100.0;
         a.finish("c");
         return Attack("reverse", "reverse(c=" + number(c) + ")", K::gradient,
                       [c](auto& g, V byz, std::uint64_t) { reverse(g, byz, c); });
       }},
      {"constant", "c=100", K::gradient, "none", "every entry of a Byzantine row c",
       [](SpecArgs& a, const std::string&) {
         const double c = a.has("c") ? a.get_double("c") : 100.0;
         a.finish("c");
         return Attack("constant", "constant(c=" + number(c) + ")", K::gradient,
                       [c](auto& g, V byz, std::uint64_t) { constant(g, byz, c); });
       }},
      {"gaussian", "sigma=100, seed=0", K::gradient, "sigma >= 0",
       "every entry sigma * N(0, 1), keyed by (seed, step, row, coordinate)",
       [](SpecArgs& a, const std::string& text) {
         const double sigma = a.has("sigma") ? a.get_double("sigma") : 100.0;
         const std::uint64_t seed = a.get_u64("seed", 0);
         a.finish("sigma, seed");
         if (!(sigma >= 0.0)) robustagg::detail::fail("attack '", text, "': sigma must be >= 0");
         return Attack("gaussian", "gaussian(sigma=" + number(sigma) + ", seed=" + std::to_string(seed) + ")",
                       K::gradient, [sigma, seed](auto& g, V byz, std::uint64_t step) {
                         gaussian(g, byz, sigma, seed, step);
                       });
       }},
      {"nan", "", K::gradient, "none", "every entry NaN",
       [](SpecArgs& a, const std::string&) {
         a.finish("no parameters");
         return Attack("nan", "nan", K::gradient, [](auto& g, V byz, std::uint64_t) {
           using T = typename std::decay_t<decltype(g)>::Scalar;
           non_finite(g, byz, std::numeric_limits<T>::quiet_NaN());
         });
       }},
      {"inf", "", K::gradient, "none", "every entry +Inf",
       [](SpecArgs& a, const std::string&) {
         a.finish("no parameters");
         return Attack("inf", "inf", K::gradient, [](auto& g, V byz, std::uint64_t) {
           using T = typename std::decay_t<decltype(g)>::Scalar;
           non_finite(g, byz, std::numeric_limits<T>::infinity());
         });
       }},
      {"sign-flip", "", K::gradient, "at least one honest row", "-mu of the honest rows",
       [](SpecArgs& a, const std::string&) {
         a.finish("no parameters");
         return Attack("sign-flip", "sign-flip", K::gradient,
                       [](auto& g, V byz, std::uint64_t) { sign_flip(g, byz); });
       }},
      {"mimic", "worker=0", K::gradient, "0 <= worker < the number of honest rows",
       "a copy of honest row number `worker` (counted among the honest rows; Karimireddy et al. "
       "2022)",
       [](SpecArgs& a, const std::string&) {
         const int worker = a.get_int("worker", 0);
         a.finish("worker");
         return Attack("mimic", "mimic(worker=" + std::to_string(worker) + ")", K::gradient,
                       [worker](auto& g, V byz, std::uint64_t) { mimic(g, byz, worker); });
       }},
      {"optimal-alie", "rule, max=10, steps=40", K::gradient,
       "at least one honest row; max > 0, steps >= 1; the rule's own requirement on the n rows",
       "ALIE with z in [0, max] chosen each step by a line search maximising |rule(g) - mu| "
       "against the defender's rule (steps + 27 aggregations)",
       [](SpecArgs& a, const std::string& text) { return internal::build_search(a, text, "optimal-alie"); }},
      {"optimal-ipm", "rule, max=10, steps=40", K::gradient,
       "at least one honest row; max > 0, steps >= 1; the rule's own requirement on the n rows",
       "IPM with eps in [0, max] chosen each step like optimal-alie's z",
       [](SpecArgs& a, const std::string& text) { return internal::build_search(a, text, "optimal-ipm"); }},
      {"min-max", "p=std", K::gradient, "at least one honest row; finite honest rows",
       "mu - gamma * p (p = std, unit or sign), the largest gamma with max_i |m - x_i|^2 <= "
       "max_ij |x_i - x_j|^2 over the honest rows (Shejwalkar, Houmansadr 2021)",
       [](SpecArgs& a, const std::string&) {
         const std::string p = a.has("p") ? a.get_word("p", "std, unit, sign") : "std";
         a.finish("p");
         const Direction dir = internal::direction_of(p);
         return Attack("min-max", "min-max(p=" + p + ")", K::gradient,
                       [dir](auto& g, V byz, std::uint64_t) { min_max(g, byz, dir); });
       }},
      {"min-sum", "p=std", K::gradient, "at least one honest row; finite honest rows",
       "mu - gamma * p, the largest gamma with sum_i |m - x_i|^2 <= min_j sum_i |x_j - x_i|^2 "
       "over the honest rows (same paper)",
       [](SpecArgs& a, const std::string&) {
         const std::string p = a.has("p") ? a.get_word("p", "std, unit, sign") : "std";
         a.finish("p");
         const Direction dir = internal::direction_of(p);
         return Attack("min-sum", "min-sum(p=" + p + ")", K::gradient,
                       [dir](auto& g, V byz, std::uint64_t) { min_sum(g, byz, dir); });
       }},
      {"label-flip", "classes=10", K::data, "labels 0 .. classes-1, classes >= 2",
       "a data attack: the Byzantine workers train on label classes-1-y (flip_label); it has no "
       "gradient form",
       [](SpecArgs& a, const std::string&) {
         const int classes = a.get_int("classes", 10);
         a.finish("classes");
         const std::string spec = "label-flip(classes=" + std::to_string(classes) + ")";
         if (classes < 2) robustagg::detail::fail(spec, ": classes must be >= 2, got classes = ", classes);
         return Attack("label-flip", spec, K::data, [spec](auto&, V, std::uint64_t) {
           robustagg::detail::fail(spec, " is a data attack: the Byzantine workers train on label ",
                                   "classes-1-y (attacks::flip_label) and send honest gradients of ",
                                   "those labels; it does not rewrite gradient rows");
         });
       }},
  };
  return catalog;
}


/// Parses an attack spec (attack_catalog() lists the names and parameters).
/// Throws robustagg::Error on anything malformed or unknown, naming the spec.
inline Attack parse_attack(const std::string& text) {
  const SpecNode node = parse_spec(text);
  for (const AttackInfo& info : attack_catalog()) {
    if (info.name != node.name) continue;
    for (const auto& kv : node.args)
      if (!robustagg::detail::takes_parameter(info.parameters, kv.first))
        robustagg::detail::fail("attack '", text, "': ", node.name, " has no parameter '", kv.first,
                                "' (", node.name, " takes ",
                                info.parameters.empty() ? "no parameters" : info.parameters, ")");
    SpecArgs args(node, text);
    return info.build(args, text);
  }
  std::string names;
  for (const AttackInfo& info : attack_catalog()) names += (names.empty() ? "" : ", ") + info.name;
  robustagg::detail::fail("attack '", text, "': unknown attack '", node.name, "' (known: ", names, ")");
}

}  // namespace robustagg::attacks

ROBUSTAGG_FP_END
