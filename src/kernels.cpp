// The kernels of one SIMD architecture for one value type. CMakeLists.txt
// compiles this file once per (architecture, type) with that architecture's
// -m flags and -ffp-contract=off, defining
//   ROBUSTAGG_KERNEL_NS      the namespace of this copy (k_sse2, k_avx2, ...)
//   ROBUSTAGG_KERNEL_GETTER  the function returning its table (kernel_set_avx2)
//   ROBUSTAGG_KERNEL_TYPE    float or double
// See include/robustagg/detail/kernels.hpp.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns (-Wmaybe-uninitialized) inside its own AVX-512 intrinsic
// headers as xsimd uses them; the warnings are about GCC's headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <robustagg/detail/kernels_impl.hpp>

namespace robustagg::detail {

const KernelSet<ROBUSTAGG_KERNEL_TYPE>& ROBUSTAGG_KERNEL_GETTER(ROBUSTAGG_KERNEL_TYPE*) {
  return ROBUSTAGG_KERNEL_NS::kernel_set<ROBUSTAGG_KERNEL_TYPE>;
}

#if defined(ROBUSTAGG_KERNEL_NATIVE_INFO)
extern const char* const kernel_native_name;
extern const Index kernel_native_float_width;
const char* const kernel_native_name = ROBUSTAGG_KERNEL_NS::arch::name();
const Index kernel_native_float_width = ROBUSTAGG_KERNEL_NS::simd_width<float>;
#endif

}  // namespace robustagg::detail
