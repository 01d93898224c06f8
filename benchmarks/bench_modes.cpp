// Header-only against the compiled library, in one binary: the same rules on
// the same input (n = 15, d = 1e7 floats, all threads), through
//   compiled     robustagg::robustagg: run-time dispatch (this binary is built
//                without -march, as a plain consumer is);
//   header_only  a plain #include compiled with -O2 -march=native
//                (modes/header_only_side.cpp, a hidden-visibility shared
//                library, so the two copies of the headers never merge).
// Their outputs are checked bitwise equal before timing. The read pass of the
// same input is the baseline. scripts/measure_dispatch.sh runs it.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"

extern "C" {
void* ho_make(const char* spec);
void ho_free(void* handle);
void ho_set_threads(int threads);
const char* ho_simd_arch();
int ho_aggregate(void* handle, const float* data, long n, long d, float* out);
}

namespace {

using bench::Index;
namespace ra = robustagg;

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const Index n = 15, d = 10000000;
  bench::register_read_pass(n, d);
  const float* data = bench::Inputs::get(n, d).data();
  std::vector<void*> handles;
  for (const std::string spec : {"mean", "median", "trimmed-mean(f=2)", "krum(f=2)", "bulyan(f=2)",
                                  "geometric-median", "monna(f=2)", "clip(c=1, then=mean)"}) {
    void* ho = ho_make(spec.c_str());
    if (!ho) return 1;
    handles.push_back(ho);
    auto agg = std::make_shared<ra::Aggregator<ra::AnyRule>>(ra::parse_rule(spec));
    const auto view = ra::RowsView<float>::strided(data, n, d, d);
    std::vector<float> a(static_cast<std::size_t>(d)), b(static_cast<std::size_t>(d));
    (*agg)(view, a.data());
    if (ho_aggregate(ho, data, n, d, b.data()) != 0) return 1;
    if (std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(d)) != 0) {
      std::fprintf(stderr, "%s: the header-only and the compiled outputs differ\n", spec.c_str());
      return 1;
    }
    const std::string name = spec + "/n:" + std::to_string(n) + "/d:" + std::to_string(d);
    benchmark::RegisterBenchmark(("BM_Mode/compiled/" + name).c_str(), [=](benchmark::State& st) {
      std::vector<float> out(static_cast<std::size_t>(d));
      for (auto _ : st) {
        (*agg)(view, out.data());
        benchmark::DoNotOptimize(out.data());
      }
      st.SetLabel(ra::simd_arch());
    })->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_Mode/header_only/" + name).c_str(), [=](benchmark::State& st) {
      std::vector<float> out(static_cast<std::size_t>(d));
      for (auto _ : st) {
        ho_aggregate(ho, data, n, d, out.data());
        benchmark::DoNotOptimize(out.data());
      }
      st.SetLabel(ho_simd_arch());
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (void* h : handles) ho_free(h);
  return 0;
}
