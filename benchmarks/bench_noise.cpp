// The Gaussian noise generator (detail/rng.hpp, detail/noise_kernel.hpp) on
// one core: add_noise<default_arch> in place on d = 2.2M floats (the shape of
// the noisy-median case) against a read pass and a memcpy of the same
// bytes, measured in the same run; plus the generator alone on an L1-resident
// buffer (its compute throughput), double, and the scalar definition.
//
// Counters: bytes_per_second is gradient bytes (d * sizeof(T)) per second;
// x_read and x_copy are the time per call over the read pass's and memcpy's.
// Every figure uses the thread's CPU time (the benchmarks are single-thread;
// on a shared machine wall time also counts the other processes' turns).
#include <time.h>

#include <cstring>
#include <robustagg/detail/noise_kernel.hpp>
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

namespace rd = ra::detail;
constexpr Index kD = 2200000;

double g_read = 0, g_copy = 0;  // seconds per call, this run

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

template <class Body>
double timed(benchmark::State& state, std::int64_t bytes, Body&& body) {
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = thread_seconds();
    body();
    seconds += thread_seconds() - t0;
  }
  const double per = seconds / double(std::max<benchmark::IterationCount>(1, state.iterations()));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * bytes);
  state.SetLabel(xsimd::default_arch::name());
  if (g_read > 0) state.counters["x_read"] = benchmark::Counter(per / g_read);
  if (g_copy > 0) state.counters["x_copy"] = benchmark::Counter(per / g_copy);
  state.counters["seconds"] = benchmark::Counter(per);
  return per;
}

const ra::GradientMatrix<float>& input() { return Inputs::get(1, kD); }

void BM_ReadPass(benchmark::State& state) {
  const auto& g = input();
  g_read = timed(state, kD * 4, [&] { benchmark::DoNotOptimize(read_pass(g, 1, 0)); });
}

void BM_Memcpy(benchmark::State& state) {
  const auto& g = input();
  std::vector<float> dst(static_cast<std::size_t>(kD));
  g_copy = timed(state, kD * 4, [&] {
    std::memcpy(dst.data(), g.data(), std::size_t(kD) * sizeof(float));
    benchmark::ClobberMemory();
  });
}

template <class T>
void BM_AddNoiseInPlace(benchmark::State& state) {
  const auto& g = input();
  std::vector<T> x(g.data(), g.data() + kD);
  std::uint64_t seed = 1;
  timed(state, kD * std::int64_t(sizeof(T)), [&] {
    rd::add_noise<xsimd::default_arch, T>(x.data(), x.data(), kD, 0.1, seed++, 3, 0);
    benchmark::ClobberMemory();
  });
}

void BM_PerturbInplace(benchmark::State& state) {
  const auto& g = input();
  std::vector<float> x(g.data(), g.data() + kD);
  std::uint64_t seed = 1;
  timed(state, kD * 4, [&] {
    ra::perturb_inplace(x.data(), kD, 0.1, seed++, 3);
    benchmark::ClobberMemory();
  });
}

/// The generator alone: kD normals into one L1-resident 128-float buffer.
void BM_NoiseBlocksL1(benchmark::State& state) {
  alignas(64) float z[128];
  const rd::NoiseKey key = rd::noise_key(1, 3);
  timed(state, kD * 4, [&] {
    for (Index j = 0; j < kD; j += 128) {
      rd::noise_blocks<xsimd::default_arch, 2>(key, std::uint64_t(j / 64), z);
      benchmark::DoNotOptimize(z);
    }
  });
}

/// The scalar definition, one value at a time (what AddNoise's per-value
/// operator costs).
void BM_ScalarPerturbed(benchmark::State& state) {
  const auto& g = input();
  std::vector<float> x(g.data(), g.data() + kD);
  timed(state, kD * 4, [&] {
    for (Index j = 0; j < kD; ++j) x[std::size_t(j)] = rd::perturbed<float>(x[std::size_t(j)], 0.1, 1, 3, std::uint64_t(j));
    benchmark::ClobberMemory();
  });
}

/// The core clock during this run: a chain of dependent 64-bit adds (one
/// cycle each) on x86-64; the counter GHz is adds per nanosecond of CPU time.
void BM_ClockProbe(benchmark::State& state) {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  constexpr long kIters = 20000000;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = thread_seconds();
    long x = 0;
    for (long i = 0; i < kIters; ++i)
      __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                       "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                       : "+r"(x));
    benchmark::DoNotOptimize(x);
    seconds += thread_seconds() - t0;
  }
  const double per = seconds / double(std::max<benchmark::IterationCount>(1, state.iterations()));
  state.counters["GHz"] = benchmark::Counter(8.0 * double(kIters) / per * 1e-9);
#else
  for (auto _ : state) {
  }
  state.SkipWithError("x86-64 GCC/Clang only");
#endif
}

void register_all() {
  const auto reg = [](const char* name, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMillisecond);
  };
  reg("BM_ClockProbe", BM_ClockProbe);
  reg("BM_ReadPass/d=2.2M", BM_ReadPass);
  reg("BM_Memcpy/d=2.2M", BM_Memcpy);
  reg("BM_AddNoiseInPlace<float>/d=2.2M", BM_AddNoiseInPlace<float>);
  reg("BM_PerturbInplace<float>/d=2.2M", BM_PerturbInplace);
  reg("BM_NoiseBlocksL1/d=2.2M", BM_NoiseBlocksL1);
  reg("BM_AddNoiseInPlace<double>/d=2.2M", BM_AddNoiseInPlace<double>);
  reg("BM_ScalarPerturbed<float>/d=2.2M", BM_ScalarPerturbed);
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
