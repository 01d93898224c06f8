// robustagg::detail: the SIMD form of the Gaussian generator of detail/rng.hpp,
// bit for bit the scalar definition, for any xsimd architecture Arch.
//
//   noise_block<Arch>(key, block, z):  z[0..64) = the 64 normals of coordinates
//       64 * block .. 64 * block + 63 (z 64-byte aligned).
//   add_noise<Arch, T>(src, dst, count, b, seed, worker, j0):
//       dst[j] = perturbed<T>(src[j], b, seed, worker, j0 + j), j < count
//       (src == dst allowed; other overlaps are not).
//
// One lane holds one Threefry counter; the generator's arithmetic is the
// generic code of rng.hpp (threefry4x32, box_muller) on xsimd batches, so it
// does not depend on the vector width. Every function here is a template on
// Arch, so each architecture's translation unit (compiled with its own -m
// flags) keeps its own copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "rng.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 warns (-W[maybe-]uninitialized) inside its own AVX-512 intrinsic
// headers as the generator's xsimd code inlines them; about GCC's headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic push
// Signed lane indices in the generator's loops (kernels/expand.hpp: the same
// for the kernels, expanded in the user's file in header-only mode).
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#endif

namespace robustagg::detail {

/// The lane operations of rng.hpp's generic code on xsimd batches of Arch.
template <class Arch>
struct SimdNoiseOps {
  using U = xsimd::batch<std::uint32_t, Arch>;
  using I = xsimd::batch<std::int32_t, Arch>;
  using F = xsimd::batch<float, Arch>;
  static U splat(std::uint32_t v) { return U(v); }
  static F fsplat(float v) { return F(v); }
  static F as_float(U v) { return xsimd::bitwise_cast<F>(v); }
  static U as_bits(F f) { return xsimd::bitwise_cast<U>(f); }
  /// v < 2^31: rounded to nearest float.
  static F to_float(U v) { return xsimd::batch_cast<float>(xsimd::bitwise_cast<I>(v)); }
  static F sqrt(F v) { return xsimd::sqrt(v); }
  template <class B>
  static B rounded(B v) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    typename B::register_type r = v;
    __asm__("" : "+v"(r));
    return B(r);
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    typename B::register_type r = v;
    __asm__("" : "+w"(r));
    return B(r);
#else
    return v;
#endif
  }
};

/// z[0..64 NB) (64-byte aligned): the normals of coordinates 64 * first + 0 ..
/// 64 * (first + NB) - 1, i.e. of blocks first .. first + NB - 1.
template <class Arch, int NB = 1>
inline void noise_blocks(const NoiseKey& key, std::uint64_t first, float* z) {
  using O = SimdNoiseOps<Arch>;
  using U = typename O::U;
  using F = typename O::F;
  constexpr int L = int(U::size);
  static_assert(16 % L == 0, "a block's 16 counters fill whole vectors");
  constexpr int V = 16 * NB / L;        // counter vectors
  constexpr int G = V % 2 == 0 ? 2 : 1;  // interleaved per Threefry call
  alignas(64) static constexpr std::uint32_t kLane[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                          8, 9, 10, 11, 12, 13, 14, 15};
  const U ks[5] = {U(key.k[0]), U(key.k[1]), U(key.k[2]), U(key.k[3]), U(key.k[4])};
  for (int v0 = 0; v0 < V; v0 += G) {
    U x[G][4];
    for (int g = 0; g < G; ++g) {
      const int v = v0 + g;
      const int blk = v * L / 16, sub = v * L % 16;
      // low 4 bits of c are sub: the lanes c + l, l < L, never carry
      const std::uint64_t c = ((first + std::uint64_t(blk)) << 4) + std::uint64_t(sub);
      x[g][0] = U(std::uint32_t(c)) + U::load_aligned(kLane);
      x[g][1] = U(std::uint32_t(c >> 32));
      x[g][2] = U(0u);
      x[g][3] = U(0u);
    }
    threefry4x32<O>(x, ks);
    for (int g = 0; g < G; ++g) {
      const int v = v0 + g;
      float* zb = z + (v * L / 16) * 64 + v * L % 16;
      F zc, zs;
      box_muller<O>(x[g][0], x[g][1], zc, zs);
      zc.store_aligned(zb);
      zs.store_aligned(zb + 16);
      box_muller<O>(x[g][2], x[g][3], zc, zs);
      zc.store_aligned(zb + 32);
      zs.store_aligned(zb + 48);
    }
  }
}

/// z[0..64) (64-byte aligned): the normals of coordinates 64 * block + 0..63.
template <class Arch>
inline void noise_block(const NoiseKey& key, std::uint64_t block, float* z) {
  noise_blocks<Arch, 1>(key, block, z);
}

/// dst[0..64) = src[0..64) + T(b) * T(z[0..64)), the product rounded first.
template <class Arch, class T>
inline void add_noise_block(const T* src, T* dst, const float* z, T bt) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t L = B::size;
  static_assert(kNoiseBlock % L == 0, "a block fills whole vectors");
  const B vb(bt);
  for (std::size_t q = 0; q < kNoiseBlock; q += L) {
    const B zz = B::load_aligned(z + q);  // float -> T: exact
    const B x = B::load_unaligned(src + q);
    (x + SimdNoiseOps<Arch>::rounded(vb * zz)).store_unaligned(dst + q);
  }
}

/// dst[j] = perturbed<T>(src[j], b, seed, worker, j0 + j) for j < count.
template <class Arch, class T>
inline void add_noise(const T* src, T* dst, std::ptrdiff_t count, double b, std::uint64_t seed,
                      std::uint64_t worker, std::uint64_t j0) {
  if (count <= 0) return;
  if (b == 0.0) {
    if (src != dst) std::memcpy(dst, src, std::size_t(count) * sizeof(T));
    return;
  }
  const NoiseKey key = noise_key(seed, worker);
  const T bt = T(b);
  alignas(64) float z[2 * kNoiseBlock];
  std::uint64_t j = j0;
  using Index = std::ptrdiff_t;
  Index k = 0;
  while (k < count) {
    if (j % kNoiseBlock == 0 && count - k >= Index(2 * kNoiseBlock)) {
      noise_blocks<Arch, 2>(key, j / kNoiseBlock, z);
      add_noise_block<Arch, T>(src + k, dst + k, z, bt);
      add_noise_block<Arch, T>(src + k + kNoiseBlock, dst + k + kNoiseBlock, z + kNoiseBlock, bt);
      k += Index(2 * kNoiseBlock);
      j += 2 * kNoiseBlock;
      continue;
    }
    const Index off = Index(j % kNoiseBlock);
    const Index rest = count - k;
    const Index len = rest < Index(kNoiseBlock) - off ? rest : Index(kNoiseBlock) - off;
    noise_block<Arch>(key, j / kNoiseBlock, z);
    if (len == Index(kNoiseBlock)) {
      add_noise_block<Arch, T>(src + k, dst + k, z, bt);
    } else {
      for (Index t = 0; t < len; ++t)
        dst[k + t] = src[k + t] + ScalarNoiseOps<Arch>::rounded(bt * T(z[off + t]));
    }
    k += len;
    j += std::uint64_t(len);
  }
}

}  // namespace robustagg::detail

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
ROBUSTAGG_FP_END
