// The kernels of one SIMD architecture for one value type, for the compiled
// library. CMakeLists.txt compiles this file once per (architecture of
// include/robustagg/detail/archs.hpp built, type) with that architecture's
// flags, defining
//   ROBUSTAGG_KERNEL_ARCH    the architecture's name (avx512, avx2, sse2, native)
//   ROBUSTAGG_KERNEL_TYPE    float or double
// and expands the kernels (include/robustagg/detail/kernels/expand.hpp) in
// namespace robustagg::detail::k_<name>.
#if !defined(ROBUSTAGG_COMPILED_LIB) || !defined(ROBUSTAGG_KERNEL_ARCH) || !defined(ROBUSTAGG_KERNEL_TYPE)
#error "src/ is compiled by the robustagg CMake target (robustagg::robustagg), which defines ROBUSTAGG_COMPILED_LIB and each kernel object's architecture. To use robustagg without CMake, include <robustagg/robustagg.hpp>: it is header-only by default and needs no src/ file."
#endif

#define ROBUSTAGG_CAT2(a, b) a##b
#define ROBUSTAGG_CAT(a, b) ROBUSTAGG_CAT2(a, b)
#define ROBUSTAGG_KERNEL_NS ROBUSTAGG_CAT(k_, ROBUSTAGG_KERNEL_ARCH)
#define ROBUSTAGG_STR2(a) #a
#define ROBUSTAGG_STR(a) ROBUSTAGG_STR2(a)

#include <robustagg/detail/kernels/expand.hpp>

namespace robustagg::detail {

const KernelSet<ROBUSTAGG_KERNEL_TYPE>& ROBUSTAGG_CAT(kernel_set_, ROBUSTAGG_KERNEL_ARCH)(ROBUSTAGG_KERNEL_TYPE*) {
  return ROBUSTAGG_KERNEL_NS::kernel_set<ROBUSTAGG_KERNEL_TYPE>;
}

#if defined(ROBUSTAGG_KERNEL_INFO)
// The architecture's name and width (once per architecture: the float object).
const char* ROBUSTAGG_CAT(kernel_name_, ROBUSTAGG_KERNEL_ARCH)() {
  // The library's tier names (native_arch.hpp); `native` builds keep xsimd's.
  return native_arch_name();
}
Index ROBUSTAGG_CAT(kernel_float_width_, ROBUSTAGG_KERNEL_ARCH)() {
  return ROBUSTAGG_KERNEL_NS::simd_width<float>;
}
#endif

}  // namespace robustagg::detail
