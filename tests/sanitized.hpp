// Whether the tests are built with AddressSanitizer or ThreadSanitizer
// (scripts/sanitize.sh). A sanitized build runs every test, but the few that
// repeat the same code over large inputs (the rule-versus-reference grids,
// the noise statistics) use a smaller grid there: the sanitizers look for
// memory and threading errors, which the SIMD and tile edges and odd/even n
// expose as well as the largest sizes do, and the plain build (which CI runs
// first) covers the whole grid.
#pragma once

namespace robustagg_test {

// GCC says so with __SANITIZE_*__, clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ROBUSTAGG_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ROBUSTAGG_TEST_SANITIZED 1
#endif
#endif

#ifdef ROBUSTAGG_TEST_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// ThreadSanitizer alone (it runs the [threads] and [concurrency] tests, each
// call several times slower than ASan): races need two threads on shared
// data, not 64 tiles, so the thread grids use smaller rows there.
#if defined(__SANITIZE_THREAD__)
#define ROBUSTAGG_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ROBUSTAGG_TEST_TSAN 1
#endif
#endif

#ifdef ROBUSTAGG_TEST_TSAN
inline constexpr bool kThreadSanitized = true;
#else
inline constexpr bool kThreadSanitized = false;
#endif

}  // namespace robustagg_test
