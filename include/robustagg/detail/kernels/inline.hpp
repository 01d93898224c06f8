// robustagg::detail: ROBUSTAGG_KERNEL_INLINE, the forced inlining of the
// kernels' small helpers (kernels/*-inl.hpp).
#pragma once

#if !defined(ROBUSTAGG_KERNEL_INLINE)
#if defined(__GNUC__)
#define ROBUSTAGG_KERNEL_INLINE inline __attribute__((always_inline))
#else
#define ROBUSTAGG_KERNEL_INLINE inline
#endif
#endif

// ROBUSTAGG_UNROLL: unrolls the next loop completely (its trip count is a
// compile-time constant). The register blocks' loops over their rows, columns
// and registers need it at -O2 (a header-only user's usual level): rolled,
// GCC keeps the accumulator arrays on the stack and the distance engine runs
// at half the speed of -O3. Unrolling changes no operation or order.
#if !defined(ROBUSTAGG_UNROLL)
#if defined(__clang__)
#define ROBUSTAGG_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define ROBUSTAGG_UNROLL _Pragma("GCC unroll 64")
#else
#define ROBUSTAGG_UNROLL
#endif
#endif
