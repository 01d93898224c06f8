// robustagg::detail: a counter-based Gaussian generator keyed by
// (seed, worker, coordinate), so noise is reproducible, independent of thread
// count and tiling, and the same on the worker side (perturb) and the server
// side (noisy rules).
#pragma once

#include <cmath>
#include <cstdint>

namespace robustagg::detail {

inline std::uint64_t mix64(std::uint64_t z) {
  // splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective avalanche mix.
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Standard normal deviate for (seed, worker, coordinate). Coordinates 2c and
/// 2c+1 share one Box-Muller draw (cosine and sine branches) from the 64-bit
/// hash of (seed, worker, c): two 32-bit uniforms in (0, 1).
inline double gaussian(std::uint64_t seed, std::uint64_t worker, std::uint64_t coordinate) {
  const std::uint64_t h = mix64(mix64(mix64(seed) ^ worker) ^ (coordinate >> 1));
  const double u1 = (double(h >> 32) + 0.5) * 0x1p-32;
  const double u2 = (double(h & 0xffffffffULL) + 0.5) * 0x1p-32;
  const double r = std::sqrt(-2.0 * std::log(u1));
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return (coordinate & 1) ? r * std::sin(kTwoPi * u2) : r * std::cos(kTwoPi * u2);
}

/// The value a worker sends under noise of scale b: x + T(b * xi).
template <class T>
inline T perturbed(T x, double b, std::uint64_t seed, std::uint64_t worker,
                   std::uint64_t coordinate) {
  return x + static_cast<T>(b * gaussian(seed, worker, coordinate));
}

}  // namespace robustagg::detail
