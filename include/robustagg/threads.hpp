// robustagg: the number of threads the kernels may use.
//
// Kernels split their work into fixed tiles whose size does not depend on the
// thread count and reduce partial results in tile order, so every rule gives
// bitwise identical results for any thread count. Small inputs run on the
// calling thread (no thread overhead below ~2^18 values).
#pragma once

#include <algorithm>
#include <atomic>
#include <thread>
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// Most threads a kernel uses, whatever is requested.
inline constexpr int kMaxThreads = 64;

namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> requested{0};
  return requested;
}
}  // namespace detail

/// Sets the number of threads aggregations use (the calling thread included).
/// k <= 0 restores the default, the hardware concurrency. Values above
/// kMaxThreads are clamped. Takes effect at the next aggregation.
inline void set_num_threads(int k) { detail::thread_setting().store(k < 0 ? 0 : k); }

/// The number of threads aggregations use (>= 1).
inline int num_threads() {
  int k = detail::thread_setting().load(std::memory_order_relaxed);
  if (k <= 0) k = int(std::thread::hardware_concurrency());
  return std::clamp(k, 1, kMaxThreads);
}

}  // namespace robustagg

ROBUSTAGG_FP_END
