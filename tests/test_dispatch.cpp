// Run-time dispatch: every SIMD architecture compiled in and runnable here
// gives bitwise the same result for every rule, on every input family
// (random, ties, offsets, NaN/Inf), at sizes around every SIMD width and the
// distance engine's lane and run edges, and the pairwise distances
// themselves are bitwise the same. (Each architecture's kernels are checked
// against the scalar references in test_kernels.cpp and test_rules.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

#include "archs.hpp"
#include "reference/inputs.hpp"

namespace ra = robustagg;
using ra::Index;

namespace {

/// Bitwise equal, except that any two NaNs are equal: the payload and sign of
/// a NaN made from several NaN/Inf inputs (the mean of rows with NaN, Inf and
/// -Inf) follow the operand order of each addition, which the compiler may
/// swap (addition commutes); docs/performance.md says so.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t j = 0; j < a.size(); ++j) {
    if (std::isnan(a[j]) && std::isnan(b[j])) continue;
    if (std::memcmp(&a[j], &b[j], sizeof(T)) != 0) return false;
  }
  return true;
}

const char* const kSpecs[] = {
    "mean",           "median",        "trimmed-mean(f=1)",   "trimmed-mean(f=3)",
    "krum(f=1)",      "multi-krum(f=1)", "bulyan(f=1)",        "sign-vote",
    "noisy-median(b=0.5, seed=3)",     "noisy-sign-vote(b=0.5, seed=3)",
    "detox(r=3, outer=median)",        "detox(r=3, buckets=2, inner=mean, outer=mean)",
};

}  // namespace

TEMPLATE_TEST_CASE("every SIMD architecture gives bitwise the same result", "[dispatch]", float, double) {
  using T = TestType;
  const std::vector<std::string> archs = ra::simd_archs();
  INFO("architectures: " << archs.size());
  for (Index n : {Index(9), Index(15), Index(33)}) {
    for (Index d : {Index(1), Index(3), Index(4), Index(5), Index(8), Index(15), Index(16), Index(17),
                    Index(33), Index(255), Index(257), Index(513), Index(2049), Index(5000)}) {
      for (ra::testing::Kind kind : ra::testing::all_kinds()) {
        const ra::GradientMatrix<T> g =
            ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 17));
        // DETOX input: groups of 3 replicas (row 3k + 1 of each group differs
        // in group 1, so one vote is 2 of 3).
        const ra::GradientMatrix<T> r = ra::testing::make_input<T>(
            ra::testing::Kind::Random, n, d, ra::testing::case_seed(kind, n, d, 18));
        ra::GradientMatrix<T> replicated = r;
        for (Index i = 0; i < n; ++i) replicated.row(i) = r.row(i / 3 * 3);
        replicated.row(4) = g.row(5);  // one outvoted replica, of the input family
        for (const char* spec : kSpecs) {
          const bool detox = std::string(spec).rfind("detox", 0) == 0;
          const ra::AnyRule rule = ra::parse_rule(spec);
          std::vector<T> first;
          std::string first_arch;
          for (const std::string& arch : archs) {
            robustagg_test::ArchScope scope(arch);
            ra::Vector<T> out = ra::aggregate(detox ? replicated : g, rule);
            std::vector<T> got(out.data(), out.data() + out.size());
            if (first_arch.empty()) {
              first = got;
              first_arch = arch;
              continue;
            }
            INFO(spec << ", n = " << n << ", d = " << d << ", input " << ra::testing::kind_name(kind)
                      << ": " << arch << " vs " << first_arch);
            CHECK(same_bits(got, first));
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("pairwise distances are bitwise the same on every SIMD architecture", "[dispatch]",
                   float, double) {
  using T = TestType;
  for (Index n : {Index(2), Index(5), Index(17)}) {
    for (Index d : {Index(7), Index(16), Index(31), Index(257), Index(4097), Index(40000)}) {
      for (ra::testing::Kind kind : ra::testing::all_kinds()) {
        const ra::GradientMatrix<T> g =
            ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 5));
        std::vector<double> first;
        for (const std::string& arch : ra::simd_archs()) {
          robustagg_test::ArchScope scope(arch);
          ra::Workspace ws;
          std::vector<double> D(std::size_t(n * n));
          ra::detail::pairwise_sq_distances(ra::RowsView<T>::strided(g.data(), n, d, d), D.data(), ws);
          if (first.empty()) {
            first = D;
            continue;
          }
          INFO("n = " << n << ", d = " << d << ", input " << ra::testing::kind_name(kind) << ", " << arch);
          CHECK(std::memcmp(D.data(), first.data(), D.size() * sizeof(double)) == 0);
        }
      }
    }
  }
}

TEST_CASE("the machine runs at least the baseline kernels", "[dispatch]") {
  const std::vector<std::string> archs = ra::simd_archs();
  REQUIRE(!archs.empty());
#if defined(__x86_64__)
  CHECK(archs.back() == "sse2");
#endif
}
