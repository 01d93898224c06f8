// robustagg: the library's exception type and boundary checks.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// Thrown by every always-on check at the API boundary (bad shapes, impossible
/// parameters, malformed rule specs). The message names the rule, the requirement
/// and the values got, e.g. "bulyan(f=3) needs n >= 4f+3 = 15 gradients, got 12".
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument(what) {}
};

namespace detail {

/// Builds a message from streamable pieces and throws robustagg::Error.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

}  // namespace detail
}  // namespace robustagg

ROBUSTAGG_FP_END
