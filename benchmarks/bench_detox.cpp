// DETOX's speed claim: p = 45 workers in groups of r = 3 (15 groups). The
// DETOX forms of Bulyan and Multi-Krum (majority vote, then the rule over the
// 15 winners with f' = effective_f(q, r)) against the same rules on all 45
// rows (f = q), q = 5 Byzantine workers, float, d in {1e5, 1e7}. Honest
// replicas in a group are bitwise equal (deterministic workers), so every
// group has a majority. x_roofline is relative to one read of the 45 rows.
#include "bench_common.hpp"

namespace bench {
namespace {

constexpr Index kP = 45, kR = 3, kQ = 5;

/// 45 rows: group k's three replicas are copies of one random row.
const ra::GradientMatrix<float>& detox_input(Index d) {
  static ra::GradientMatrix<float> g;
  static Index have = -1;
  if (have != d) {
    const auto& base = Inputs::get(kP / kR, d);  // 15 distinct rows
    g.resize(kP, d);
    for (Index i = 0; i < kP; ++i) g.row(i) = base.row(i / kR);
    have = d;
  }
  return g;
}

template <class Rule>
void detox_benchmark(benchmark::State& state, Index d, int threads, const Rule& rule) {
  const auto& g = detox_input(d);
  const int t = threads == 0 ? ra::num_threads() : threads;
  ra::set_num_threads(t);
  ra::Workspace ws;
  ra::Vector<float> out;
  ra::aggregate(g, rule, out, ws);
  run_timed(state, kP, d, t, [&] {
    ra::aggregate(g, rule, out, ws);
    benchmark::DoNotOptimize(out.data());
  });
  ra::set_num_threads(0);
}

void BM_DetoxReadPass(benchmark::State& state) {
  const Index d = state.range(1);
  const int threads = state.range(2) == 0 ? ra::num_threads() : int(state.range(2));
  const auto& g = detox_input(d);
  double seconds[2] = {0, 0};
  for (auto _ : state) {
    for (int pattern : {0, 1}) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(read_pass(g, threads, pattern));
      seconds[pattern] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  const double per =
      std::min(seconds[0], seconds[1]) / double(std::max<benchmark::IterationCount>(1, state.iterations()));
  auto& r = rooflines()[{kP, d}];
  if (state.range(2) == 1 || r == 0 || per < r) r = per;
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(kP * d) * 4);
  state.counters["seconds"] = benchmark::Counter(per);
  state.counters["x_roofline"] = benchmark::Counter(per / r);
}

void register_all() {
  const int f_detox = int(ra::detox::effective_f(kQ, kR));  // 2
  for (Index d : dims()) {
    for (Index t : {Index(1), Index(0)})
      benchmark::RegisterBenchmark("BM_ReadPass", BM_DetoxReadPass)
          ->Args({kP, d, t})
          ->ArgNames({"n", "d", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    register_rule("BM_Detox_PlainBulyan", kP, d, [](benchmark::State& s, Index, Index d, int t) {
      detox_benchmark(s, d, t, ra::Bulyan{int(kQ)});
    });
    register_rule("BM_Detox_Bulyan", kP, d, [f_detox](benchmark::State& s, Index, Index d, int t) {
      detox_benchmark(s, d, t, ra::Detox(int(kR), 0, ra::Mean{}, ra::Bulyan{f_detox}));
    });
    register_rule("BM_Detox_PlainMultiKrum", kP, d, [](benchmark::State& s, Index, Index d, int t) {
      detox_benchmark(s, d, t, ra::MultiKrum{int(kQ), 0});
    });
    register_rule("BM_Detox_MultiKrum", kP, d, [f_detox](benchmark::State& s, Index, Index d, int t) {
      detox_benchmark(s, d, t, ra::Detox(int(kR), 0, ra::Mean{}, ra::MultiKrum{f_detox, 0}));
    });
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::run_main(argc, argv, bench::register_all); }
