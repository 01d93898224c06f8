// Coordinate-wise rules (mean, median, trimmed mean, sign vote, noisy median,
// noisy sign vote, Meamed) and the row-pass rules (geometric median, centered
// clipping) over n in {5, 15, 25, 51, 101} and d in {1e5, 1e7}, float,
// with the baselines in the same binary: the read-pass roofline (1 thread and
// all threads), a per-coordinate std::nth_element median and Eigen's column
// mean. Every rule reports x_roofline (time / roofline time of its shape).
//
// The noisy rules run at d = 1e5 only: their kernels still add the noise one
// value at a time (detail::AddNoise; the generator's own benchmark is
// bench_noise.cpp).
#include <algorithm>
#include <vector>

#include "bench_common.hpp"

namespace bench {
namespace {

/// Per-coordinate median with std::nth_element: gather a column, select the
/// middle (and the largest below it for even n). Single thread.
void nth_element_median(const ra::GradientMatrix<float>& g, float* out, std::vector<float>& col) {
  const Index n = g.rows(), d = g.cols();
  col.resize(static_cast<std::size_t>(n));
  const float* base = g.data();
  for (Index j = 0; j < d; ++j) {
    for (Index i = 0; i < n; ++i) col[std::size_t(i)] = base[i * d + j];
    auto mid = col.begin() + n / 2;
    std::nth_element(col.begin(), mid, col.end());
    if (n % 2 == 1) {
      out[j] = *mid;
    } else {
      const float lo = *std::max_element(col.begin(), mid);
      out[j] = lo * 0.5f + *mid * 0.5f;
    }
  }
}

void register_all() {
  for (Index d : dims()) {
    for (Index n : row_counts()) {
      register_read_pass(n, d);
      const int f = f_for(n);
      register_rule("BM_Mean", n, d, [](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Mean{});
      });
      register_rule("BM_Median", n, d, [](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Median{});
      });
      if (n <= 25)  // the same kernel on one thread, against the one-thread baseline
        register_rule("BM_Median", n, d, [](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::Median{});
        }, 1);
      register_rule("BM_TrimmedMean", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::TrimmedMean{f});
      });
      register_rule("BM_SignVote", n, d, [](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::SignVote{});
      });
      if (d <= 100000) {
        register_rule("BM_NoisyMedian", n, d, [](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::NoisyMedian{0.1, 1});
        });
        register_rule("BM_NoisySignVote", n, d, [](benchmark::State& s, Index n, Index d, int t) {
          rule_benchmark(s, n, d, t, ra::NoisySignVote{0.1, 1});
        });
      }
      // The rules after 2020 that run on the coordinate engine or as row passes.
      register_rule("BM_Meamed", n, d, [f](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::Meamed{f});
      });
      // One and nine Weiszfeld iterations (tolerance 0: all of them run); one
      // iteration costs (x9 - x1) / 8 read passes.
      for (int it : {1, 9})
        register_rule(it == 1 ? "BM_GeometricMedian_it1" : "BM_GeometricMedian_it9", n, d,
                      [it](benchmark::State& s, Index n, Index d, int t) {
                        rule_benchmark(s, n, d, t, ra::GeometricMedian{it, 1e-6, 0.0});
                      });
      register_rule("BM_CenteredClipping", n, d, [](benchmark::State& s, Index n, Index d, int t) {
        rule_benchmark(s, n, d, t, ra::CenteredClipping{1.0, 1});
      });
      // Baselines (single thread).
      if (d <= 100000 || n <= 25)
        register_rule("BM_NthElementMedian", n, d, [](benchmark::State& s, Index n, Index d, int) {
          const auto& g = Inputs::get(n, d);
          std::vector<float> out(static_cast<std::size_t>(d)), col;
          run_timed(s, n, d, 1, [&] {
            nth_element_median(g, out.data(), col);
            benchmark::DoNotOptimize(out.data());
          });
        }, 1);
      register_rule("BM_EigenColMean", n, d, [](benchmark::State& s, Index n, Index d, int) {
        const auto& g = Inputs::get(n, d);
        Eigen::RowVectorXf out(d);
        run_timed(s, n, d, 1, [&] {
          out.noalias() = g.colwise().mean();
          benchmark::DoNotOptimize(out.data());
        });
      }, 1);
    }
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::run_main(argc, argv, bench::register_all); }
