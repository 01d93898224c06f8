// Distance-based rules (Krum, Multi-Krum, Bulyan, MoNNA, CAF, MDA, SMEA) and
// the distance engine over
// n in {5, 15, 25, 51, 101} and d in {1e5, 1e7}, float, with the read-pass
// roofline and Eigen's float Gram-matrix distances (|x|^2 + |y|^2 - 2 X X^T,
// one GEMM; fast but inexact on nearby rows) in the same binary.
//
// Large n (issue 12): n in {101, 201, 401} with n * d = 2^25 floats (128 MB),
// the read pass, the distance pass, Krum and Bulyan, and Bulyan's repeated-Krum
// selection alone on precomputed distances: BM_BulyanRounds (the library's
// detail::bulyan_select) and BM_BulyanRoundsReference (the per-round
// krum_score loop, the rule's definition, kept here as a baseline).
// Select them with --benchmark_filter='/d:(332222|166937|83676)/'.
#include <algorithm>
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

/// Bulyan's selection by its definition: every round, the Krum score of each
/// remaining row among the remaining rows (detail::krum_score: collect, sort,
/// sum the smallest in ascending order), the lowest score (lowest index on
/// ties) picked. O(theta * n^2 log n) per call. Writes the picked indices.
void bulyan_rounds_reference(const double* D, Index n, int f, unsigned char* alive, double* scratch,
                             Index* picked) {
  const Index theta = n - 2 * Index(f);
  std::fill(alive, alive + n, static_cast<unsigned char>(1));
  for (Index round = 0; round < theta; ++round) {
    const Index neighbours = std::max<Index>(1, n - round - f - 2);
    Index best = -1;
    double best_score = 0.0;
    for (Index i = 0; i < n; ++i) {
      if (!alive[i]) continue;
      const double s = ra::detail::krum_score(D, n, i, neighbours, alive, scratch);
      if (best < 0 || s < best_score) {
        best = i;
        best_score = s;
      }
    }
    alive[best] = 0;
    picked[round] = best;
  }
}

/// The distances of the benchmark input (n, d), computed once per benchmark.
std::vector<double> input_distances(Index n, Index d) {
  const auto& g = Inputs::get(n, d);
  ra::Workspace ws;
  std::vector<double> D(static_cast<std::size_t>(n * n));
  ra::detail::pairwise_sq_distances(ra::RowsView<float>::strided(g.data(), n, d, d), D.data(), ws);
  return D;
}

/// The distance pass alone (the engine every distance-based rule starts with).
void distance_pass(benchmark::State& s, Index n, Index d, int t) {
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
}

void register_large_n() {
  for (Index n : {Index(101), Index(201), Index(401)}) {
    const Index d = (Index(1) << 25) / n;
    const int f = f_for(n);
    register_read_pass(n, d);
    register_rule("BM_Distances", n, d, distance_pass);
    register_rule("BM_Krum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::Krum{f});
    });
    register_rule("BM_Bulyan", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
      rule_benchmark(s, n, d, t, ra::Bulyan{f});
    });
    register_rule("BM_BulyanRoundsReference", n, d, [f](benchmark::State& s, Index n, Index d, int) {
      const std::vector<double> D = input_distances(n, d);
      std::vector<unsigned char> alive(static_cast<std::size_t>(n));
      std::vector<double> scratch(static_cast<std::size_t>(n));
      std::vector<Index> picked(static_cast<std::size_t>(n));
      run_timed(s, n, d, 1, [&] {
        bulyan_rounds_reference(D.data(), n, f, alive.data(), scratch.data(), picked.data());
        benchmark::DoNotOptimize(picked.data());
      });
    }, 1);
    register_rule("BM_BulyanRounds", n, d, [f](benchmark::State& s, Index n, Index d, int) {
      const std::vector<double> D = input_distances(n, d);
      const Index theta = n - 2 * Index(f);
      std::vector<Index> picked(static_cast<std::size_t>(theta));
      ra::Workspace ws;
      run_timed(s, n, d, 1, [&] {
        ra::detail::bulyan_select(D.data(), n, Index(f), theta, picked.data(), ws);
        benchmark::DoNotOptimize(picked.data());
      });
    }, 1);
  }
}

void register_all() {
  for (Index d : dims()) {
    for (Index n : row_counts()) {
      register_read_pass(n, d);
      const int f = f_for(n);
      register_rule("BM_Distances", n, d, distance_pass);
      register_rule("BM_Krum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Krum{f});
      });
      register_rule("BM_MultiKrum", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::MultiKrum{f, 0});
      });
      register_rule("BM_Bulyan", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Bulyan{f});
      });
      // The rules after 2020 on the distance engine (MDA within its bound, SMEA
      // where its subset search stays small enough to time: work <= 1e8, ~0.1 s).
      register_rule("BM_Monna", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Monna{f, 0});
      });
      register_rule("BM_Caf", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Caf{f});
      });
      if (ra::detail::mda_search_work(n, f) <= ra::kMaxMdaWork)
        register_rule("BM_Mda", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::Mda{f});
        });
      if (ra::detail::smea_work(n, f) <= 1e8)
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
  return bench::run_main(argc, argv, [] {
    bench::register_all();
    bench::register_large_n();
  });
}
