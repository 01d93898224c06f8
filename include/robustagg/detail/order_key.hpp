// robustagg::detail: IEEE total order as signed integer keys, and the scalar
// reducers over sorted keys (median, mean of a range, Bulyan's coordinate
// step): kernels/scalar-inl.hpp expanded in robustagg::detail, for the
// portable engine and the references. The SIMD kernels expand the same file
// in their own namespaces.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "../gradients.hpp"
#include "kernels/inline.hpp"

namespace robustagg::detail {
#include "kernels/scalar-inl.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN
}  // namespace robustagg::detail

ROBUSTAGG_FP_END
