// robustagg::detail: the hot kernels' contracts and how an engine reaches them.
//
// The kernels (sorting and selection networks over coordinates, the distance
// engine, the mean and sign passes, DETOX's row comparison, the noise) are
// written once (kernels/*-inl.hpp) and expanded once per SIMD architecture
// (kernels/expand.hpp). Engines call them through kernels<T>(), which is
//   - in the compiled library (ROBUSTAGG_COMPILED_LIB, which the CMake target
//     robustagg::robustagg defines for its users): the table of the
//     architecture chosen at run time among those compiled in (archs.hpp:
//     x86-64 SSE2, AVX2+FMA, AVX-512), src/dispatch.cpp; forced with
//     robustagg::set_simd_arch or ROBUSTAGG_SIMD (simd_arch.hpp);
//   - header-only (the default, a plain #include): the kernels of the including
//     file's compile-time target, expanded here as k_native, each instantiated
//     only where a rule uses it.
// Every kernel gives bitwise the same result on every architecture: the
// arithmetic per coordinate (or per virtual lane of the distance engine, whose
// lane count kDistanceLanes<T> is fixed, not the vector width) is the same, and
// no product is contracted into a sum (ROBUSTAGG_FP_BEGIN, linkage.hpp). (One
// exception: where several NaN and Inf inputs meet in a sum, as in the mean,
// the result is NaN on every architecture but its sign and payload bits follow
// the operand order, which compilers may swap.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "linkage.hpp"
#include "networks.hpp"

namespace robustagg {

using Index = std::ptrdiff_t;

namespace detail {

/// Coordinates per inner block of the coordinate engine (a multiple of every
/// SIMD width).
inline constexpr Index kSubTile = 256;

/// Rows read as concurrent streams by the coordinate kernels (the networks,
/// the mean and the sign vote); above it rows are staged into an L2 buffer
/// (coordinate.hpp) or read row after row (the mean and sign kernels):
/// reading more rows side by side falls to a third of the bandwidth on the
/// development machine.
inline constexpr Index kDirectStreams = 16;

/// Widest SIMD register (AVX-512) in bytes: the scratch layouts below are
/// sized for it, whatever the architecture chosen.
inline constexpr std::size_t kMaxBatchBytes = 64;

/// Lanes of the distance engine's accumulators (16 floats, 8 doubles: one
/// AVX-512 register, two AVX2 or four SSE2 registers), the same on every
/// architecture so that the distances are bitwise the same.
template <class T>
inline constexpr Index kDistanceLanes = Index(kMaxBatchBytes / sizeof(T));

/// Lane groups per run of the distance engine: every kDistanceRun * L
/// coordinates (from a tile's start) a pair's lanes are added into double
/// lanes, which bounds the float rounding of a run to ~kDistanceRun ulps.
inline constexpr Index kDistanceRun = 16;

/// Independent accumulators of the row reductions (rows.hpp: squared
/// distance to a double vector): 32 lanes keep several SIMD dependency chains
/// in flight; lane j mod 32, combined pairwise (lane u + w into lane u, w
/// halving), whatever the vector width.
inline constexpr Index kRowLanes = 32;

/// Lanes of a row's sum of squares (stages.hpp: row_norm), added in lane
/// order after the loop.
inline constexpr Index kNormLanes = 8;

/// One pass over rows x and y: whether they are bitwise equal, and whether x
/// holds a NaN (then `equal` is reported false; see detox.hpp).
struct RowCompare {
  bool equal;
  bool x_nan;
};

/// The reducers of the sorted-coordinate kernel.
enum class SortedReducer : int {
  kTrimmedMean = 0,  // mean of the sorted values [param, n - param)
  kBulyanStep = 1,   // mean of the param values closest to the median
};

/// Values of the sorted-block region of the coordinate scratch: a whole inner
/// block for the fixed networks (n <= kMaxFixedNetwork), one batch of the
/// widest register above.
inline constexpr std::size_t sorted_scratch_values(Index n, std::size_t value_size) {
  return n <= kMaxFixedNetwork ? std::size_t(n * kSubTile) : std::size_t(n) * (kMaxBatchBytes / value_size);
}

/// Bytes of scratch the coordinate kernels need for n rows of T: n batches,
/// the sorted block, n keys.
inline constexpr std::size_t coordinate_scratch_bytes(Index n, std::size_t value_size) {
  return std::size_t(n) * kMaxBatchBytes + sorted_scratch_values(n, value_size) * value_size +
         (std::size_t(n) * 8 + 63) / 64 * 64;
}

/// The kernels of one architecture for value type T. All pointers are to
/// caller-owned memory; none of them allocates, throws or uses threads.
template <class T>
struct KernelSet {
  /// dst[jj] = median over i of rows[i][j0 + jj], jj < count (count <=
  /// kSubTile). `scratch`: coordinate_scratch_bytes(n) bytes, 64-aligned;
  /// net/net_count: the median-pruned Batcher network of n wires when
  /// fixed_networks < n <= kMaxNetworkWires (4096; else unused).
  void (*median)(const T* const* rows, Index n, Index j0, Index count, T* dst,
                 unsigned char* scratch, const Comparator* net, int net_count);
  /// dst[jj] = reducer over the sorted values of coordinate j0 + jj; net is
  /// the full Batcher network for n in (fixed_networks, kMaxNetworkWires].
  void (*sorted)(const T* const* rows, Index n, Index j0, Index count, T* dst,
                 unsigned char* scratch, const Comparator* net, int net_count,
                 SortedReducer reducer, Index param);
  /// out[j] = T(sum_i double(rows[i][j]) / n) for j in [j0, j1), summed in row
  /// order in double.
  void (*mean)(const T* const* rows, Index n, Index j0, Index j1, T* out);
  /// out[j] = sign(sum_i sign(rows[i][j])), NaN abstains, for j in [j0, j1).
  void (*sign_vote)(const T* const* rows, Index n, Index j0, Index j1, T* out);
  /// The distance engine over tiles [t0, t1) of tile_len coordinates: adds
  /// the squared distance of every pair (i < k), lane by lane, into
  /// acc[pair_index(n, i, k) * kDistanceLanes<T> + lane]; sets bad[i] when row
  /// i holds a non-finite value in these tiles. tile_finite: n bytes scratch.
  void (*distance_tiles)(const T* const* rows, Index n, Index d, Index tile_len, Index t0,
                         Index t1, double* acc, unsigned char* tile_finite, unsigned char* bad);
  /// Bitwise equality of x and y (d values) and whether x holds a NaN.
  RowCompare (*compare_rows)(const T* x, const T* y, Index d);
  /// dst[k] = perturbed(src[k], b, seed, worker, j0 + k), k < count
  /// (detail/rng.hpp: the counter-based Gaussian); src may equal dst.
  void (*add_noise)(const T* src, T* dst, Index count, double b, std::uint64_t seed,
                    std::uint64_t worker, std::uint64_t j0);
  /// Strided input into contiguous rows: dst[i * dst_stride + jj] =
  /// src[i * row_stride + (j0 + jj) * col_stride] for i < n, jj < count.
  /// `extent`: values readable from src (loads past a column's n values, for
  /// the column-major transpose, stay below it).
  void (*gather)(const T* src, Index n, Index row_stride, Index col_stride, Index j0, Index count,
                 Index extent, T* dst, Index dst_stride);
  /// The row primitives of rows.hpp and stages.hpp, lane for lane their plain
  /// loops (the same bits on every architecture):
  /// sum_j (double(x[j]) - z[j])^2 over kRowLanes lanes;
  double (*sq_distance_to)(const T* x, const double* z, Index d);
  /// acc[j] += w * double(x[j]) (z null) or w * (double(x[j]) - z[j]);
  void (*add_scaled)(double* acc, const T* x, const double* z, double w, Index d);
  /// sum_j double(x[j])^2 over kNormLanes lanes, added in lane order;
  double (*sum_squares)(const T* x, Index d);
  /// whether x[0, d) holds only finite values.
  bool (*all_finite)(const T* x, Index d);
  /// Largest n the median and sorted kernels run with a register-resident
  /// network (the engines pass a run-time network above it).
  int fixed_networks;
};

/// One architecture's kernels for both value types.
struct KernelTable {
  const char* name;    // "sse2", "avx2", "avx512" (native_arch.hpp)
  Index float_width;   // floats per SIMD register
  KernelSet<float> f32;
  KernelSet<double> f64;
};

/// Index of pair (i, k), i < k, in the row-major upper triangle.
inline Index pair_index(Index n, Index i, Index k) { return i * n - i * (i + 1) / 2 + (k - i - 1); }

#if defined(ROBUSTAGG_COMPILED_LIB)

/// The table the kernels are dispatched to (chosen on first use, or forced
/// with set_simd_arch / ROBUSTAGG_SIMD). src/dispatch.cpp.
const KernelTable& active_kernel_table();

template <class T>
inline const KernelSet<T>& kernels() {
  if constexpr (sizeof(T) == 4)
    return active_kernel_table().f32;
  else
    return active_kernel_table().f64;
}

/// Floats per SIMD register of the kernels in use.
inline Index kernel_float_width() { return active_kernel_table().float_width; }

}  // namespace detail
}  // namespace robustagg

#else  // header-only: the compile-time target's kernels, expanded here

}  // namespace detail
}  // namespace robustagg

#define ROBUSTAGG_KERNEL_NS k_native
#if !defined(ROBUSTAGG_KERNEL_FIXED_NETWORKS)
#define ROBUSTAGG_KERNEL_FIXED_NETWORKS ROBUSTAGG_HEADER_ONLY_FIXED_NETWORKS
#endif
#include "kernels/expand.hpp"

namespace robustagg::detail {

/// The kernels of T (k_native::Kernels: each instantiated where it is used).
template <class T>
inline k_native::Kernels<T> kernels() {
  return {};
}

/// Floats per SIMD register of the kernels in use.
inline Index kernel_float_width() { return k_native::simd_width<float>; }

}  // namespace robustagg::detail

#endif
