// robustagg::detail: the two modes, and the floating-point settings every
// header runs under.
//
// Header-only (the default): a plain #include <robustagg/robustagg.hpp> is
// the whole library. The kernels of the including file's compile-time target
// (native_arch.hpp) and the rule catalogue behind parse_rule are compiled in
// the including files; ROBUSTAGG_LINKAGE is `inline`.
//
// Compiled (ROBUSTAGG_COMPILED_LIB, which the CMake target robustagg::robustagg
// defines as a usage requirement): the headers declare the kernel dispatch
// and the catalogue, and the library (src/) defines them once, with kernels
// for every architecture of archs.hpp chosen at run time. ROBUSTAGG_LINKAGE
// is empty (external linkage). All files of one program must use the same
// mode.
//
// ROBUSTAGG_HEADER_ONLY, the former switch to header-only mode, is accepted
// (it is the default now) but cannot be combined with ROBUSTAGG_COMPILED_LIB.
#pragma once

#if defined(ROBUSTAGG_COMPILED_LIB) && defined(ROBUSTAGG_HEADER_ONLY)
#error "robustagg: ROBUSTAGG_COMPILED_LIB (the compiled library, from the CMake target robustagg::robustagg) and ROBUSTAGG_HEADER_ONLY are both defined: use robustagg::header_only, or drop ROBUSTAGG_HEADER_ONLY"
#endif

#if !defined(ROBUSTAGG_LINKAGE)
#if defined(ROBUSTAGG_COMPILED_LIB)
#define ROBUSTAGG_LINKAGE
#else
#define ROBUSTAGG_LINKAGE inline
#endif
#endif

/// Header-only mode: the largest n with a register-resident (compile-time)
/// network in the coordinate kernels; above it the run-time networks (the
/// same results; slower). Each fixed network is unrolled code, so this bounds
/// the compile time of a file that uses a coordinate rule. The compiled
/// library always has them up to kMaxFixedNetwork (networks.hpp).
#if !defined(ROBUSTAGG_HEADER_ONLY_FIXED_NETWORKS)
#define ROBUSTAGG_HEADER_ONLY_FIXED_NETWORKS 16
#endif

// -ffast-math (and -ffinite-math-only, which it implies) lets the compiler
// assume no NaN and no Inf: the checks that keep a hostile worker's NaN from
// winning Krum or poisoning a mean would be compiled away. Refused.
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#error "robustagg: compile the files that include robustagg without -ffast-math / -ffinite-math-only: its NaN and Inf policy (hostile workers send NaN and Inf) needs IEEE semantics. The rest of your program may keep these flags."
#endif

// ROBUSTAGG_FP_BEGIN / ROBUSTAGG_FP_END enclose the code of every header: no
// product is contracted into a sum (fused multiply-add) there, whatever the
// including file's flags (GCC contracts across statements by default in its GNU
// modes when the target has FMA), so the bits of every rule are the same for
// any optimisation level and -march. Where FMA is meant, the code says so
// explicitly. GCC: optimize("fp-contract=off") on the functions defined
// between them (they are then not inlined into code compiled with other
// options, which costs a call per aggregation at most). Clang: contract(off);
// clang cannot override an explicit -ffp-contract=fast on the command line,
// which such a build must not use for these files (clang's default is fine).
#if defined(__clang__)
#define ROBUSTAGG_FP_BEGIN _Pragma("float_control(push)") _Pragma("clang fp contract(off)")
#define ROBUSTAGG_FP_END _Pragma("float_control(pop)")
#elif defined(__GNUC__)
#define ROBUSTAGG_FP_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define ROBUSTAGG_FP_END _Pragma("GCC pop_options")
#else
#define ROBUSTAGG_FP_BEGIN
#define ROBUSTAGG_FP_END
#endif
