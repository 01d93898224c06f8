// robustagg::detail: the always-on checks shared by every rule's validate().
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "../errors.hpp"
#include "../gradients.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

/// Most columns for which a too-short input gets the "pass the transpose"
/// hint: more columns than this are a gradient's coordinates, not workers.
inline constexpr Index kTransposeHintMaxColumns = 1024;

/// "<spec> needs n >= <formula> = <need> gradients, got <n>" and the d check.
inline void check_shape(const std::string& spec, Index n, Index d, Index need,
                        const char* formula) {
  if (n < need) {
    // A matrix with one column per worker, passed by mistake, reads as its
    // coordinates being the workers. Say so only when that reading is likely:
    // the columns would meet the requirement and are few enough to be workers
    // (then the workers outnumber the coordinates), not a gradient's length.
    std::string hint;
    if (n > 0 && d >= need && d <= kTransposeHintMaxColumns)
      hint = " (the input is " + std::to_string(n) + " x " + std::to_string(d) +
             " and rows are workers: pass the transpose if its columns are)";
    if (formula && *formula)
      fail(spec, " needs n >= ", formula, " = ", need, " gradients, got ", n, hint);
    fail(spec, " needs at least ", need, need == 1 ? " gradient" : " gradients", ", got ", n, hint);
  }
  if (d < 1) fail(spec, " needs gradients with d >= 1 coordinates, got d = ", d);
}

/// The default f of the rules that tolerate f Byzantine workers: "not given".
/// A rule must be told f (Krum{2}, "krum(f=2)"); validate() refuses this value,
/// so Krum{} is an error at the first aggregation, never a silent f = 0.
inline constexpr int kUnsetF = std::numeric_limits<int>::min();

/// f as a spec shows it: the number, or "?" when not given.
inline std::string f_text(int f) { return f == kUnsetF ? std::string("?") : std::to_string(f); }

inline void check_f(const std::string& spec, int f) {
  if (f == kUnsetF)
    fail(spec, ": f (the number of Byzantine workers to tolerate) was not given; "
               "set it, e.g. ", spec.substr(0, spec.find('(')), "(f=1)");
  if (f < 0) fail(spec, ": f must be >= 0, got f = ", f);
}

inline void check_noise_scale(const std::string& spec, double b) {
  if (!(b >= 0.0) || !std::isfinite(b)) fail(spec, ": b must be finite and >= 0, got b = ", b);
}

/// The same checks taking the rule itself: its spec string is built only when
/// a check fails, so a valid call allocates nothing (steady state).
template <class Rule, class = decltype(std::declval<const Rule&>().spec())>
inline void check_shape(const Rule& rule, Index n, Index d, Index need, const char* formula) {
  if (n < need || d < 1) check_shape(rule.spec(), n, d, need, formula);
}

template <class Rule, class = decltype(std::declval<const Rule&>().spec())>
inline void check_f(const Rule& rule, int f) {
  if (f < 0) check_f(rule.spec(), f);
}

template <class Rule, class = decltype(std::declval<const Rule&>().spec())>
inline void check_noise_scale(const Rule& rule, double b) {
  if (!(b >= 0.0) || !std::isfinite(b)) check_noise_scale(rule.spec(), b);
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
