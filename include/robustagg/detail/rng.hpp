// robustagg::detail: a counter-based Gaussian generator keyed by
// (seed, worker, coordinate), so noise is reproducible, independent of thread
// count and tiling, and the same on the worker side (perturb) and the server
// side (noisy rules).
//
// The definition (every path computes exactly these bits):
//
//  1. Key: the 128-bit Threefry key (k0, k1, k2, k3) = (low and high 32 bits of
//     seed, low and high 32 bits of worker).
//  2. Block cipher: Threefry-4x32 with 20 rounds (Salmon, Moraes, Dror, Shaw,
//     "Parallel random numbers: as easy as 1, 2, 3", SC 2011; Random123's
//     threefry4x32_20, checked against its known-answer vectors in
//     tests/test_noise_generator.cpp) maps the counter (c mod 2^32, c / 2^32,
//     0, 0) to four 32-bit words (w0, w1, w2, w3).
//  3. Layout: coordinates come in blocks of 64. Coordinate j uses counter
//     c = 16 * (j / 64) + j % 16 and output o = (j / 16) % 4: o = 0 and 1 are
//     the cosine and sine branch of one Box-Muller draw from (w0, w1), o = 2 and
//     3 of the draw from (w2, w3). (Each SIMD lane holds one counter; the four
//     outputs of 16 consecutive counters fill 64 consecutive coordinates with
//     plain stores, whatever the vector width.)
//  4. Normal transform of (a, b), in float, with only IEEE +, -, *, /, sqrt,
//     int -> float conversions and 32-bit integer operations, each product
//     rounded before it is added (no fused multiply-add): box_muller() below.
//     u1 = (float(a >> 1) + 0.5) * 2^-31 in [2^-32, 1]; log u1 from its
//     exponent and a 5-term series in s = (f - 1) / (f + 1), f in
//     [sqrt(1/2), sqrt(2)); r = sqrt(-2 log u1) <= 6.66. The angle 2 pi b / 2^32
//     is reduced with integer operations on b's top 27 bits (octant, then the
//     distance to the nearer octant edge, a in [0, pi/4]); sin a and cos a are
//     Taylor polynomials of degree 9 and 10; the octant swaps and negates them.
//     Relative error against the exact transform of the same (u1, angle): a few
//     float ulps (~3e-7).
//  5. gaussian(seed, worker, j) is that float, converted (exactly) to double.
//  6. perturbed<T>(x, b, ...) = x when b == 0, else x + T(b) * T(z) computed in
//     T with the product rounded to T before the addition (T = float: float(b)
//     times z in float; T = double: b * double(z) in double).
//
// The generic pieces (threefry4x32, box_muller) are templates on an `Ops` type
// giving the lane type and the few non-operator operations, so that the
// scalar code here and the SIMD kernel (detail/noise_kernel.hpp) run the same
// source with the same operations in the same order. Every function is a
// template (the scalar ones on an unused Tag), so that each SIMD architecture's
// translation unit instantiates its own copy.
//
// Fused multiply-add: a compiler allowed to contract a * b + c (GCC's default
// -ffp-contract=fast with an FMA target) would change the bits. Every product
// that feeds a sum passes through Ops::rounded, an empty asm statement that
// hides the product from the optimiser on GCC and Clang (x86, AArch64), so
// the value is rounded as written whatever the flags. -ffast-math is not
// supported (it reassociates).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 warns (-W[maybe-]uninitialized) inside its own AVX-512 intrinsic
// headers as the generator's xsimd code inlines them; about GCC's headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace robustagg::detail {

inline std::uint64_t mix64(std::uint64_t z) {
  // splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective avalanche mix.
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Threefry-4x32 key schedule: the four key words and their parity word.
struct NoiseKey {
  std::uint32_t k[5];
};

constexpr NoiseKey noise_key(std::uint64_t seed, std::uint64_t worker) {
  const std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
  const std::uint32_t k2 = std::uint32_t(worker), k3 = std::uint32_t(worker >> 32);
  return NoiseKey{{k0, k1, k2, k3, 0x1BD11BDAu ^ k0 ^ k1 ^ k2 ^ k3}};
}

inline constexpr int kThreefryRounds = 20;
/// Threefry-4x32 rotation constants (Salmon et al. 2011, table 4).
inline constexpr int kThreefryRot[8][2] = {{10, 26}, {11, 21}, {13, 27}, {23, 5},
                                           {6, 20},  {17, 11}, {25, 10}, {18, 20}};

/// The coordinates of one block (see the layout above).
inline constexpr unsigned kNoiseBlock = 64;

/// Operations on one scalar lane (Tag only makes each user's copy distinct).
template <class Tag = void>
struct ScalarNoiseOps {
  using U = std::uint32_t;
  using F = float;
  static U splat(std::uint32_t v) { return v; }
  static F fsplat(float v) { return v; }
  static F as_float(U v) {
    F f;
    std::memcpy(&f, &v, sizeof f);
    return f;
  }
  static U as_bits(F f) {
    U v;
    std::memcpy(&v, &f, sizeof v);
    return v;
  }
  /// v < 2^31: rounded to nearest float.
  static F to_float(U v) { return F(std::int32_t(v)); }
  static F sqrt(F v) { return std::sqrt(v); }
  template <class X>
  static X rounded(X v) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(v));
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__("" : "+w"(v));
#endif
    return v;
  }
};

template <class U, int R>
inline U rotl32(U x) {
  return (x << R) | (x >> (32 - R));
}

/// Threefry-4x32-20 of the counters x[n] (in place) under key ks, lane by
/// lane; the N counters are independent (interleaved for instruction-level
/// parallelism: one round of one counter is a chain of dependent operations).
template <class Ops, std::size_t N, class U>
inline void threefry4x32(U (&x)[N][4], const U ks[5]) {
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t w = 0; w < 4; ++w) x[n][w] = x[n][w] + ks[w];
#define ROBUSTAGG_TF_MIX(a, b, rot)                                  \
  for (std::size_t n = 0; n < N; ++n) {                                      \
    x[n][a] = x[n][a] + x[n][b];                                     \
    x[n][b] = rotl32<U, rot>(x[n][b]) ^ x[n][a];                     \
  }
#define ROBUSTAGG_TF_EVEN(r)                      \
  ROBUSTAGG_TF_MIX(0, 1, kThreefryRot[(r) % 8][0]) \
  ROBUSTAGG_TF_MIX(2, 3, kThreefryRot[(r) % 8][1])
#define ROBUSTAGG_TF_ODD(r)                       \
  ROBUSTAGG_TF_MIX(0, 3, kThreefryRot[(r) % 8][0]) \
  ROBUSTAGG_TF_MIX(2, 1, kThreefryRot[(r) % 8][1])
#define ROBUSTAGG_TF_INJECT(s)                                                     \
  for (std::size_t n = 0; n < N; ++n) {                                                    \
    x[n][0] = x[n][0] + ks[(s) % 5];                                               \
    x[n][1] = x[n][1] + ks[((s) + 1) % 5];                                         \
    x[n][2] = x[n][2] + ks[((s) + 2) % 5];                                         \
    x[n][3] = x[n][3] + ks[((s) + 3) % 5] + Ops::splat(std::uint32_t(s));          \
  }
#define ROBUSTAGG_TF_FOUR(r, s) \
  ROBUSTAGG_TF_EVEN(r)          \
  ROBUSTAGG_TF_ODD((r) + 1)     \
  ROBUSTAGG_TF_EVEN((r) + 2)    \
  ROBUSTAGG_TF_ODD((r) + 3)     \
  ROBUSTAGG_TF_INJECT(s)
  static_assert(kThreefryRounds == 20, "the unrolled rounds below are 20");
  ROBUSTAGG_TF_FOUR(0, 1)
  ROBUSTAGG_TF_FOUR(4, 2)
  ROBUSTAGG_TF_FOUR(8, 3)
  ROBUSTAGG_TF_FOUR(12, 4)
  ROBUSTAGG_TF_FOUR(16, 5)
#undef ROBUSTAGG_TF_FOUR
#undef ROBUSTAGG_TF_INJECT
#undef ROBUSTAGG_TF_ODD
#undef ROBUSTAGG_TF_EVEN
#undef ROBUSTAGG_TF_MIX
}

/// Box-Muller: the two standard normals (zc, zs) = r (cos t, sin t) of the
/// uniform words (a, b), r = sqrt(-2 log u1), t = 2 pi b / 2^32 (item 4 above).
template <class Ops, class U, class F>
inline void box_muller(U a, U b, F& zc, F& zs) {
  using O = Ops;
  // u1 in [2^-32, 1] (1 only by rounding: then r = 0).
  const F u1 = (O::to_float(a >> 1) + O::fsplat(0.5f)) * O::fsplat(0x1p-31f);
  // log u1 = e ln 2 + log f, f = u1 / 2^e in [sqrt(1/2), sqrt(2)).
  const U t = O::as_bits(u1) + O::splat(0x3f800000u - 0x3f3504f3u);
  const F e = O::to_float(t >> 23) - O::fsplat(127.0f);
  const F f = O::as_float((t & O::splat(0x007fffffu)) + O::splat(0x3f3504f3u));
  const F s = (f - O::fsplat(1.0f)) / (f + O::fsplat(1.0f));
  const F s2 = s * s;
  // log f = 2s (1 + s^2/3 + s^4/5 + s^6/7 + s^8/9), |s| <= 0.1716
  F p = O::rounded(s2 * O::fsplat(1.0f / 9.0f)) + O::fsplat(1.0f / 7.0f);
  p = O::rounded(s2 * p) + O::fsplat(1.0f / 5.0f);
  p = O::rounded(s2 * p) + O::fsplat(1.0f / 3.0f);
  p = s2 * p;
  const F s_2 = s + s;
  const F logf_ = s_2 + O::rounded(s_2 * p);
  // ln 2 = kLn2Hi + kLn2Lo; e * kLn2Hi is exact (|e| <= 32, 16-bit kLn2Hi)
  const F logu = O::rounded(e * O::fsplat(0.693145751953125f)) +
                 (logf_ + O::rounded(e * O::fsplat(1.42860677e-06f)));
  const F r = O::sqrt(logu * O::fsplat(-2.0f));
  // Angle: octant q = b >> 29, position in it m / 2^24 from the top 27 bits;
  // odd octants mirror (m -> 2^24 - m) so that a in [0, pi/4] is the
  // distance to the octant's edge where the result is (cos a, sin a) or its
  // swap.
  const U frac = (b >> 5) & O::splat(0x00ffffffu);
  const U odd = O::splat(0u) - ((b >> 29) & O::splat(1u));  // all ones in odd octants
  const U m = ((frac ^ odd) - odd) + (odd & O::splat(0x01000000u));
  const F ang = O::to_float(m) * O::fsplat(float(0.78539816339744830962 * 0x1p-24));
  const F a2 = ang * ang;
  F sp = O::rounded(a2 * O::fsplat(1.0f / 362880.0f)) + O::fsplat(-1.0f / 5040.0f);
  sp = O::rounded(a2 * sp) + O::fsplat(1.0f / 120.0f);
  sp = O::rounded(a2 * sp) + O::fsplat(-1.0f / 6.0f);
  const F sin_a = ang + O::rounded(O::rounded(ang * a2) * sp);
  F cp = O::rounded(a2 * O::fsplat(-1.0f / 3628800.0f)) + O::fsplat(1.0f / 40320.0f);
  cp = O::rounded(a2 * cp) + O::fsplat(-1.0f / 720.0f);
  cp = O::rounded(a2 * cp) + O::fsplat(1.0f / 24.0f);
  cp = O::rounded(a2 * cp) + O::fsplat(-0.5f);
  const F cos_a = O::fsplat(1.0f) + O::rounded(a2 * cp);
  // Bits 31, 30, 29 of b: swap the pair when b30 ^ b29, negate the cosine
  // when b31 ^ b30, the sine when b31.
  const U bx = b ^ (b << 1);  // bit 31: b31 ^ b30, bit 30: b30 ^ b29
  const U swap = O::splat(0u) - ((bx >> 30) & O::splat(1u));
  const U cb = O::as_bits(cos_a), sb = O::as_bits(sin_a);
  const U dif = (cb ^ sb) & swap;
  const U cs = cb ^ dif ^ (bx & O::splat(0x80000000u));
  const U ss = sb ^ dif ^ (b & O::splat(0x80000000u));
  zc = r * O::as_float(cs);
  zs = r * O::as_float(ss);
}

/// The standard normal (a float) of `coordinate` under `key`.
template <class Tag = void>
inline float gaussian_float(const NoiseKey& key, std::uint64_t coordinate) {
  using O = ScalarNoiseOps<Tag>;
  const std::uint64_t c = ((coordinate >> 6) << 4) | (coordinate & 15);
  std::uint32_t x[1][4] = {{std::uint32_t(c), std::uint32_t(c >> 32), 0, 0}};
  threefry4x32<O>(x, key.k);
  const unsigned o = unsigned(coordinate >> 4) & 3u;
  float zc, zs;
  if (o < 2)
    box_muller<O>(x[0][0], x[0][1], zc, zs);
  else
    box_muller<O>(x[0][2], x[0][3], zc, zs);
  return (o & 1u) ? zs : zc;
}

/// Standard normal deviate for (seed, worker, coordinate): the float of
/// gaussian_float, exactly as a double.
inline double gaussian(std::uint64_t seed, std::uint64_t worker, std::uint64_t coordinate) {
  return double(gaussian_float<>(noise_key(seed, worker), coordinate));
}

/// The value a worker sends under noise of scale b: x if b == 0, else
/// x + T(b) * T(xi) in T, the product rounded to T first.
template <class T, class Tag = void>
inline T perturbed(T x, double b, std::uint64_t seed, std::uint64_t worker,
                   std::uint64_t coordinate) {
  if (b == 0.0) return x;
  const T z = T(gaussian_float<Tag>(noise_key(seed, worker), coordinate));
  return x + ScalarNoiseOps<Tag>::rounded(T(b) * z);
}

}  // namespace robustagg::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
ROBUSTAGG_FP_END
