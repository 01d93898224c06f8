// robustagg::detail: the coordinate tiling shared by all kernels.
//
// Work is split into fixed tiles of coordinates whose size does not depend on
// the thread count, and partial results are reduced in tile order, so results
// are bitwise identical however the tiles are scheduled.
#pragma once

#include <algorithm>

#include "../gradients.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

/// Coordinates per tile of the coordinate-wise engine: n rows x 256 values of
/// a tile stay in L1/L2 for the n this library targets.
inline constexpr Index kCoordinateTile = 256;

/// Coordinates per tile of the distance engine (n rows x 2048 floats ~ L2).
inline constexpr Index kDistanceTile = 2048;

inline Index tile_count(Index d, Index tile) { return (d + tile - 1) / tile; }

/// The identity transform: the rule sees the workers' values as sent.
struct AsSent {
  template <class T>
  T operator()(Index, Index, T x) const {
    return x;
  }
};

/// Calls fn(j0, j1) for each tile [j0, j1) of [0, d), in order.
template <class Fn>
void for_each_tile(Index d, Index tile, Fn&& fn) {
  for (Index j0 = 0; j0 < d; j0 += tile) fn(j0, std::min(d, j0 + tile));
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
