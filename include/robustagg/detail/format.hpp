// robustagg::detail: number formatting for rule specs and messages.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

/// The shortest decimal form that reads back as the same double ("0.1", "3",
/// "100", "1e-07"): plain notation for 1e-4 <= |x| < 1e16, exponent outside.
inline std::string format_number(double x) {
  const double a = std::fabs(x);
  const bool plain = a == 0.0 || (a >= 1e-4 && a < 1e16);
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (plain && std::strchr(buf, 'e') != nullptr) continue;
    if (std::strtod(buf, nullptr) == x) return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
