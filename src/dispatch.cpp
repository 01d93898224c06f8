// The compiled library's run-time choice of the kernel table
// (include/robustagg/simd_arch.hpp), for the architectures CMakeLists.txt
// built (robustagg_built_archs.hpp, generated). Compiled with the compiler's
// baseline flags.
#if !defined(ROBUSTAGG_COMPILED_LIB)
#error "src/ is compiled by the robustagg CMake target (robustagg::robustagg), which defines ROBUSTAGG_COMPILED_LIB. To use robustagg without CMake, include <robustagg/robustagg.hpp>: it is header-only by default and needs no src/ file."
#endif
#include <robustagg/detail/dispatch_impl.hpp>
