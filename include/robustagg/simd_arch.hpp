// robustagg: which SIMD architecture the kernels run on.
//
// Compiled library (robustagg::robustagg): the kernels are compiled for
// several architectures (x86-64: sse2, avx2 (with FMA), avx512 (AVX-512
// F/CD/DQ/BW)) and the best one the CPU and the operating system support is
// chosen at the first aggregation, whatever flags the program was compiled
// with. Header-only (a plain #include): the kernels are those of the
// including file's compile-time target, named the same way (a plain -O2 build
// on x86-64 runs sse2; add -march=native, or -mavx2 -mfma, for more).
// Every architecture gives bitwise the same results; forcing one is for
// tests and benchmarks.
#pragma once

#include <string>
#include <vector>

#include "detail/kernels.hpp"  // ROBUSTAGG_LINKAGE
#include "detail/native_arch.hpp"
#include "errors.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// The architecture the kernels run on now: "avx512", "avx2" or "sse2" on
/// x86-64 (elsewhere, header-only: xsimd's name for the compile-time target).
ROBUSTAGG_LINKAGE const char* simd_arch();

/// The architectures compiled in that this machine can run, best first.
ROBUSTAGG_LINKAGE std::vector<std::string> simd_archs();

/// Runs the kernels on architecture `name` (one of simd_archs()) from the
/// next aggregation on; "" or "auto" restores the automatic choice. Throws
/// robustagg::Error naming the architectures available otherwise. The
/// environment variable ROBUSTAGG_SIMD (same names), read at the first
/// aggregation, does the same for a whole program. Aggregations already
/// running finish on the architecture they started with.
ROBUSTAGG_LINKAGE void set_simd_arch(const std::string& name);

#if !defined(ROBUSTAGG_COMPILED_LIB)
// Header-only: one architecture, the compile-time target's.
inline const char* simd_arch() { return detail::native_arch_name(); }
inline std::vector<std::string> simd_archs() { return {detail::native_arch_name()}; }
inline void set_simd_arch(const std::string& name) {
  if (name.empty() || name == "auto" || name == detail::native_arch_name()) return;
  throw Error("set_simd_arch: '" + name + "' is not an architecture this build runs here (" +
              detail::native_arch_name() +
              "; a header-only build runs its compile-time target: compile with other -m flags, or "
              "link robustagg::robustagg for run-time dispatch)");
}
#endif

}  // namespace robustagg

ROBUSTAGG_FP_END
