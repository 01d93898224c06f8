// Before/after: every rule of the kernel engine at n = 3..401, the current
// library (built without -march: run-time dispatch) against an older revision
// built with -march=native (before.cpp, a shared library), in one binary and
// one run, the two sides of each shape interleaved. scripts/
// bench_before_after.sh builds it and writes the table of docs/performance.md.
//
// Shapes: n * d = 2^22 floats (16 MB: past the L2, as a real gradient is),
// one thread (the kernels' per-core speed; the thread pool is the same code
// in both revisions). f = (n - 3) / 4 for every rule with an f, so Bulyan is
// valid at every n.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

extern "C" {
void* before_make(const char* spec);
void before_free(void* handle);
void before_set_threads(int threads);
int before_aggregate(void* handle, const float* data, long n, long d, float* out);
}

namespace {

namespace ra = robustagg;
using ra::Index;

constexpr Index kValues = Index(1) << 22;

/// n x d floats, row-major, 64-byte aligned (both sides see the same bytes).
struct Input {
  Index n = 0, d = 0;
  float* data = nullptr;
  Input(Index rows, Index cols) : n(rows), d(cols) {
    const std::size_t bytes = (std::size_t(n * d) * sizeof(float) + 63) / 64 * 64;
    data = static_cast<float*>(std::aligned_alloc(64, bytes));
    std::uint64_t s = 0x9e3779b97f4a7c15ULL ^ std::uint64_t(n * 131 + d);
    for (Index i = 0; i < n * d; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      data[i] = (1.0f + 0.01f * float(i / d)) * (float(std::int32_t(s >> 32)) * 0x1p-31f);
    }
  }
  ~Input() { std::free(data); }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
};

std::vector<std::string> specs_for(Index n) {
  const std::string f = std::to_string((n - 3) / 4);
  return {"mean", "median", "trimmed-mean(f=" + f + ")", "sign-vote", "krum(f=" + f + ")",
          "multi-krum(f=" + f + ")", "bulyan(f=" + f + ")", "noisy-median(b=0.1)",
          "noisy-sign-vote(b=0.1)"};
}

/// Both sides must compute the same rule: their outputs agree to 1e-4 of the
/// value scale (summation order may differ), except the noisy rules, whose
/// generator changed (Box-Muller on libm, then Threefry-4x32 + SIMD Box-Muller).
void check_same(const std::string& spec, const std::vector<float>& a, const std::vector<float>& b) {
  if (spec.rfind("noisy-", 0) == 0) return;
  for (std::size_t j = 0; j < a.size(); ++j)
    if (!(std::fabs(a[j] - b[j]) <= 1e-4f * (1.0f + std::fabs(b[j])))) {
      std::fprintf(stderr, "%s: before and after differ at %zu: %.9g vs %.9g\n", spec.c_str(), j,
                   double(a[j]), double(b[j]));
      std::exit(1);
    }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ra::set_num_threads(1);
  before_set_threads(1);
  const std::vector<Index> rows = {3, 5, 7, 11, 15, 16, 31, 32, 33, 51, 64, 101, 128, 255, 256, 257, 401};
  std::vector<std::unique_ptr<Input>> inputs;
  std::vector<void*> old_rules;  // the before side's handles, freed at the end
  for (Index n : rows) {
    inputs.push_back(std::make_unique<Input>(n, kValues / n));
    const Input* in = inputs.back().get();
    for (const std::string& spec : specs_for(n)) {
      void* old = before_make(spec.c_str());
      if (old == nullptr) return 1;
      old_rules.push_back(old);
      auto now = std::make_shared<ra::Aggregator<ra::AnyRule>>(ra::parse_rule(spec));
      std::vector<float> a(std::size_t(in->d)), b(std::size_t(in->d));
      const auto view = ra::RowsView<float>::strided(in->data, in->n, in->d, in->d);
      ra::aggregate(view, now->rule(), a.data(), now->workspace());
      if (before_aggregate(old, in->data, in->n, in->d, b.data()) != 0) return 1;
      check_same(spec + " n=" + std::to_string(n), a, b);
      const std::string name = spec + "/n:" + std::to_string(n) + "/d:" + std::to_string(in->d);
      benchmark::RegisterBenchmark(("before/" + name).c_str(), [=](benchmark::State& st) {
        std::vector<float> out(std::size_t(in->d));
        for (auto _ : st) {
          before_aggregate(old, in->data, in->n, in->d, out.data());
          benchmark::DoNotOptimize(out.data());
        }
      })->Unit(benchmark::kMillisecond)->UseRealTime();
      benchmark::RegisterBenchmark(("after/" + name).c_str(), [=](benchmark::State& st) {
        std::vector<float> out(std::size_t(in->d));
        for (auto _ : st) {
          ra::aggregate(view, now->rule(), out.data(), now->workspace());
          benchmark::DoNotOptimize(out.data());
        }
      })->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (void* old : old_rules) before_free(old);
  return 0;
}
