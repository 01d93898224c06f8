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
