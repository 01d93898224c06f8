// Concurrent aggregate() calls: several std::threads share one input and one
// set of rule objects (plain rules and AnyRule from parse_rule), each with
// its own Workspace. Every thread's result must equal, bit for bit, the
// result of the same call made alone on one thread. Run under ThreadSanitizer
// by scripts/sanitize.sh (tags [concurrency][threads]).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <robustagg/robustagg.hpp>

namespace {

using robustagg::AnyRule;
using robustagg::GradientMatrix;
using robustagg::Index;
using robustagg::RowsView;
using robustagg::Vector;

template <class T>
GradientMatrix<T> shared_input(Index n, Index d) {
  GradientMatrix<T> g(n, d);
  std::uint64_t s = 12345;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      g(i, j) = T(double(std::int64_t(s >> 33) - (std::int64_t(1) << 30)) / double(1 << 28));
    }
  // A hostile row and a NaN: the shared path through the non-finite policy.
  g.row(1).setConstant(T(1e30));
  g(2, 3) = std::numeric_limits<T>::quiet_NaN();
  return g;
}

template <class T>
bool same_bits(const T* a, const T* b, Index d) {
  return std::memcmp(a, b, sizeof(T) * std::size_t(d)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("concurrent aggregate calls on shared input and shared rules",
                   "[concurrency][threads]", float, double) {
  using T = TestType;
  const Index n = 11, d = 2600;  // several coordinate and distance tiles
  const GradientMatrix<T> g = shared_input<T>(n, d);
  const RowsView<T> view = RowsView<T>::strided(g.data(), n, d, d);

  // Shared rule objects: AnyRule values from parse_rule (one shared_ptr to an
  // immutable model, copied by no one) and plain rule structs.
  const std::vector<AnyRule> rules = {
      robustagg::parse_rule("mean"),
      robustagg::parse_rule("median"),
      robustagg::parse_rule("trimmed-mean(f=2)"),
      robustagg::parse_rule("krum(f=2)"),
      robustagg::parse_rule("multi-krum(f=2, m=5)"),
      robustagg::parse_rule("bulyan(f=2)"),
      robustagg::parse_rule("sign-vote"),
      robustagg::parse_rule("noisy-median(b=0.1, seed=7)"),
      robustagg::parse_rule("noisy-sign-vote(b=0.1, seed=7)"),
      robustagg::parse_rule("detox(r=1, buckets=3, inner=mean, outer=trimmed-mean(f=1))"),
  };
  const robustagg::Median median;
  const robustagg::Krum krum{2};
  const robustagg::Bulyan bulyan{2};

  // Single-threaded results first.
  const std::size_t r = rules.size();
  std::vector<std::vector<T>> want(r + 3, std::vector<T>(std::size_t(d)));
  {
    robustagg::Workspace ws;
    for (std::size_t k = 0; k < r; ++k) robustagg::aggregate(view, rules[k], want[k].data(), ws);
    robustagg::aggregate(view, median, want[r].data(), ws);
    robustagg::aggregate(view, krum, want[r + 1].data(), ws);
    robustagg::aggregate(view, bulyan, want[r + 2].data(), ws);
  }

  const int threads = 4, rounds = 3;
  std::atomic<int> mismatches{0};
  std::atomic<int> errors{0};
  std::atomic<int> go{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      robustagg::Workspace ws;  // own workspace, reused across calls
      std::vector<T> out(static_cast<std::size_t>(d));
      go.fetch_add(1);
      while (go.load() < threads) std::this_thread::yield();  // start together
      try {
        for (int round = 0; round < rounds; ++round) {
          // Each thread walks the rules in a different order, so different
          // rules run on the shared objects at the same time.
          for (std::size_t step = 0; step < r + 3; ++step) {
            const std::size_t k = (step + std::size_t(t) * 2) % (r + 3);
            if (k < r)
              robustagg::aggregate(view, rules[k], out.data(), ws);
            else if (k == r)
              robustagg::aggregate(view, median, out.data(), ws);
            else if (k == r + 1)
              robustagg::aggregate(view, krum, out.data(), ws);
            else
              robustagg::aggregate(view, bulyan, out.data(), ws);
            if (!same_bits(out.data(), want[k].data(), d)) mismatches.fetch_add(1);
          }
          // The value form and Aggregator (own workspace) on a copy of a
          // shared AnyRule, which shares its model with the other threads.
          const AnyRule copy = rules[std::size_t(t) % r];
          robustagg::Aggregator<> agg(copy);
          const Vector<T> v = agg(g);
          if (!same_bits(v.data(), want[std::size_t(t) % r].data(), d)) mismatches.fetch_add(1);
        }
      } catch (...) {
        errors.fetch_add(1);
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(errors.load() == 0);
  CHECK(mismatches.load() == 0);
}

TEST_CASE("concurrent parse_rule and rule_catalog on first use", "[concurrency][threads]") {
  // rule_catalog() is a function-local static: its first use may race with
  // itself. Parse the same specs from several threads at once.
  const std::vector<std::string> specs = {"median", "krum(f=1)", "multi-krum(f=1, m=2)",
                                          "noisy-median(b=0.5, seed=9)", "bulyan(f=0)"};
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      for (int round = 0; round < 20; ++round)
        for (const auto& s : specs) {
          try {
            if (robustagg::parse_rule(s).spec().empty()) bad.fetch_add(1);
          } catch (...) {
            bad.fetch_add(1);
          }
          try {
            robustagg::parse_rule("krum(f=1, f=2)");  // an Error, thrown concurrently
            bad.fetch_add(1);
          } catch (const robustagg::Error&) {
          }
        }
    });
  for (auto& th : pool) th.join();
  CHECK(bad.load() == 0);
}
