// robustagg::detail: number formatting for rule specs and messages.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace robustagg::detail {

/// The shortest decimal form that reads back as the same double ("0.1", "3",
/// "1e-05").
inline std::string format_number(double x) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

}  // namespace robustagg::detail
