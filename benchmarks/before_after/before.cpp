// The "before" side of bench_before_after: robustagg as it was at an older
// revision (its include/ directory, header-only then), behind a tiny C
// interface. Built as a shared library with hidden visibility, so none of its
// inline functions (the old kernels, Eigen, xsimd, compiled with -march=native
// as that revision's published figures were) can be merged with the current
// library's in the benchmark binary.
#include <robustagg/robustagg.hpp>

#include <cstdio>

#define BEFORE_API extern "C" __attribute__((visibility("default")))

namespace {
struct Handle {
  robustagg::AnyRule rule;
  robustagg::Workspace workspace;
};
}  // namespace

/// The rule of `spec` with a workspace of its own, or null (the reason on stderr).
BEFORE_API void* before_make(const char* spec) {
  try {
    return new Handle{robustagg::parse_rule(spec), {}};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "before: %s: %s\n", spec, e.what());
    return nullptr;
  }
}

BEFORE_API void before_free(void* handle) { delete static_cast<Handle*>(handle); }

BEFORE_API void before_set_threads(int threads) { robustagg::set_num_threads(threads); }

/// Aggregates the n x d row-major floats at `data` into `out`; 0 on success.
BEFORE_API int before_aggregate(void* handle, const float* data, long n, long d, float* out) {
  auto* h = static_cast<Handle*>(handle);
  try {
    robustagg::aggregate(robustagg::RowsView<float>::strided(data, n, d, d), h->rule, out,
                         h->workspace);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "before: %s\n", e.what());
    return 1;
  }
}
