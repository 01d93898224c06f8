// The run-time choice of the kernel table (include/robustagg/simd_arch.hpp).
// Compiled with the compiler's baseline flags; CMakeLists.txt defines
// ROBUSTAGG_KERNELS_<ARCH> for each architecture whose kernels it builds.
#include <robustagg/detail/dispatch_impl.hpp>
