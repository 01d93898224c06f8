// robustagg: which SIMD architecture the kernels run on.
//
// The library's kernels are compiled for several architectures (x86-64:
// sse2, avx2 (with FMA), avx512 (AVX-512 F/CD/DQ/BW)) and the best one the
// CPU and the operating system support is chosen at the first aggregation,
// whatever flags the program was compiled with. Every architecture gives
// bitwise the same results; forcing one is for tests and benchmarks.
#pragma once

#include <string>
#include <vector>

#include "detail/kernels.hpp"  // ROBUSTAGG_LINKAGE

namespace robustagg {

/// The architecture the kernels run on now: "avx512", "avx2", "sse2" (or, in
/// a ROBUSTAGG_HEADER_ONLY build, the compile-time architecture's name).
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

}  // namespace robustagg
