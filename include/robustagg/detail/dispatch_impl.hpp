// robustagg::detail: choosing the kernel table at run time (simd_arch.hpp).
//
// Compiled once into the library (src/dispatch.cpp), with
// ROBUSTAGG_KERNELS_<ARCH> defined for every architecture built; or, with
// ROBUSTAGG_HEADER_ONLY, included by kernels.hpp with the compile-time
// architecture's kernels compiled inline.
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "../errors.hpp"
#include "../simd_arch.hpp"
#include "kernels.hpp"

#if defined(ROBUSTAGG_HEADER_ONLY)
#define ROBUSTAGG_KERNEL_NS k_native
#include "kernels_impl.hpp"
#undef ROBUSTAGG_KERNEL_NS
#endif

namespace robustagg::detail {

#if !defined(ROBUSTAGG_HEADER_ONLY)
// Defined in src/kernels_<arch>_<type>.cpp.
#if defined(ROBUSTAGG_KERNELS_SSE2)
const KernelSet<float>& kernel_set_sse2(float*);
const KernelSet<double>& kernel_set_sse2(double*);
#endif
#if defined(ROBUSTAGG_KERNELS_AVX2)
const KernelSet<float>& kernel_set_avx2(float*);
const KernelSet<double>& kernel_set_avx2(double*);
#endif
#if defined(ROBUSTAGG_KERNELS_AVX512)
const KernelSet<float>& kernel_set_avx512(float*);
const KernelSet<double>& kernel_set_avx512(double*);
#endif
#if defined(ROBUSTAGG_KERNELS_NATIVE)
const KernelSet<float>& kernel_set_native(float*);
const KernelSet<double>& kernel_set_native(double*);
extern const char* const kernel_native_name;
extern const Index kernel_native_float_width;
#endif
#endif

/// The compiled-in tables, best first, with whether this machine runs them.
struct KernelChoice {
  KernelTable table;
  bool supported;
};

ROBUSTAGG_LINKAGE const std::vector<KernelChoice>& kernel_choices() {
  static const std::vector<KernelChoice> choices = [] {
    std::vector<KernelChoice> c;
#if defined(ROBUSTAGG_HEADER_ONLY)
    namespace k = k_native;
    c.push_back({{k::arch::name(), k::simd_width<float>, k::kernel_set<float>, k::kernel_set<double>},
                 true});
#else
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512bw");
#else
    const bool avx2 = false, avx512 = false;
#endif
    (void)avx2;
    (void)avx512;
#if defined(ROBUSTAGG_KERNELS_AVX512)
    c.push_back({{"avx512", 16, kernel_set_avx512((float*)nullptr), kernel_set_avx512((double*)nullptr)},
                 avx512});
#endif
#if defined(ROBUSTAGG_KERNELS_AVX2)
    c.push_back({{"avx2", 8, kernel_set_avx2((float*)nullptr), kernel_set_avx2((double*)nullptr)}, avx2});
#endif
#if defined(ROBUSTAGG_KERNELS_SSE2)
    c.push_back({{"sse2", 4, kernel_set_sse2((float*)nullptr), kernel_set_sse2((double*)nullptr)}, true});
#endif
#if defined(ROBUSTAGG_KERNELS_NATIVE)
    c.push_back({{kernel_native_name, kernel_native_float_width, kernel_set_native((float*)nullptr),
                  kernel_set_native((double*)nullptr)},
                 true});
#endif
#endif
    return c;
  }();
  return choices;
}

ROBUSTAGG_LINKAGE const KernelTable* find_kernel_table(const std::string& name) {
  for (const KernelChoice& c : kernel_choices())
    if (c.supported && name == c.table.name) return &c.table;
  return nullptr;
}

ROBUSTAGG_LINKAGE std::string kernel_names() {
  std::string s;
  for (const KernelChoice& c : kernel_choices())
    if (c.supported) s += (s.empty() ? "" : ", ") + std::string(c.table.name);
  return s;
}

ROBUSTAGG_LINKAGE const KernelTable* best_kernel_table() {
  for (const KernelChoice& c : kernel_choices())
    if (c.supported) return &c.table;
  fail("robustagg: no SIMD kernels compiled in");
}

ROBUSTAGG_LINKAGE std::atomic<const KernelTable*>& forced_kernel_table() {
  static std::atomic<const KernelTable*> forced{nullptr};
  return forced;
}

ROBUSTAGG_LINKAGE const KernelTable& active_kernel_table() {
  if (const KernelTable* t = forced_kernel_table().load(std::memory_order_acquire)) return *t;
  static const KernelTable* const chosen = [] {
    const char* env = std::getenv("ROBUSTAGG_SIMD");
    if (env && *env && std::string(env) != "auto") {
      const KernelTable* t = find_kernel_table(env);
      if (!t)
        fail("robustagg: ROBUSTAGG_SIMD=", env, " is not an architecture this build runs here (",
             kernel_names(), ")");
      return t;
    }
    return best_kernel_table();
  }();
  return *chosen;
}

}  // namespace robustagg::detail

namespace robustagg {

ROBUSTAGG_LINKAGE const char* simd_arch() { return detail::active_kernel_table().name; }

ROBUSTAGG_LINKAGE std::vector<std::string> simd_archs() {
  std::vector<std::string> names;
  for (const detail::KernelChoice& c : detail::kernel_choices())
    if (c.supported) names.emplace_back(c.table.name);
  return names;
}

ROBUSTAGG_LINKAGE void set_simd_arch(const std::string& name) {
  if (name.empty() || name == "auto") {
    detail::forced_kernel_table().store(nullptr, std::memory_order_release);
    return;
  }
  const detail::KernelTable* t = detail::find_kernel_table(name);
  if (!t)
    detail::fail("set_simd_arch: '", name, "' is not an architecture this build runs here (",
                 detail::kernel_names(), ")");
  detail::forced_kernel_table().store(t, std::memory_order_release);
}

}  // namespace robustagg
