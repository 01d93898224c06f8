// robustagg::detail: the kernels' architecture for this translation unit's
// compiler flags, mapped to the library's tiers, and its name.
//
// The compiled library builds its kernels once per tier (archs.hpp) and each
// of those translation units sees its tier's flags; a header-only program's
// kernels are this tier for its own flags. Both use the same xsimd
// architecture for a tier, so a tier's kernels are the same code in both
// modes, and simd_arch() gives the same name:
//   avx512  AVX-512 F, CD, DQ, BW with AVX2 and FMA (-march=skylake-avx512, znver4, ...)
//   avx2    AVX2 with FMA (-march=haswell, znver1..3, x86-64-v3, ...)
//   sse2    x86-64 without either (plain -O2 builds)
// Elsewhere (ARM, ...) xsimd's best architecture for the flags, under its
// own name.
#pragma once

#include <xsimd/xsimd.hpp>

namespace robustagg::detail {

#if defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512DQ__) && \
    defined(__AVX512BW__) && defined(__AVX2__) && defined(__FMA__)
using native_arch = xsimd::avx512bw;
inline constexpr const char* native_arch_name() { return "avx512"; }
#elif defined(__AVX2__) && defined(__FMA__)
using native_arch = xsimd::fma3<xsimd::avx2>;
inline constexpr const char* native_arch_name() { return "avx2"; }
#elif defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
using native_arch = xsimd::sse2;
inline constexpr const char* native_arch_name() { return "sse2"; }
#else
using native_arch = xsimd::default_arch;
inline constexpr const char* native_arch_name() { return xsimd::default_arch::name(); }
#endif

}  // namespace robustagg::detail
