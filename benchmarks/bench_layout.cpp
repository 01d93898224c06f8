// Row-major against column-major input, in one binary: the same values (n =
// 15, d = 2^20 floats, all threads) as a robustagg::GradientMatrix (row-major)
// and as an Eigen::MatrixXf (column-major, Eigen's default), through the
// workspace form (one Workspace and output reused) and the value form
// (aggregate(g, rule): a new output, the thread's cached workspace). The outputs of the two
// layouts are checked bitwise equal before timing. The row-major workspace
// form is each rule's baseline: scripts/measure_layout.sh prints the ratios.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "bench_common.hpp"

namespace {

using bench::Index;
namespace ra = robustagg;

template <class M>
void register_layout(const std::string& layout, const std::shared_ptr<const M>& g, const ra::AnyRule& rule,
                     const std::string& name) {
  benchmark::RegisterBenchmark(("BM_Layout/" + layout + "/workspace/" + name).c_str(),
                               [=](benchmark::State& st) {
                                 ra::Workspace ws;
                                 ra::Vector<float> out;
                                 ra::aggregate(*g, rule, out, ws);  // grows the workspace: steady state from here
                                 for (auto _ : st) {
                                   ra::aggregate(*g, rule, out, ws);
                                   benchmark::DoNotOptimize(out.data());
                                 }
                               })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("BM_Layout/" + layout + "/value/" + name).c_str(), [=](benchmark::State& st) {
    benchmark::DoNotOptimize(ra::aggregate(*g, rule).data());  // the thread's cached workspace, grown
    for (auto _ : st) {
      ra::Vector<float> out = ra::aggregate(*g, rule);
      benchmark::DoNotOptimize(out.data());
    }
  })->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const Index n = 15, d = Index(1) << 20;
  bench::register_read_pass(n, d);
  auto rm = std::make_shared<const ra::GradientMatrix<float>>(bench::Inputs::get(n, d));
  auto cm = std::make_shared<const Eigen::MatrixXf>(*rm);
  for (const std::string spec : {"median", "trimmed-mean(f=2)", "mean", "sign-vote", "krum(f=2)", "bulyan(f=3)",
                                 "geometric-median", "clip(c=100, then=mean)", "nnm(f=2, then=median)"}) {
    const ra::AnyRule rule = ra::parse_rule(spec);
    const ra::Vector<float> a = ra::aggregate(*rm, rule), b = ra::aggregate(*cm, rule);
    if (a.size() != b.size() || std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(d)) != 0) {
      std::fprintf(stderr, "%s: column-major and row-major outputs differ\n", spec.c_str());
      return 1;
    }
    const std::string name = spec + "/n:" + std::to_string(n) + "/d:" + std::to_string(d);
    register_layout("row_major", rm, rule, name);
    register_layout("col_major", cm, rule, name);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
