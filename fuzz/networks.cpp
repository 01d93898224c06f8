// The compile-time sorting networks, compiled once for every fuzz target
// (they are built with ROBUSTAGG_SEPARATE_NETWORKS; see coordinate.hpp).
#include <robustagg/robustagg.hpp>

ROBUSTAGG_INSTANTIATE_NETWORKS(float)
ROBUSTAGG_INSTANTIATE_NETWORKS(double)
