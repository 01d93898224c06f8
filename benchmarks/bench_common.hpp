// Shared pieces of the robustagg benchmarks: the input matrices, the read-pass
// roofline measured in the same run, and the x_roofline counter.
//
// Every benchmark of a shape (n, d) runs after that shape's two read-pass
// baselines (one thread, all threads); the faster of the two is the roofline:
// the time to read the n x d input once (the faster of two access patterns,
// see read_pass). A rule's x_roofline is its time per
// aggregation divided by that roofline.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <robustagg/robustagg.hpp>
#include <string>
#include <utility>
#include <vector>
#include <xsimd/xsimd.hpp>

namespace bench {

namespace ra = robustagg;
using ra::Index;

inline const std::vector<Index>& row_counts() {
  static const std::vector<Index> v = {5, 15, 25, 51, 101};
  return v;
}
inline const std::vector<Index>& dims() {
  static const std::vector<Index> v = {100000, 10000000};
  return v;
}

/// The f the benchmarks use for a rule over n rows: the largest Bulyan allows,
/// (n - 3) / 4, used for every rule so the rows are comparable.
inline int f_for(Index n) { return int((n - 3) / 4); }

/// One n x d float input at a time (n = 101, d = 1e7 is 4 GB): regenerated
/// when the shape changes. Values: a fast deterministic pseudo-random fill in
/// [-1, 1) with a per-row scale.
class Inputs {
 public:
  static const ra::GradientMatrix<float>& get(Index n, Index d) {
    static Inputs self;
    if (self.n_ != n || self.d_ != d) {
      self.g_.resize(0, 0);
      self.g_.resize(n, d);
      std::uint64_t s = 0x9e3779b97f4a7c15ULL ^ std::uint64_t(n * 131 + d);
      for (Index i = 0; i < n; ++i) {
        float* r = self.g_.data() + i * d;
        const float scale = 1.0f + 0.01f * float(i);
        for (Index j = 0; j < d; ++j) {
          s ^= s << 13;
          s ^= s >> 7;
          s ^= s << 17;
          r[j] = scale * (float(std::int32_t(s >> 32)) * 0x1p-31f);
        }
      }
      self.n_ = n;
      self.d_ = d;
    }
    return self.g_;
  }

 private:
  ra::GradientMatrix<float> g_;
  Index n_ = -1, d_ = -1;
};

/// Seconds per read pass for each shape (the faster of 1 thread and all).
inline std::map<std::pair<Index, Index>, double>& rooflines() {
  static std::map<std::pair<Index, Index>, double> m;
  return m;
}

/// Reads every value of g once on `threads` threads. Pattern 0: each thread
/// reads one contiguous slab of every row, row after row (long sequential
/// streams). Pattern 1: tiles of 16384 coordinates, all n rows at the same
/// coordinate (n concurrent streams, as the network kernels read). Which is
/// faster depends on n (on the development machine, n concurrent streams
/// win up to ~16 rows and lose by 3x beyond): the roofline takes the faster.
inline float read_pass(const ra::GradientMatrix<float>& g, int threads, int pattern) {
  namespace rd = ra::detail;
  using V = xsimd::batch<float>;  // the compile-time architecture (benchmarks build with -march=native)
  constexpr Index W = Index(V::size);
  const Index n = g.rows(), d = g.cols();
  const Index slab = pattern == 0 ? (d + threads - 1) / threads : rd::kParallelTile;
  const Index tiles = rd::tile_count(d, slab);
  float partial[ra::kMaxThreads] = {};
  rd::parallel_for(tiles, std::min<int>(threads, int(tiles)), [&](Index t, int tid) {
    const Index j0 = t * slab, j1 = std::min(d, j0 + slab);
    V a0(0.f), a1(0.f), a2(0.f), a3(0.f);
    const float* base = g.data();
    if (pattern == 0) {
      for (Index i = 0; i < n; ++i) {
        const float* r = base + i * d;
        Index j = j0;
        for (; j + 4 * W <= j1; j += 4 * W) {
          a0 += V::load_unaligned(r + j);
          a1 += V::load_unaligned(r + j + W);
          a2 += V::load_unaligned(r + j + 2 * W);
          a3 += V::load_unaligned(r + j + 3 * W);
        }
        for (; j < j1; ++j) partial[tid] += r[j];
      }
    } else {
      Index j = j0;
      for (; j + 4 * W <= j1; j += 4 * W) {
        for (Index i = 0; i < n; ++i) {
          const float* r = base + i * d + j;
          a0 += V::load_unaligned(r);
          a1 += V::load_unaligned(r + W);
          a2 += V::load_unaligned(r + 2 * W);
          a3 += V::load_unaligned(r + 3 * W);
        }
      }
      for (; j < j1; ++j)
        for (Index i = 0; i < n; ++i) partial[tid] += base[i * d + j];
    }
    partial[tid] += xsimd::hadd((a0 + a1) + (a2 + a3));
  });
  float s = 0;
  for (float p : partial) s += p;
  return s;
}

/// Runs `body` in the benchmark loop and sets the common counters: bytes per
/// second of input, the label (SIMD architecture and threads) and x_roofline.
template <class Body>
void run_timed(benchmark::State& state, Index n, Index d, int threads, Body&& body) {
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double per_iteration = seconds / double(std::max<benchmark::IterationCount>(1, state.iterations()));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(n * d) * std::int64_t(sizeof(float)));
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n * d));
  state.SetLabel(std::string(ra::simd_arch()) + " threads=" + std::to_string(threads));
  const auto it = rooflines().find({n, d});
  if (it != rooflines().end() && it->second > 0)
    state.counters["x_roofline"] = benchmark::Counter(per_iteration / it->second);
  state.counters["seconds"] = benchmark::Counter(per_iteration);
}

/// The two read-pass baselines for a shape; record the roofline.
inline void BM_ReadPass(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const int threads = state.range(2) == 0 ? ra::num_threads() : int(state.range(2));
  const auto& g = Inputs::get(n, d);
  double seconds[2] = {0, 0};
  for (auto _ : state) {
    for (int pattern : {0, 1}) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(read_pass(g, threads, pattern));
      seconds[pattern] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  // One iteration times both patterns; the faster pattern is the read pass.
  const double per_iteration =
      std::min(seconds[0], seconds[1]) / double(std::max<benchmark::IterationCount>(1, state.iterations()));
  state.counters["slabs_seconds"] = benchmark::Counter(seconds[0] / double(std::max<benchmark::IterationCount>(1, state.iterations())));
  state.counters["streams_seconds"] = benchmark::Counter(seconds[1] / double(std::max<benchmark::IterationCount>(1, state.iterations())));
  auto& r = rooflines()[{n, d}];
  // The faster of the one-thread and all-thread passes of this run; a new
  // repetition of the one-thread pass starts a new measurement.
  if (state.range(2) == 1 || r == 0 || per_iteration < r) r = per_iteration;
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(n * d) * std::int64_t(sizeof(float)));
  state.SetLabel(std::string(ra::simd_arch()) + " threads=" + std::to_string(threads));
  state.counters["x_roofline"] = benchmark::Counter(per_iteration / r);
  state.counters["seconds"] = benchmark::Counter(per_iteration);
}

/// Registers the read-pass baselines for (n, d): threads 1, then all (0).
inline void register_read_pass(Index n, Index d) {
  for (Index t : {Index(1), Index(0)})
    benchmark::RegisterBenchmark("BM_ReadPass", BM_ReadPass)
        ->Args({n, d, t})
        ->ArgNames({"n", "d", "threads"})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

/// Registers a rule benchmark: fn(state, n, d) with the given name.
template <class Fn>
void register_rule(const std::string& name, Index n, Index d, Fn fn, Index threads = 0) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [fn, n, d, threads](benchmark::State& state) { fn(state, n, d, int(threads)); })
      ->Args({n, d, threads})
      ->ArgNames({"n", "d", "threads"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

/// Benchmarks a robustagg rule through the steady-state API (reused workspace
/// and output) on `threads` threads (0: all).
template <class Rule>
void rule_benchmark(benchmark::State& state, Index n, Index d, int threads, const Rule& rule) {
  const auto& g = Inputs::get(n, d);
  const int t = threads == 0 ? ra::num_threads() : threads;
  ra::set_num_threads(t);
  ra::Workspace ws;
  ra::Vector<float> out;
  ra::aggregate(g, rule, out, ws);  // warm-up: workspace grows
  run_timed(state, n, d, t, [&] {
    ra::aggregate(g, rule, out, ws);
    benchmark::DoNotOptimize(out.data());
  });
  ra::set_num_threads(0);
}

/// The main() of a benchmark binary that records the SIMD architecture and
/// the thread count as context: registers (a function calling register_rule
/// and friends), then runs the benchmarks the command line selects.
template <class Register>
int run_main(int argc, char** argv, Register&& registers) {
  benchmark::Initialize(&argc, argv);
  registers();
  benchmark::AddCustomContext("simd_arch", ra::simd_arch());
  benchmark::AddCustomContext("threads", std::to_string(ra::num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench

