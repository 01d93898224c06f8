// robustagg::detail: the SIMD architectures of the compiled library, in one
// list, best first. Each entry is
//   X(name, flags for GCC and Clang as one string, the CPU check)
// CMakeLists.txt reads the names and flags from the X(...) lines below (one
// per line) and compiles src/kernels.cpp once per architecture it builds
// (ROBUSTAGG_SIMD_ARCHS, a subset of these names, or `native`); the dispatch
// (dispatch_impl.hpp) expands the same list for the architectures built and
// checks the CPU at run time. Adding an architecture is one line here (and
// its tier in native_arch.hpp).
#pragma once
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

#define ROBUSTAGG_X86_64_ARCHS(X) \
  X(avx512, "-mavx2 -mfma -mavx512f -mavx512cd -mavx512dq -mavx512bw", cpu_has_avx512) \
  X(avx2, "-mavx2 -mfma", cpu_has_avx2) \
  X(sse2, "", cpu_has_sse2)

namespace robustagg::detail {

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
inline bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
inline bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
}
#else
inline bool cpu_has_avx2() { return false; }
inline bool cpu_has_avx512() { return false; }
#endif
inline bool cpu_has_sse2() { return true; }  // the x86-64 baseline
inline bool cpu_has_native() { return true; }  // `native`: the compiler's default target

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
