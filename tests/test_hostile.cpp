// Hostile inputs: extreme magnitudes, non-finite rows, denormals, and the
// promise that no rule ever writes to its input. Expected values are worked
// out by hand from docs/rules.md and docs/security.md (arithmetic in the comments).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <robustagg/robustagg.hpp>

namespace {

using robustagg::AnyRule;
using robustagg::GradientMatrix;
using robustagg::Index;
using robustagg::RowsView;
using robustagg::Vector;

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Every rule of the catalog with parameters that suit n = 11 (f = 2 makes
/// Bulyan's 4f+3 = 11). Rules added to the catalog later are listed by the
/// test below until they get an entry here.
const std::vector<std::string>& hostile_specs() {
  static const std::vector<std::string> specs = {
      "mean",          "median",       "trimmed-mean(f=2)",         "trimmed-mean(f=5)",
      "krum(f=2)",     "krum(f=4)",    "multi-krum(f=2)",           "multi-krum(f=2, m=3)",
      "multi-krum(f=2, m=11)",         "bulyan(f=2)",               "bulyan(f=0)",
      "sign-vote",     "noisy-median(b=0.5, seed=3)",               "noisy-median(b=0)",
      "noisy-sign-vote(b=0.5, seed=3)", "noisy-sign-vote(b=1e30, seed=1)",
      "detox(r=1, buckets=3, inner=mean, outer=median)",
      "detox(r=1, buckets=0, outer=bulyan(f=2))",
      "clip(c=1, then=median)",        "nnm(f=2, then=trimmed-mean(f=2))",
      "arc(f=2, then=krum(f=2))",      "bucketing(s=2, seed=3, then=median)",
      "clip(c=1e30, then=arc(f=5, then=nnm(f=5, then=krum(f=1))))",
      // the rules after 2020
      "geometric-median", "centered-clipping(tau=1, iterations=2)", "meamed(f=2)", "mda(f=2)",
      "monna(f=2, trusted=1)", "caf(f=2)", "smea(f=2)", "cge(f=2)"};
  return specs;
}

/// n x d with every kind of hostile value in it: NaN payloads (quiet and
/// signalling, both signs), +-Inf, denormals, +-max, -0, and normal values.
template <class T>
GradientMatrix<T> hostile_matrix(Index n, Index d, std::uint64_t seed) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr int kMant = std::numeric_limits<T>::digits - 1;
  const Bits exp_all = ((Bits(1) << (sizeof(T) * 8 - 1 - kMant)) - 1) << kMant;
  auto from_bits = [](Bits b) {
    T x;
    std::memcpy(&x, &b, sizeof x);
    return x;
  };
  std::uint64_t s = seed;
  auto next = [&s] {
    s += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) {
      const std::uint64_t r = next();
      const Bits payload = Bits(r >> 20) & ((Bits(1) << kMant) - 1);
      const Bits sign = (r & 1) ? Bits(1) << (sizeof(T) * 8 - 1) : 0;
      switch (r % 9) {
        case 0: g(i, j) = from_bits(sign | exp_all | payload | 1); break;  // NaN, payload
        case 1: g(i, j) = from_bits(sign | exp_all); break;                // +-Inf
        case 2: g(i, j) = from_bits(sign | (payload | 1)); break;         // denormal
        case 3: g(i, j) = (r & 2) ? std::numeric_limits<T>::max()
                                  : std::numeric_limits<T>::lowest(); break;
        case 4: g(i, j) = from_bits(sign); break;  // +-0
        default: g(i, j) = T(double(std::int64_t(r >> 40) - (1 << 23)) / 1024.0); break;
      }
    }
  return g;
}

/// DETOX may legitimately refuse after its vote (a robustagg::Error naming the
/// dropped groups): hostile rows with NaN do not vote. Any other rule must
/// run; nothing but robustagg::Error may ever escape.
template <class Fn>
void run_rule(const std::string& spec, Fn&& fn) {
  if (spec.compare(0, 5, "detox") != 0) return fn();
  try {
    fn();
  } catch (const robustagg::Error&) {
  }
}

}  // namespace

TEST_CASE("every catalog rule is covered by the hostile-input tests", "[hostile]") {
  std::vector<std::string> missing;
  for (const auto& info : robustagg::rule_catalog()) {
    bool found = false;
    for (const auto& s : hostile_specs())
      found = found || s.compare(0, info.name.size(), info.name) == 0;
    if (!found) missing.push_back(info.name);
  }
  for (const auto& m : missing) WARN("rule '" << m << "' has no entry in hostile_specs()");
  // The core rules of docs/rules.md must all be there.
  for (const char* core : {"mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan",
                           "sign-vote", "noisy-median", "noisy-sign-vote", "detox"}) {
    INFO(core);
    CHECK(std::find(missing.begin(), missing.end(), std::string(core)) == missing.end());
  }
}

TEMPLATE_TEST_CASE("no rule modifies its input, hostile values included", "[hostile]", float,
                   double) {
  using T = TestType;
  const Index n = 11, d = 300;  // d crosses the 256-coordinate tile
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const GradientMatrix<T> source = hostile_matrix<T>(n, d, seed);
    for (const std::string& spec : hostile_specs()) {
      INFO(spec << " seed " << seed);
      const AnyRule rule = robustagg::parse_rule(spec);
      robustagg::Workspace ws;

      // 1. A strided view with padding after each row: rows and padding
      //    must come back byte for byte.
      const Index stride = d + 5;
      std::vector<T> padded(std::size_t(n * stride));
      for (std::size_t k = 0; k < padded.size(); ++k) padded[k] = T(-7.25) * T(k % 13);
      for (Index i = 0; i < n; ++i)
        std::memcpy(&padded[std::size_t(i * stride)], source.row(i).data(), sizeof(T) * d);
      const std::vector<T> before = padded;
      std::vector<T> out(static_cast<std::size_t>(d));
      run_rule(spec, [&] {
        robustagg::aggregate(RowsView<T>::strided(padded.data(), n, d, stride), rule, out.data(),
                             ws);
      });
      CHECK(std::memcmp(before.data(), padded.data(), sizeof(T) * before.size()) == 0);

      // 2. Separate row buffers (the MPI form).
      std::vector<std::vector<T>> rows(static_cast<std::size_t>(n));
      std::vector<const T*> ptrs(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) {
        rows[std::size_t(i)].assign(source.row(i).data(), source.row(i).data() + d);
        ptrs[std::size_t(i)] = rows[std::size_t(i)].data();
      }
      run_rule(spec, [&] { robustagg::aggregate(ptrs.data(), n, d, rule, out.data(), ws); });
      for (Index i = 0; i < n; ++i)
        CHECK(std::memcmp(rows[std::size_t(i)].data(), source.row(i).data(), sizeof(T) * d) == 0);

      // 3. An Eigen matrix through the value form.
      GradientMatrix<T> m = source;
      Index size = d;  // CHECK outside: Catch would swallow DETOX's Error
      run_rule(spec, [&] { size = robustagg::aggregate(m, rule).size(); });
      CHECK(size == d);
      CHECK(std::memcmp(m.data(), source.data(), sizeof(T) * n * d) == 0);
    }
  }
}

TEMPLATE_TEST_CASE("all-NaN and all-Inf inputs do not crash any rule", "[hostile]", float,
                   double) {
  using T = TestType;
  const Index n = 11, d = 37;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  for (T fill : {nan, -nan, inf, -inf}) {
    GradientMatrix<T> g = GradientMatrix<T>::Constant(n, d, fill);
    for (const std::string& spec : hostile_specs()) {
      INFO(spec << " fill " << fill);
      Vector<T> out;
      const std::string name = spec.substr(0, spec.find('('));
      if (name == "detox") {
        run_rule(spec, [&] { out = robustagg::aggregate(g, robustagg::parse_rule(spec)); });
        continue;
      }
      REQUIRE_NOTHROW(out = robustagg::aggregate(g, robustagg::parse_rule(spec)));
      REQUIRE(out.size() == d);
      if (name == "sign-vote" || (name == "noisy-sign-vote" && !std::isnan(fill))) {
        // sign of n equal signs; NaN abstains, so an all-NaN vote is 0.
        // (noisy: Inf + finite noise keeps its sign.)
        const T want = std::isnan(fill) ? T(0) : (fill > 0 ? T(1) : T(-1));
        for (Index j = 0; j < d; ++j) CHECK(out[j] == want);
      } else if (name == "krum") {
        // every distance is +Inf, all scores tie, the lowest index wins: row 0.
        for (Index j = 0; j < d; ++j) CHECK(same_bits(out[j], fill));
      } else if (name == "median" || name == "trimmed-mean" || name == "bulyan") {
        // All values equal: the median is the value; the mean of equal
        // infinities is that infinity; NaN stays NaN.
        for (Index j = 0; j < d; ++j) {
          if (std::isnan(fill))
            CHECK(std::isnan(out[j]));
          else
            CHECK(out[j] == fill);
        }
      }
    }
  }
  // A single NaN row among finite ones under sign-vote: the NaN abstains.
  GradientMatrix<T> g(3, 2);
  g << nan, -nan, 1, -1, 1, -1;  // votes: col 0 +2 -> +1; col 1 -2 -> -1
  const Vector<T> s = robustagg::aggregate(g, robustagg::SignVote{});
  CHECK(s[0] == T(1));
  CHECK(s[1] == T(-1));
}

// The distance test of issue 5: honest rows ~1e19 apart (squared ~1e38,
// beyond float range once summed over a tile), an attacker at 1e38 (squared
// 1e76). Row 0 is the attacker, so an overflow to +Inf that made all scores
// tie would hand the win to it.
TEMPLATE_TEST_CASE("Krum, Multi-Krum and Bulyan pick honest rows 1e19 apart over a 1e38 attacker",
                   "[hostile][extreme]", float, double) {
  using T = TestType;
  const Index n = 7, d = 5000;  // d crosses the 2048-coordinate distance tile
  const int f = 1;
  // u = 2^63 ~ 9.2e18: s * u is exact in float and double, so squared
  // differences (ds)^2 * 2^126 and their sums over d are exact in double and
  // ties are exact.
  const T u = T(std::ldexp(1.0, 63));
  const int s[7] = {-1, 0, 1, 2, 3, 4, 6};  // row 0 (-1) is replaced by the attacker
  GradientMatrix<T> g(n, d);
  for (Index i = 1; i < n; ++i) g.row(i).setConstant(T(s[i]) * u);
  g.row(0).setConstant(T(1e38));
  for (Index j = 0; j < d; j += 2) g(0, j) = T(-1e38);  // alternate signs: bigger distances

  SECTION("krum(f=1)") {
    // n-f-2 = 4 neighbours; scores in units of d * u^2 over honest values
    // {0,1,2,3,4,6}: s=2: 1+1+4+4 = 10; s=1: 1+1+4+9 = 15; s=3: 1+1+4+9 = 15;
    // s=0: 1+4+9+16 = 30; s=4: 1+4+4+9 = 18; s=6: 4+9+16+25 = 54; the attacker
    // ~ d * 1e76. Winner: s = 2, row 3.
    const Vector<T> k = robustagg::aggregate(g, robustagg::Krum{f});
    for (Index j = 0; j < d; ++j) REQUIRE(same_bits(k[j], T(2) * u));
  }
  SECTION("multi-krum(f=1), m = n - f = 6") {
    // The six lowest scores are the six honest rows: mean (0+1+2+3+4+6)/6 u
    // = 16/6 u.
    const Vector<T> k = robustagg::aggregate(g, robustagg::MultiKrum{f, 0});
    const T want = T(16.0 / 6.0 * double(u));
    for (Index j = 0; j < d; ++j) REQUIRE(k[j] == want);
  }
  SECTION("bulyan(f=1)") {
    // theta = 5 picks by repeated Krum (neighbours max(1, n'-3)):
    //  n'=7, 4 nb: s=2 (10).  n'=6, 3 nb, left {0,1,3,4,6,A}: s=1: 1+4+9 = 14,
    //  s=3: 1+4+9 = 14, s=4: 1+4+9 = 14 -> lowest index, s=1.
    //  n'=5, 2 nb, left {0,3,4,6,A}: s=4: 1+4 = 5 (s=3: 10, s=6: 13, s=0: 25).
    //  n'=4, 1 nb, left {0,3,6,A}: s=0: 9, s=3: 9, s=6: 9 -> s=0.
    //  n'=3, 1 nb, left {3,6,A}: s=3: 9, s=6: 9 -> s=3.
    // picked {0,1,2,3,4}; beta = theta - 2f = 3 closest to the median 2:
    // {1,2,3}, mean 2u.
    const Vector<T> k = robustagg::aggregate(g, robustagg::Bulyan{f});
    for (Index j = 0; j < d; ++j) REQUIRE(k[j] == T(2) * u);
  }
}

TEMPLATE_TEST_CASE("values near the float maximum do not overflow into wrong choices",
                   "[hostile][extreme]", float, double) {
  using T = TestType;
  const T big = T(std::numeric_limits<float>::max());
  const T inf = std::numeric_limits<T>::infinity();
  // Honest rows spread across the whole float range: their squared
  // distances (~1e77) only fit in double accumulation. Row 0 is a NaN row,
  // row 1 an Inf row (hostile, f = 2 <= (n-3)/2 with n = 9).
  const Index n = 9, d = 3000;
  const double w[7] = {-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0};
  GradientMatrix<T> g(n, d);
  g.row(0).setConstant(std::numeric_limits<T>::quiet_NaN());
  g.row(1).setConstant(inf);
  g(1, 7) = T(1);
  for (Index i = 2; i < n; ++i) g.row(i).setConstant(T(w[i - 2]) * big);
  SECTION("krum(f=2)") {
    // n-f-2 = 5 neighbours among the honest offsets w (units of big; the
    // hostile rows are at +Inf): squared gaps from .25: .0625 (0), .0625 (.5),
    // .25 (.75), .5625 (1), .5625 (-.5) -> 1.5; from .5: .0625 (.25), .0625
    // (.75), .25 (0), .25 (1), 1 (-.5) -> 1.625;
    // from 0: .0625+.25+.25+.5625+1 = 2.125; others larger. Winner: w = .25.
    const Vector<T> k = robustagg::aggregate(g, robustagg::Krum{2});
    for (Index j = 0; j < d; ++j) REQUIRE(same_bits(k[j], T(0.25) * big));
  }
  SECTION("multi-krum(f=2, m=5)") {
    // Scores (units big^2): .25: 1.5; .5: 1.625; 0: 2.125; .75: .0625+.0625
    // +.25+.5625+1.5625 = 2.5; -.5: .25+.5625+1+1.5625+.25 = 3.625; 1: 4.125;
    // -1: 8.125. Lowest five: .25, .5, 0, .75, -.5; their sum (exact in
    // double) is 1 big, mean big / 5.
    const Vector<T> k = robustagg::aggregate(g, robustagg::MultiKrum{2, 5});
    for (Index j = 0; j < d; ++j) REQUIRE(k[j] == T(double(big) / 5.0));
  }
  SECTION("median and trimmed mean of huge values") {
    // Column values (units big): NaN, Inf, -1, -.5, 0, .25, .5, .75, 1.
    // Median (n = 9, the 5th by total order; NaN is the largest):
    // -1 -.5 0 .25 [.5] .75 1 Inf NaN -> .5 big.
    const Vector<T> m = robustagg::aggregate(g, robustagg::Median{});
    REQUIRE(m[0] == T(0.5) * big);
    // trimmed-mean(f=2): drop -1, -.5 and Inf, NaN: mean(0, .25, .5, .75, 1)
    // = 2.5 big / 5 = .5 big (the double sum 2.5 big is exact).
    const Vector<T> t = robustagg::aggregate(g, robustagg::TrimmedMean{2});
    REQUIRE(t[0] == T(0.5) * big);
  }
  SECTION("even-n median of two maxima does not overflow") {
    GradientMatrix<T> h(2, 1);
    h << std::numeric_limits<T>::max(), std::numeric_limits<T>::max();
    // (max + max) / 2 overflows; the median is max.
    CHECK(robustagg::aggregate(h, robustagg::Median{})[0] == std::numeric_limits<T>::max());
    h << std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest();
    CHECK(robustagg::aggregate(h, robustagg::Median{})[0] == T(0));
  }
}

TEMPLATE_TEST_CASE("the even-n median of denormals is their mean, not 0", "[hostile][denormal]",
                   float, double) {
  using T = TestType;
  const T tiny = std::numeric_limits<T>::denorm_min();
  GradientMatrix<T> g(2, 3);
  // col 0: {tiny, tiny} -> tiny (the mean of two equal values);
  // col 1: {2 tiny, 4 tiny} -> 3 tiny (exact: a multiple of denorm_min);
  // col 2: {-tiny, 3 tiny} -> tiny.
  g << tiny, T(2) * tiny, -tiny, tiny, T(4) * tiny, T(3) * tiny;
  const Vector<T> m = robustagg::aggregate(g, robustagg::Median{});
  CHECK(m[0] == tiny);
  CHECK(m[1] == T(3) * tiny);
  CHECK(m[2] == tiny);
}

TEMPLATE_TEST_CASE("with at most f non-finite rows the robust rules stay in the honest range",
                   "[hostile]", float, double) {
  using T = TestType;
  const Index n = 11, d = 300;
  const int f = 2;
  GradientMatrix<T> g = hostile_matrix<T>(n, d, 42);
  // Rows 2..10 honest: values k/8 for small integers k; rows 0 and 1 stay hostile
  // but every hostile row gets at least one NaN so it is non-finite.
  for (Index i = 2; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T(double((i * 7 + j * 3) % 17) / 8.0 - 1.0);
  g(0, 5) = std::numeric_limits<T>::quiet_NaN();
  g(1, 9) = -std::numeric_limits<T>::infinity();
  for (const char* spec :
       {"median", "trimmed-mean(f=2)", "krum(f=2)", "multi-krum(f=2)", "bulyan(f=2)", "cge(f=2)"}) {
    INFO(spec);
    const Vector<T> out = robustagg::aggregate(g, robustagg::parse_rule(spec));
    for (Index j = 0; j < d; ++j) {
      const T lo = g.col(j).tail(n - f).minCoeff();
      const T hi = g.col(j).tail(n - f).maxCoeff();
      INFO("coordinate " << j);
      REQUIRE(std::isfinite(out[j]));
      REQUIRE(out[j] >= lo);
      REQUIRE(out[j] <= hi);
    }
  }
}
