// The compile-time sorting networks for double, compiled once for the test binary,
// the command-line tool and the benchmarks (the robustagg_networks object
// library in the top CMakeLists.txt), and for the fuzz targets
// (fuzz/CMakeLists.txt): all are built with ROBUSTAGG_SEPARATE_NETWORKS
// (include/robustagg/detail/coordinate.hpp), which removes most of their
// translation units' compile time, plain or sanitized.
#include <robustagg/robustagg.hpp>

ROBUSTAGG_INSTANTIATE_NETWORKS(double)
