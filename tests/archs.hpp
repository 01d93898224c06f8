// Running a test once per SIMD architecture the build and the machine have
// (robustagg::simd_archs()), each forced with robustagg::set_simd_arch.
#pragma once

#include <robustagg/simd_arch.hpp>
#include <string>

namespace robustagg_test {

/// Forces an architecture for the scope's lifetime, then restores "auto".
class ArchScope {
 public:
  explicit ArchScope(const std::string& arch) { robustagg::set_simd_arch(arch); }
  ~ArchScope() { robustagg::set_simd_arch("auto"); }
  ArchScope(const ArchScope&) = delete;
  ArchScope& operator=(const ArchScope&) = delete;
};

/// SIMD lanes of T of the architecture in force.
template <class T>
robustagg::Index simd_width() {
  return robustagg::detail::active_kernel_table().float_width * robustagg::Index(4 / sizeof(float)) *
         robustagg::Index(sizeof(float)) / robustagg::Index(sizeof(T));
}

/// Calls fn(arch_name) with each available architecture forced.
template <class Fn>
void for_each_arch(Fn&& fn) {
  for (const std::string& arch : robustagg::simd_archs()) {
    ArchScope scope(arch);
    fn(arch);
  }
}

}  // namespace robustagg_test
