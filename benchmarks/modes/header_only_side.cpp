// The header-only side of bench_modes: robustagg included with no
// ROBUSTAGG_COMPILED_LIB (a plain #include, kernels of this file's
// compile-time target: benchmarks/CMakeLists.txt compiles it with
// -O2 -march=native), behind a tiny C interface. A shared library with hidden
// visibility, so none of its inline functions can be merged with the compiled
// library's in the benchmark binary.
#include <robustagg/robustagg.hpp>

#include <cstdio>

#define HO_API extern "C" __attribute__((visibility("default")))

namespace {
struct Handle {
  robustagg::AnyRule rule;
  robustagg::Workspace workspace;
};
}  // namespace

/// The rule of `spec` with a workspace of its own, or null (the reason on stderr).
HO_API void* ho_make(const char* spec) {
  try {
    return new Handle{robustagg::parse_rule(spec), {}};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "header-only side: %s: %s\n", spec, e.what());
    return nullptr;
  }
}

HO_API void ho_free(void* handle) { delete static_cast<Handle*>(handle); }

HO_API void ho_set_threads(int threads) { robustagg::set_num_threads(threads); }

HO_API const char* ho_simd_arch() { return robustagg::simd_arch(); }

/// Aggregates the n x d row-major floats at `data` into `out`; 0 on success.
HO_API int ho_aggregate(void* handle, const float* data, long n, long d, float* out) {
  auto* h = static_cast<Handle*>(handle);
  try {
    robustagg::aggregate(robustagg::RowsView<float>::strided(data, n, d, d), h->rule, out, h->workspace);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "header-only side: %s\n", e.what());
    return 1;
  }
}
