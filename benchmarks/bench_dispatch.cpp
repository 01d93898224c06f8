// Run-time dispatch: the same rules on every SIMD architecture compiled in
// (forced with robustagg::set_simd_arch), at n = 15, d = 1e7 floats, in one
// binary that is built WITHOUT -march (what a distribution package or a plain
// -O2 consumer gets). "auto" is the architecture chosen at run time; "sse2" is
// what such a build ran before run-time dispatch. scripts/measure_dispatch.sh
// also runs this binary from a -march=native build for the native figure.
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

void register_all() {
  const Index n = 15, d = 10000000;
  register_read_pass(n, d);
  std::vector<std::string> archs = {"auto"};
  for (const std::string& a : ra::simd_archs()) archs.push_back(a);
  const std::vector<std::string> specs = {"median", "trimmed-mean(f=2)", "krum(f=2)", "bulyan(f=2)",
                                          "sign-vote", "mean", "noisy-median(b=0.1)",
                                          "noisy-sign-vote(b=0.1)"};
  for (const std::string& spec : specs) {
    for (const std::string& arch : archs) {
      register_rule("BM_Dispatch/" + spec + "/" + arch, n, d,
                    [spec, arch](benchmark::State& s, Index n2, Index d2, int t) {
                      ra::set_simd_arch(arch);
                      rule_benchmark(s, n2, d2, t, ra::parse_rule(spec));
                      ra::set_simd_arch("auto");
                    });
    }
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::register_all();
  benchmark::AddCustomContext("simd_archs", [] {
    std::string s;
    for (const std::string& a : robustagg::simd_archs()) s += (s.empty() ? "" : ",") + a;
    return s;
  }());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
