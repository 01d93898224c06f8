// The rule catalogue behind parse_rule (include/robustagg/spec.hpp), compiled
// once here for the compiled library: it instantiates every rule for float
// and double.
#if !defined(ROBUSTAGG_COMPILED_LIB)
#error "src/ is compiled by the robustagg CMake target (robustagg::robustagg), which defines ROBUSTAGG_COMPILED_LIB. To use robustagg without CMake, include <robustagg/robustagg.hpp>: it is header-only by default and needs no src/ file."
#endif
#include <robustagg/detail/catalog_impl.hpp>
