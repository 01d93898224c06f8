// Every rule gives bitwise identical results for 1, 2 and 4 threads: kernels
// split work into fixed tiles independent of the thread count and reduce in
// tile order. The input is large enough (n * d >= 2^18, several tiles) that
// the kernels really run in parallel.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

namespace ra = robustagg;
using ra::Index;

namespace {

/// Restores the thread setting when a test ends.
struct ThreadSettingGuard {
  ~ThreadSettingGuard() { ra::set_num_threads(0); }
};

const std::vector<std::string> kSpecs = {
    "mean",
    "median",
    "trimmed-mean(f=3)",
    "sign-vote",
    "noisy-median(b=0.3, seed=5)",
    "noisy-sign-vote(b=0.3, seed=5)",
    "krum(f=3)",
    "multi-krum(f=3, m=5)",
    "bulyan(f=3)",
    "detox(r=3, inner=mean, outer=median)",
    "detox(r=3, outer=krum(f=0))",
    "clip(c=50, then=mean)",
    "nnm(f=3, then=krum(f=3))",
    "arc(f=3, then=trimmed-mean(f=3))",
    "bucketing(s=2, seed=7, then=median)",
    "clip(c=100, then=arc(f=2, then=nnm(f=2, then=mean)))",
    "detox(r=3, outer=nnm(f=1, then=median))",
};

template <class T>
ra::GradientMatrix<T> input(Index n, Index d) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T((1.0 + 0.1 * double(i)) * normal(rng));
  // Groups of 3 rows are replicas (DETOX groups with a majority) except the
  // last group; one hostile value sits in coordinate tile 0 of row 4.
  for (Index i = 0; i + 3 < n; ++i)
    if (i % 3) g.row(i) = g.row(i - i % 3);
  g(4, 17) = std::numeric_limits<T>::quiet_NaN();
  return g;
}

}  // namespace

TEST_CASE("set_num_threads and num_threads", "[threads]") {
  ThreadSettingGuard guard;
  ra::set_num_threads(3);
  CHECK(ra::num_threads() == 3);
  ra::set_num_threads(1000);
  CHECK(ra::num_threads() == ra::kMaxThreads);
  ra::set_num_threads(0);
  CHECK(ra::num_threads() >= 1);
  ra::set_num_threads(-2);
  CHECK(ra::num_threads() >= 1);
}

TEMPLATE_TEST_CASE("every rule is bitwise identical for 1, 2 and 4 threads", "[threads]", float,
                   double) {
  using T = TestType;
  ThreadSettingGuard guard;
  const Index n = 15;
  // 3 coordinate tiles (16384) and 25 distance tiles (2048), some not full;
  // n * d = 600000 >= 2^18, so kernels split the work.
  const Index d = 40000 + 5;
  const auto g = input<T>(n, d);
  for (const std::string& spec : kSpecs) {
    INFO(spec);
    const ra::AnyRule rule = ra::parse_rule(spec);
    std::vector<ra::Vector<T>> results;
    for (int threads : {1, 2, 4}) {
      ra::set_num_threads(threads);
      ra::Workspace ws;
      ra::Vector<T> out;
      ra::aggregate(g, rule, out, ws);
      results.push_back(out);
    }
    for (std::size_t r = 1; r < results.size(); ++r) {
      REQUIRE(results[r].size() == d);
      CHECK(std::memcmp(results[r].data(), results[0].data(), sizeof(T) * std::size_t(d)) == 0);
    }
  }
}

TEST_CASE("distances are bitwise identical for 1, 2 and 4 threads", "[threads]") {
  ThreadSettingGuard guard;
  // n = 21: L1 sub-block sweeps; n = 101: whole-tile sweeps over row panels.
  for (Index n : {Index(21), Index(101)}) {
    const Index d = n == 21 ? 300001 : 40003;
    const auto g = input<float>(n, d);
    std::vector<std::vector<double>> results;
    for (int threads : {1, 2, 4}) {
      ra::set_num_threads(threads);
      std::vector<double> D(std::size_t(n * n));
      ra::Workspace ws;
      ra::detail::pairwise_sq_distances(ra::RowsView<float>::strided(g.data(), n, d, d), D.data(), ws);
      results.push_back(D);
    }
    INFO("n = " << n);
    CHECK(results[1] == results[0]);
    CHECK(results[2] == results[0]);
  }
}
