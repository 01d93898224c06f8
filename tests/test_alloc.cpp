// Steady state allocates nothing: the second and later aggregations with a
// reused Workspace and output allocate 0 times, for every rule, on one thread
// and on several.
//
// This file replaces the global operator new/delete for the whole test binary
// (all tests/test_*.cpp link into one program). The replacement only counts
// while `counting` is set, from any thread, and otherwise behaves like the
// default (malloc / aligned_alloc).
#include <catch2/catch.hpp>

#if defined(__GNUC__) && !defined(__clang__)
// The replacement pairs malloc/aligned_alloc with free throughout; GCC cannot
// see that operator new here is that malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

#include "sanitized.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* allocate(std::size_t size, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else {
    const std::size_t rounded = (size + align - 1) / align * align;
    p = std::aligned_alloc(align, rounded);
  }
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = allocate(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = allocate(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t a) {
  if (void* p = allocate(size, std::size_t(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t a) {
  if (void* p = allocate(size, std::size_t(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size, 0); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(size, std::size_t(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(size, std::size_t(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace ra = robustagg;
using ra::Index;

namespace {

/// Allocations made by fn() (on any thread).
template <class Fn>
long count_allocations(Fn&& fn) {
  allocations.store(0);
  counting.store(true);
  fn();
  counting.store(false);
  return allocations.load();
}

}  // namespace

/// Allocations of two aggregate() calls after two warm-up calls (the first
/// grows the workspace and starts the pool) with the same rule, output and ws.
template <class T>
long steady_state_allocations(const ra::GradientMatrix<T>& g, const ra::AnyRule& rule,
                              ra::Workspace& ws) {
  ra::Vector<T> out;
  ra::aggregate(g, rule, out, ws);
  ra::aggregate(g, rule, out, ws);
  return count_allocations([&] {
    ra::aggregate(g, rule, out, ws);
    ra::aggregate(g, rule, out, ws);
  });
}

TEST_CASE("the allocation counter counts", "[alloc]") {
  // A direct call of the allocation function (a new-expression could be elided).
  const long c = count_allocations([] { ::operator delete(::operator new(64)); });
  CHECK(c == 1);
  CHECK(count_allocations([] {}) == 0);
}

TEMPLATE_TEST_CASE("steady-state aggregation allocates nothing", "[alloc]", float, double) {
  using T = TestType;
  const std::vector<std::string> specs = {
      "mean",      "median",    "trimmed-mean(f=3)", "sign-vote",   "noisy-median(b=0.3, seed=5)",
      "noisy-sign-vote(b=0.3, seed=5)", "krum(f=3)", "multi-krum(f=3, m=5)", "bulyan(f=3)",
      "clip(c=30, then=median)", "nnm(f=3, then=mean)", "arc(f=3, then=krum(f=3))",
      "bucketing(s=3, seed=1, then=median)", "clip(c=30, then=nnm(f=2, then=trimmed-mean(f=2)))",
      // the rules after 2020
      "geometric-median(iterations=4)", "centered-clipping(tau=1, iterations=2)", "meamed(f=3)",
      "mda(f=2)", "monna(f=3, trusted=1)", "caf(f=3)", "smea(f=1)", "cge(f=3)"};
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  // n = 51 crosses the 32-row register kernels; under a sanitizer (sanitized.hpp)
  // n = 33 does, at a third of the cost of the subset and distance rules.
  for (Index n : {Index(15), robustagg_test::kSanitized ? Index(33) : Index(51)}) {
    // Small d runs on the calling thread; large d (n * d >= 2^18) on the pool.
    for (Index d : {Index(1000) + 3, Index(20000) + 3}) {
      ra::GradientMatrix<T> g(n, d);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = T(normal(rng));
      for (int threads : {1, 2}) {
        ra::set_num_threads(threads);
        for (const std::string& spec : specs) {
          ra::Workspace ws;
          const long c = steady_state_allocations(g, ra::parse_rule(spec), ws);
          INFO(spec << ", n = " << n << ", d = " << d << ", threads = " << threads);
          CHECK(c == 0);
        }
      }
    }
  }
  ra::set_num_threads(0);
}

TEMPLATE_TEST_CASE("steady-state DETOX allocates nothing when every group has a majority",
                   "[alloc][detox]", float, double) {
  // Replicated groups of r = 3 (one replica of each group differs, outvoted),
  // so every group wins; a dropped group's report (its list and text) is
  // allocated, by design, and is not part of this check.
  using T = TestType;
  const std::vector<std::string> specs = {
      "detox(r=3)", "detox(r=3, buckets=5, inner=mean, outer=median)",
      "detox(r=3, outer=multi-krum(f=1))", "detox(r=3, buckets=2, inner=median, outer=mean)",
      "detox(r=3, buckets=5, inner=mean, outer=median, tolerance=0.001, seed=3)",
      "detox(r=3, outer=nnm(f=1, then=median))"};
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal;
  const Index n = 15;
  for (Index d : {Index(1000) + 3, Index(20000) + 3}) {
    ra::GradientMatrix<T> g(n, d);
    for (Index i = 0; i < n; i += 3)
      for (Index j = 0; j < d; ++j) g(i, j) = g(i + 1, j) = g(i + 2, j) = T(normal(rng));
    for (Index i = 0; i < n; i += 3) g(i + Index(i / 3 % 3), 0) = T(1e6);  // a lone dissenter
    for (int threads : {1, 2}) {
      ra::set_num_threads(threads);
      for (const std::string& spec : specs) {
        ra::Workspace ws;
        const long c = steady_state_allocations(g, ra::parse_rule(spec), ws);
        INFO(spec << ", d = " << d << ", threads = " << threads);
        REQUIRE(!ws.report().empty());
        CHECK(ws.report().front().dropped.empty());
        CHECK(c == 0);
      }
    }
  }
  ra::set_num_threads(0);
}

TEMPLATE_TEST_CASE("an input that cannot be viewed in place is copied into the workspace",
                   "[alloc]", float, double) {
  // A column-major n x d matrix and an expression (g * 2) are evaluated once
  // per call, into the workspace: no allocation after the first call.
  using T = TestType;
  const Index n = 15, d = 3001;
  ra::GradientMatrix<T> g(n, d);
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = i % 3 == 0 ? T(normal(rng)) : g(i - i % 3, j);  // DETOX groups
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> colmajor = g;
  for (const std::string spec : {"median", "krum(f=2)", "detox(r=3, outer=median)"}) {
    const ra::AnyRule rule = ra::parse_rule(spec);
    ra::Workspace ws;
    ra::Vector<T> out, want;
    ra::aggregate(g * T(2), rule, out, ws);
    ra::aggregate(colmajor, rule, out, ws);
    const long c = count_allocations([&] {
      ra::aggregate(g * T(2), rule, out, ws);
      ra::aggregate(colmajor, rule, out, ws);
    });
    INFO(spec);
    CHECK(c == 0);
    const ra::GradientMatrix<T> doubled = g * T(2);
    ra::aggregate(g * T(2), rule, out, ws);
    ra::Workspace ws2;
    ra::aggregate(doubled, rule, want, ws2);
    CHECK(out == want);  // the copy is the same input
  }
}

TEMPLATE_TEST_CASE("a warm-started centered clipping Aggregator allocates nothing in steady state",
                   "[alloc][new-rules]", float, double) {
  using T = TestType;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  const Index n = 15, d = 20000 + 3;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T(normal(rng));
  for (int threads : {1, 2}) {
    ra::set_num_threads(threads);
    ra::Aggregator<> agg(ra::parse_rule("centered-clipping(tau=0.5, iterations=2, warm-start=1)"));
    ra::Vector<T> out;
    agg(g, out);
    agg(g, out);
    INFO("threads = " << threads);
    CHECK(count_allocations([&] {
            agg(g, out);
            agg(g, out);
          }) == 0);
  }
  ra::set_num_threads(0);
}

TEMPLATE_TEST_CASE("the value form reuses a per-thread workspace: after the first call of a shape its rule allocates nothing",
                   "[alloc]", float, double) {
  using T = TestType;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  struct Shape {
    Index n, d;
  };
  const std::vector<std::string> specs = {"median", "krum(f=2)", "clip(c=1, then=mean)",
                                          "nnm(f=2, then=trimmed-mean(f=2))", "geometric-median(iterations=3)",
                                          "detox(r=3, buckets=1, inner=median, outer=mean)"};
  ra::set_num_threads(2);
  for (const Shape s : {Shape{15, 20000 + 3}, Shape{9, 70001}, Shape{15, 20000 + 3}}) {
    ra::GradientMatrix<T> g(s.n, s.d);
    for (Index i = 0; i < s.n; ++i)
      for (Index j = 0; j < s.d; ++j) g(i, j) = T(normal(rng));
    for (Index i = 0; i < s.n; ++i) g.row(i) = g.row(i - i % 3);  // DETOX groups of 3 agree
    for (const std::string& spec : specs) {
      INFO(spec << " n = " << s.n << " d = " << s.d);
      const ra::AnyRule rule = ra::parse_rule(spec);
      ra::Workspace ws;
      ra::Vector<T> want;
      ra::aggregate(g, rule, want, ws);
      const ra::Vector<T> first = ra::aggregate(g, rule);  // grows the cache
      CHECK(first == want);
      ra::Vector<T> again;
      // No operator new: the workspace's buffers are reused (the returned
      // vector is Eigen's, allocated with malloc, which this file does not count).
      CHECK(count_allocations([&] { again = ra::aggregate(g, rule); }) == 0);
      CHECK(again == want);
      // The check sees the workspace: with the cache off, the rule's buffers are new.
      const std::size_t limit = ra::cached_workspace_limit();
      ra::set_cached_workspace_limit(0);
      CHECK(count_allocations([&] { again = ra::aggregate(g, rule); }) > 0);
      ra::set_cached_workspace_limit(limit);
      CHECK(again == want);
    }
  }
  CHECK(ra::cached_workspace_bytes() > 0);
  ra::release_cached_workspace();
  CHECK(ra::cached_workspace_bytes() == 0);
  // Over the limit the cache is released after the call; 0 turns it off.
  const std::size_t limit = ra::cached_workspace_limit();
  ra::GradientMatrix<T> g = ra::GradientMatrix<T>::Ones(15, 5000);
  ra::set_cached_workspace_limit(1024);
  CHECK(ra::aggregate(g, ra::parse_rule("clip(c=1, then=mean)")).size() == 5000);
  CHECK(ra::cached_workspace_bytes() == 0);
  ra::set_cached_workspace_limit(limit);
  CHECK(ra::aggregate(g, ra::parse_rule("clip(c=1, then=mean)")).size() == 5000);
  CHECK(ra::cached_workspace_bytes() > std::size_t(15 * 5000) * sizeof(T));  // the clipped rows
  ra::release_cached_workspace();
  ra::set_num_threads(0);
}
