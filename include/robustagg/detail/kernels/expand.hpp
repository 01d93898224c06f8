// robustagg::detail: the per-architecture expansion of the SIMD kernels.
//
// Every kernel is written once, in the -inl files of this directory (no
// include guard, no includes of their own, one engine each):
//   scalar-inl.hpp     order keys and the scalar reducers (also expanded in
//                      robustagg::detail by order_key.hpp: one definition for
//                      the portable engine and the kernels' tails)
//   simd_base-inl.hpp  batch types, loads, order keys on batches
//   networks-inl.hpp   the coordinate engine's networks and reducers
//   mean_sign-inl.hpp  the mean and the sign vote
//   distances-inl.hpp  the distance engine
//   rows-inl.hpp       DETOX's row comparison, the noisy rules' noise,
//                      the gather of strided (column-major) input
//   table-inl.hpp      the kernel table (and header-only's lazy form)
// This header expands them all inside robustagg::detail::ROBUSTAGG_KERNEL_NS
// for the architecture the translation unit is compiled for (`arch`,
// native_arch.hpp). As in Highway's foreach_target, one source serves every
// architecture; unlike it, each architecture has a translation unit of its
// own, because xsimd fixes its configuration from the compiler flags when it
// is first included:
//   - the compiled library: src/kernels.cpp, compiled once per architecture
//     of the list in archs.hpp with that architecture's flags
//     (ROBUSTAGG_KERNEL_NS = k_avx512, k_avx2, k_sse2);
//   - header-only mode: kernels.hpp expands it once as k_native, for the
//     including file's compile-time target.
// Everything expanded lives in that namespace (a std::sort gets a comparator
// type local to it), so two architectures' copies never share a symbol: the
// linker cannot give the SSE2 path an AVX-512 copy of a helper.
#pragma once

#ifndef ROBUSTAGG_KERNEL_NS
#error "robustagg: kernels/expand.hpp needs ROBUSTAGG_KERNEL_NS (see its header comment)"
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "../kernels.hpp"
#include "../native_arch.hpp"
#include "../networks.hpp"
#include "../noise_kernel.hpp"
#include "inline.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 warns (-W[maybe-]uninitialized) inside its own AVX-512 intrinsic
// headers as xsimd uses them; the warnings are about GCC's headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic push
// The kernels index registers and arrays with the library's signed Index;
// header-only mode expands them in the user's file, whose -Wsign-conversion
// or -Wconversion must not fire on them (tests/consumer: the plain g++
// builds use the strictest warnings as errors).
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
ROBUSTAGG_FP_BEGIN

namespace robustagg::detail::ROBUSTAGG_KERNEL_NS {

/// The xsimd architecture of this expansion: the library tier the
/// translation unit's flags enable (native_arch.hpp).
using arch = native_arch;

/// Largest n with a register-resident (compile-time) network in this
/// expansion: kMaxFixedNetwork in the compiled library; header-only mode may
/// lower it (ROBUSTAGG_KERNEL_FIXED_NETWORKS) to bound the including file's
/// compile time. The results do not depend on it (a network sorts exactly).
#if defined(ROBUSTAGG_KERNEL_FIXED_NETWORKS)
inline constexpr int kFixedNetworks = ROBUSTAGG_KERNEL_FIXED_NETWORKS;
#else
inline constexpr int kFixedNetworks = kMaxFixedNetwork;
#endif
static_assert(kFixedNetworks >= 1 && kFixedNetworks <= kMaxFixedNetwork, "fixed networks: 1..32");

#include "scalar-inl.hpp"
#include "simd_base-inl.hpp"
#include "networks-inl.hpp"
#include "mean_sign-inl.hpp"
#include "distances-inl.hpp"
#include "rows-inl.hpp"
#include "table-inl.hpp"

}  // namespace robustagg::detail::ROBUSTAGG_KERNEL_NS

ROBUSTAGG_FP_END
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
