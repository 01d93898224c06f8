// robustagg::detail: the always-on checks shared by every rule's validate().
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "../errors.hpp"
#include "../gradients.hpp"

namespace robustagg::detail {

/// "<spec> needs n >= <formula> = <need> gradients, got <n>" and the d check.
inline void check_shape(const std::string& spec, Index n, Index d, Index need,
                        const char* formula) {
  if (n < need) {
    if (formula && *formula)
      fail(spec, " needs n >= ", formula, " = ", need, " gradients, got ", n);
    fail(spec, " needs at least ", need, need == 1 ? " gradient" : " gradients", ", got ", n);
  }
  if (d < 1) fail(spec, " needs gradients with d >= 1 coordinates, got d = ", d);
}

inline void check_f(const std::string& spec, int f) {
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
