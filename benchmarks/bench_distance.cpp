// Distance-based rules (Krum, Multi-Krum, Bulyan, MoNNA, CAF, MDA, SMEA) and
// the distance engine over
// n in {5, 15, 25, 51, 101} and d in {1e5, 1e7}, float, with the read-pass
// roofline and Eigen's float Gram-matrix distances (|x|^2 + |y|^2 - 2 X X^T,
// one GEMM; fast but inexact on nearby rows) in the same binary.
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

void register_all() {
  for (Index d : dims()) {
    for (Index n : row_counts()) {
      register_read_pass(n, d);
      const int f = f_for(n);
      register_rule("BM_Distances", n, d, [](benchmark::State& s, Index n, Index d, int t) {
        const auto& g = Inputs::get(n, d);
        ra::set_num_threads(t == 0 ? ra::num_threads() : t);
        ra::Workspace ws;
        std::vector<double> D(static_cast<std::size_t>(n * n));
        const auto view = ra::RowsView<float>::strided(g.data(), n, d, d);
        run_timed(s, n, d, ra::num_threads(), [&] {
          ra::detail::pairwise_sq_distances(view, D.data(), ws);
          benchmark::DoNotOptimize(D.data());
        });
        ra::set_num_threads(0);
      });
      register_rule("BM_Krum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Krum{f});
      });
      register_rule("BM_MultiKrum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::MultiKrum{f, 0});
      });
      register_rule("BM_Bulyan", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Bulyan{f});
      });
      // The rules after 2020 on the distance engine (MDA and SMEA where C(n, f)
      // stays small enough to time).
      register_rule("BM_Monna", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Monna{f, 0});
      });
      register_rule("BM_Caf", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Caf{f});
      });
      if (ra::detail::binomial_capped(n, f) <= 100000)
        register_rule("BM_Mda", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::Mda{f});
        });
      if (ra::detail::binomial_capped(n, f) <= 5000)
        register_rule("BM_Smea", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::Smea{f});
        });
      register_rule("BM_EigenGramDistances", n, d, [](benchmark::State& s, Index n, Index d, int) {
        const auto& g = Inputs::get(n, d);
        Eigen::MatrixXf G(n, n), D(n, n);
        Eigen::VectorXf sq(n);
        run_timed(s, n, d, 1, [&] {
          G.noalias() = g * g.transpose();
          sq = G.diagonal();
          D = (sq.replicate(1, n) + sq.transpose().replicate(n, 1) - 2.0f * G);
          benchmark::DoNotOptimize(D.data());
        });
      }, 1);
    }
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::register_all();
  benchmark::AddCustomContext("simd_arch", robustagg::simd_arch());
  benchmark::AddCustomContext("threads", std::to_string(robustagg::num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
