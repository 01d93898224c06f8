// Hostile timing: can a worker slow the server down by its choice of values?
// Every rule at n = 15, d = 1e6 (float and double) on normal inputs against
// inputs full of denormals, NaN payloads, +-Inf, a mix of all three, all-equal
// rows and exact ties. Each iteration times the normal input and the hostile
// input back to back (alternating which goes first), so both see the same
// machine state; the counter `slowdown` is the ratio of the hostile
// call to the normal call (the median of the per-iteration ratios), the number
// issue 5 bounds by 1.5. One thread (see hostile_benchmark).
//
//   BM_Hostile/<rule>/<T>/<kind>   manual time = hostile call
//   counters: slowdown (median ratio), slowdown_min (fastest over fastest),
//             normal_ms, hostile_ms (fastest of the iterations)
//
// ROBUSTAGG_HOSTILE_D overrides d (e.g. 100000 for a quick look).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <robustagg/robustagg.hpp>

namespace {

namespace ra = robustagg;
using ra::Index;

constexpr Index kN = 15;
constexpr int kF = 3;  // (n - 3) / 4: the largest Bulyan allows at n = 15

Index dim() {
  if (const char* s = std::getenv("ROBUSTAGG_HOSTILE_D")) {
    const long long v = std::atoll(s);
    if (v > 0) return Index(v);
  }
  return 1000000;
}

enum class Kind { Normal, Denormal, NanPayload, Inf, Mixed, EqualRows, Ties };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Normal: return "normal";
    case Kind::Denormal: return "denormals";
    case Kind::NanPayload: return "nan_payloads";
    case Kind::Inf: return "inf";
    case Kind::Mixed: return "mixed_nonfinite_denormal";
    case Kind::EqualRows: return "equal_rows";
    case Kind::Ties: return "ties";
  }
  return "?";
}

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

template <class T>
T from_bits(std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t> b) {
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// One value of the kind from 64 random bits.
template <class T>
T value(Kind kind, std::uint64_t r, T normal) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr int kM = std::numeric_limits<T>::digits - 1;
  constexpr U kSign = U(1) << (sizeof(T) * 8 - 1);
  constexpr U kExp = ~kSign & ~((U(1) << kM) - 1);
  const U mant = U(r >> 11) & ((U(1) << kM) - 1);
  const U sign = (r & 1) ? kSign : 0;
  switch (kind) {
    case Kind::Denormal: return from_bits<T>(sign | mant | 1);
    case Kind::NanPayload: return from_bits<T>(sign | kExp | mant | 1);
    case Kind::Inf: return from_bits<T>(sign | kExp);
    case Kind::Mixed:
      return value<T>(r % 3 == 0 ? Kind::Denormal : r % 3 == 1 ? Kind::NanPayload : Kind::Inf,
                      r >> 2, normal);
    case Kind::Ties: return T(int(r % 3) - 1);
    default: return normal;
  }
}

/// One input at a time per (T, kind), plus the normal input of each T.
template <class T>
const ra::GradientMatrix<T>& input(Kind kind) {
  static ra::GradientMatrix<T> normal, hostile;
  static Kind have = Kind::Normal;
  const Index d = dim();
  if (normal.cols() != d) {
    normal.resize(kN, d);
    Rng rng{0x9e3779b97f4a7c15ULL};
    for (Index i = 0; i < kN; ++i)
      for (Index j = 0; j < d; ++j)
        normal(i, j) = T(double(std::int32_t(rng.next() >> 32)) * 0x1p-31 * (1.0 + 0.01 * double(i)));
  }
  if (kind == Kind::Normal) return normal;
  if (have != kind || hostile.cols() != d) {
    hostile.resize(kN, d);
    Rng rng{0x2545f4914f6cdd1dULL ^ std::uint64_t(kind)};
    for (Index i = 0; i < kN; ++i)
      for (Index j = 0; j < d; ++j)
        hostile(i, j) = kind == Kind::EqualRows ? normal(0, j)
                                                : value<T>(kind, rng.next(), normal(i, j));
    have = kind;
  }
  return hostile;
}

template <class T>
void hostile_benchmark(benchmark::State& state, const ra::AnyRule& rule, Kind kind) {
  // One thread: a denormal or NaN penalty is per instruction, and one thread
  // keeps the other engineers' load on this machine out of the ratio.
  ra::set_num_threads(1);
  const auto& normal = input<T>(Kind::Normal);
  const auto& hostile = input<T>(kind);
  ra::Workspace ws;
  ra::Vector<T> out;
  ra::aggregate(normal, rule, out, ws);  // warm up: allocate the workspace
  ra::aggregate(hostile, rule, out, ws);
  auto timed = [&](const ra::GradientMatrix<T>& g) {
    const auto t0 = std::chrono::steady_clock::now();
    ra::aggregate(g, rule, out, ws);
    benchmark::DoNotOptimize(out.data());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double best_normal = 1e300, best_hostile = 1e300;
  std::vector<double> ratios;
  bool hostile_first = false;
  for (auto _ : state) {
    double tn, th;
    if (hostile_first) {
      th = timed(hostile);
      tn = timed(normal);
    } else {
      tn = timed(normal);
      th = timed(hostile);
    }
    hostile_first = !hostile_first;
    best_normal = std::min(best_normal, tn);
    best_hostile = std::min(best_hostile, th);
    ratios.push_back(th / tn);
    state.SetIterationTime(th);
  }
  // The median of the per-iteration ratios: each pair ran back to back, so
  // a burst of load from elsewhere hits both sides of most ratios.
  std::sort(ratios.begin(), ratios.end());
  const std::size_t k = ratios.size();
  const double median = k == 0 ? 0.0 : k % 2 ? ratios[k / 2] : 0.5 * (ratios[k / 2 - 1] + ratios[k / 2]);
  state.counters["slowdown"] = benchmark::Counter(median);
  state.counters["slowdown_min"] = benchmark::Counter(best_hostile / best_normal);
  state.counters["normal_ms"] = benchmark::Counter(best_normal * 1e3);
  state.counters["hostile_ms"] = benchmark::Counter(best_hostile * 1e3);
  state.SetLabel(rule.spec());
}

void register_all() {
  const char* specs[] = {"mean", "median", "trimmed-mean(f=3)", "krum(f=3)", "multi-krum(f=3)",
                         "bulyan(f=3)", "sign-vote", "noisy-median(b=0.1, seed=1)",
                         "noisy-sign-vote(b=0.1, seed=1)",
                         // the rules after 2020
                         "geometric-median(iterations=8, tolerance=0)",
                         "centered-clipping(tau=1, iterations=3)", "meamed(f=3)", "mda(f=3)",
                         "monna(f=3)", "caf(f=3)", "smea(f=2)"};
  const Kind kinds[] = {Kind::Denormal, Kind::NanPayload, Kind::Inf, Kind::Mixed,
                        Kind::EqualRows, Kind::Ties};
  // Kind outermost: one hostile matrix per type is kept at a time.
  for (Kind kind : kinds)
    for (const char* spec : specs) {
      const ra::AnyRule rule = ra::parse_rule(spec);
      const std::string name = rule.spec().substr(0, rule.spec().find('('));
      benchmark::RegisterBenchmark(
          ("BM_Hostile/" + name + "/float/" + kind_name(kind)).c_str(),
          [rule, kind](benchmark::State& s) { hostile_benchmark<float>(s, rule, kind); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
      benchmark::RegisterBenchmark(
          ("BM_Hostile/" + name + "/double/" + kind_name(kind)).c_str(),
          [rule, kind](benchmark::State& s) { hostile_benchmark<double>(s, rule, kind); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
