// How cost grows with the number of workers: every rule family at a fixed
// n x d = 2^25 floats (128 MB; d = 2^25 / n), n from 3 to 1024 including the
// kernels' edges (32/33: the register-resident networks end; 256/257: where
// the run-time networks used to end; 512/513, 1001/1024), with the read pass
// of the same shape in the same run (x_roofline = time / read pass).
// benchmarks/peers.py --sweep 33554432 times numpy and torch on the same
// shapes; benchmarks/sweep_report.py turns both into docs/performance.md's
// n-sweep table and figure (scripts/bench_sweep.sh runs all three).
//
// The distance-based rules (Krum, Bulyan) cost O(n^2 d) = O(n) read passes:
// they stop at n = 401 (Bulyan at 201) to keep the sweep to a few minutes.
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

constexpr Index kTotal = Index(1) << 25;

const std::vector<Index>& sweep_rows() {
  static const std::vector<Index> v = {3,   5,   8,   15,  16,  17,  31,  32,  33,   64,
                                       101, 128, 201, 255, 256, 257, 401, 512, 513, 1001, 1024};
  return v;
}

void register_all() {
  for (Index n : sweep_rows()) {
    const Index d = kTotal / n;
    const int f = f_for(n) > 0 ? f_for(n) : 0;
    register_read_pass(n, d);
    register_rule("BM_Mean", n, d, [](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::Mean{});
    });
    register_rule("BM_Median", n, d, [](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::Median{});
    });
    register_rule("BM_TrimmedMean", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::TrimmedMean{f});
    });
    register_rule("BM_SignVote", n, d, [](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::SignVote{});
    });
    register_rule("BM_NoisyMedian", n, d, [](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::NoisyMedian{0.1, 1});
    });
    register_rule("BM_GeometricMedian_it1", n, d, [](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::GeometricMedian{1, 1e-6, 0.0});
    });
    if (n <= 401)
      register_rule("BM_Krum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Krum{f});
      });
    if (n <= 201 && n >= 3)
      register_rule("BM_Bulyan", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Bulyan{f});
      });
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::run_main(argc, argv, bench::register_all); }
