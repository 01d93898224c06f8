// DETOX: the vote and bucket stages, the composer, validation messages, the
// report, spec strings, and agreement with a reference built from the
// definitions (docs/detox.md).
#include <catch2/catch.hpp>

#include "archs.hpp"
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

using robustagg::AnyRule;
using robustagg::Detox;
using robustagg::Error;
using robustagg::GradientMatrix;
using robustagg::Index;
using robustagg::Vector;

namespace {

/// p = groups * r rows; group k's honest value is row k of `values`.
template <class T>
GradientMatrix<T> replicated(const GradientMatrix<T>& values, int r) {
  GradientMatrix<T> g(values.rows() * r, values.cols());
  for (Index i = 0; i < g.rows(); ++i) g.row(i) = values.row(i / r);
  return g;
}

template <class T>
GradientMatrix<T> random_rows(Index n, Index d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> N(0.0, 1.0);
  GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T(N(rng));
  return g;
}

template <class T>
bool bitwise_equal(const T* a, const T* b, Index d) {
  return std::memcmp(a, b, std::size_t(d) * sizeof(T)) == 0;
}

// ---- The reference: docs/detox.md with plain loops. -------------

/// Relative L-infinity agreement as documented in detox.hpp.
template <class T>
bool ref_agree(const T* x, const T* y, Index d, double tol) {
  bool nan = false;
  for (Index j = 0; j < d; ++j) nan = nan || std::isnan(x[j]) || std::isnan(y[j]);
  if (nan) return false;
  if (bitwise_equal(x, y, d)) return true;
  if (tol <= 0) return false;
  double diff = 0, scale = 1;
  for (Index j = 0; j < d; ++j) {
    if (!std::isfinite(x[j]) || !std::isfinite(y[j])) return false;
    diff = std::max(diff, std::fabs(double(x[j]) - double(y[j])));
    scale = std::max({scale, std::fabs(double(x[j])), std::fabs(double(y[j]))});
  }
  return diff <= tol * scale;
}

/// Vote: for each group, the first member agreeing with >= floor(r/2)+1
/// members (itself included; a NaN row agrees with nothing). Returns the
/// winners (copied) and the dropped groups.
template <class T>
GradientMatrix<T> ref_vote(const GradientMatrix<T>& g, int r, double tol,
                           std::vector<Index>& dropped) {
  const Index d = g.cols();
  std::vector<Index> win;
  for (Index k = 0; k < g.rows() / r; ++k) {
    Index winner = -1;
    for (Index a = 0; a < r && winner < 0; ++a) {
      int count = 0;
      for (Index b = 0; b < r; ++b) {
        const T* x = g.row(k * r + a).data();
        const T* y = g.row(k * r + b).data();
        if (ref_agree(x, y, d, tol)) ++count;
      }
      if (count >= r / 2 + 1) winner = k * r + a;
    }
    if (winner >= 0)
      win.push_back(winner);
    else
      dropped.push_back(k);
  }
  GradientMatrix<T> w(Index(win.size()), d);
  for (std::size_t i = 0; i < win.size(); ++i) w.row(Index(i)) = g.row(win[i]);
  return w;
}

/// The whole of DETOX without shuffling: vote, k contiguous buckets (first
/// n mod k one larger) with `inner`, then `outer`, each through aggregate().
template <class T>
Vector<T> ref_detox(const GradientMatrix<T>& g, int r, int buckets, const AnyRule& inner,
                    const AnyRule& outer, double tol) {
  std::vector<Index> dropped;
  const GradientMatrix<T> w = ref_vote(g, r, tol, dropped);
  if (buckets == 0) return robustagg::aggregate(w, outer);
  const Index n = w.rows(), k = buckets;
  GradientMatrix<T> means(k, g.cols());
  Index start = 0;
  for (Index b = 0; b < k; ++b) {
    const Index size = n / k + (b < n % k ? 1 : 0);
    const GradientMatrix<T> bucket = w.middleRows(start, size);
    means.row(b) = robustagg::aggregate(bucket, inner).transpose();
    start += size;
  }
  return robustagg::aggregate(means, outer);
}

template <class T>
void require_same(const Vector<T>& a, const Vector<T>& b) {
  REQUIRE(a.size() == b.size());
  for (Index j = 0; j < a.size(); ++j) {
    INFO("coordinate " << j << ": " << a[j] << " vs " << b[j]);
    REQUIRE((a[j] == b[j] || (std::isnan(a[j]) && std::isnan(b[j]))));
  }
}

}  // namespace

TEST_CASE("effective_f = floor(q / ceil(r/2))", "[detox]") {
  CHECK(robustagg::detox::effective_f(3, 3) == 1);  // 3 / 2
  CHECK(robustagg::detox::effective_f(5, 3) == 2);  // 5 / 2
  CHECK(robustagg::detox::effective_f(4, 5) == 1);  // 4 / 3
  CHECK(robustagg::detox::effective_f(2, 1) == 2);  // 2 / 1
  CHECK(robustagg::detox::effective_f(0, 3) == 0);
  CHECK(robustagg::detox::effective_f(6, 5) == 2);  // 6 / 3
  CHECK_THROWS_AS(robustagg::detox::effective_f(-1, 3), Error);
}

TEMPLATE_TEST_CASE("vote on hand-built groups", "[detox]", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // Five groups of r = 3, d = 2. Honest values of group k: (k+1, -(k+1)).
  GradientMatrix<T> honest(5, 2);
  for (Index k = 0; k < 5; ++k) honest.row(k) << T(k + 1), T(-(k + 1));
  GradientMatrix<T> g = replicated(honest, 3);
  robustagg::Workspace ws;
  Vector<T> out;

  SECTION("lone attackers are outvoted") {
    g.row(1) << 1e6, 1e6;  // group 0, one attacker
    g.row(5) << nan, 1;    // group 1
    g.row(9) << -7, 7;     // group 3
    // outer = mean of the 5 winners: (1+2+3+4+5)/5 = 3 and -3.
    robustagg::aggregate(g, Detox{3, 0, robustagg::Mean{}, robustagg::Mean{}}, out, ws);
    CHECK(out[0] == T(3));
    CHECK(out[1] == T(-3));
    REQUIRE(ws.report().size() == 1);
    CHECK(ws.report()[0].rows_in == 15);
    CHECK(ws.report()[0].rows_out == 5);
    CHECK(ws.report()[0].dropped.empty());
  }
  SECTION("two colluders capture one vote") {
    g.row(6) << 100, 100;  // group 2: rows 6 and 7 collude
    g.row(7) << 100, 100;
    // winners: (1,-1) (2,-2) (100,100) (4,-4) (5,-5); mean = (112/5, 88/5).
    robustagg::aggregate(g, Detox{3, 0, robustagg::Mean{}, robustagg::Mean{}}, out, ws);
    CHECK(out[0] == Approx(112.0 / 5));
    CHECK(out[1] == Approx(88.0 / 5));
    // The median of the winners ignores the captured vote: (4, -2)?
    // column 0 sorted: 1 2 4 5 100 -> 4; column 1: -5 -4 -2 -1 100 -> -2.
    robustagg::aggregate(g, Detox{3, 0, robustagg::Mean{}, robustagg::Median{}}, out, ws);
    CHECK(out[0] == T(4));
    CHECK(out[1] == T(-2));
  }
  SECTION("three different values: the group is dropped and reported") {
    g.row(3) << 9, 9;  // group 1: rows 3, 4, 5 all differ
    g.row(4) << 8, 8;
    g.row(12) << nan, nan;  // group 4: two NaN replicas never win
    g.row(13) << nan, nan;
    robustagg::aggregate(g, Detox{3, 0, robustagg::Mean{}, robustagg::Mean{}}, out, ws);
    // winners: groups 0, 2, 3: mean (1+3+4)/3 = 8/3.
    CHECK(out[0] == Approx(8.0 / 3));
    REQUIRE(ws.report().size() == 1);
    const robustagg::StageReport& rep = ws.report()[0];
    CHECK(rep.stage == "vote(r=3)");
    CHECK(rep.rows_out == 3);
    CHECK(rep.dropped == std::vector<Index>{1, 4});
    CHECK(rep.detail == "2 of 5 groups without a majority dropped (groups 1, 4)");
  }
  SECTION("the winner is the first member of the majority, not a copy") {
    const T* base = g.data();
    const auto view = robustagg::RowsView<T>::strided(base, 15, 2, 2);
    g.row(0) << 50, 50;  // group 0: rows 1 and 2 win
    std::vector<robustagg::StageReport> rep;
    const auto w = robustagg::MajorityVote{3, 0.0}.apply(view, ws, rep);
    REQUIRE(w.rows() == 5);
    CHECK(w.row(0) == base + 1 * 2);  // a pointer to input row 1
    CHECK(w.row(1) == base + 3 * 2);
  }
}

TEST_CASE("tolerance voting", "[detox]") {
  // Replicas from non-deterministic hardware differ in the last bits.
  GradientMatrix<double> g(3, 3);
  g << 100, 2, -3,                      //
      100 * (1 + 1e-9), 2, -3,          // differs by 1e-7 absolute
      100, 2 + 5e-8, -3 - 5e-8;         //
  std::vector<robustagg::StageReport> rep;
  robustagg::Workspace ws;
  const auto v = robustagg::RowsView<double>::strided(g.data(), 3, 3, 3);
  // Bitwise: all three differ, dropped.
  CHECK(robustagg::MajorityVote{3, 0.0}.apply(v, ws, rep).rows() == 0);
  // Relative tolerance 1e-9: row 0 vs 1: |diff| 1e-7 <= 1e-9 * max(1, 100) = 1e-7, agree;
  // row 0 vs 2: 5e-8 <= 1e-7, agree. Row 0 wins.
  const auto w = robustagg::MajorityVote{3, 1e-9}.apply(v, ws, rep);
  REQUIRE(w.rows() == 1);
  CHECK(w.row(0) == g.data());
  // 1e-10: rows 0 and 1 disagree (1e-7 > 1e-8), rows 0 and 2 disagree
  // (5e-8 > 1e-8), rows 1 and 2 too: dropped.
  CHECK(robustagg::MajorityVote{3, 1e-10}.apply(v, ws, rep).rows() == 0);
  // Small values: the scale is at least 1 (absolute tolerance near zero).
  GradientMatrix<double> s(3, 1);
  s << 1e-12, 2e-12, 5;
  const auto sv = robustagg::RowsView<double>::strided(s.data(), 3, 1, 1);
  CHECK(robustagg::MajorityVote{3, 1e-11}.apply(sv, ws, rep).rows() == 1);
  // Non-finite rows agree only bitwise: two +Inf replicas win, two NaN do not.
  const double inf = std::numeric_limits<double>::infinity();
  s << inf, inf, 1;
  CHECK(robustagg::MajorityVote{3, 0.5}.apply(sv, ws, rep).rows() == 1);
  s << std::nan(""), std::nan(""), 1;
  CHECK(robustagg::MajorityVote{3, 0.5}.apply(sv, ws, rep).rows() == 0);
  // The detox spec carries the tolerance.
  CHECK(robustagg::parse_rule("detox(r=3, tolerance=1e-6)").spec() ==
        "detox(r=3, buckets=0, inner=mean, outer=median, tolerance=1e-06)");
}

TEST_CASE("bucket sizes: contiguous, differ by at most one, first ones larger", "[detox]") {
  using B = robustagg::Buckets;
  // 7 rows in 3 buckets: 3, 2, 2 starting at 0, 3, 5.
  CHECK(B::bucket_size(7, 3, 0) == 3);
  CHECK(B::bucket_size(7, 3, 1) == 2);
  CHECK(B::bucket_size(7, 3, 2) == 2);
  CHECK(B::bucket_begin(7, 3, 1) == 3);
  CHECK(B::bucket_begin(7, 3, 2) == 5);
  for (Index n = 1; n <= 40; ++n)
    for (Index k = 1; k <= n; ++k) {
      Index total = 0;
      for (Index b = 0; b < k; ++b) {
        const Index s = B::bucket_size(n, k, b);
        CHECK((s == n / k || s == n / k + 1));
        if (b > 0) CHECK(s <= B::bucket_size(n, k, b - 1));
        CHECK(B::bucket_begin(n, k, b) == total);
        total += s;
      }
      CHECK(total == n);
    }

  // 5 rows 1..5 in 2 buckets with mean: (1+2+3)/3 = 2 and (4+5)/2 = 4.5.
  GradientMatrix<double> g(5, 1);
  g << 1, 2, 3, 4, 5;
  robustagg::Workspace ws;
  std::vector<robustagg::StageReport> rep;
  const auto v = robustagg::RowsView<double>::strided(g.data(), 5, 1, 1);
  const auto out = B{2, robustagg::Mean{}, {}}.apply(v, ws, rep);
  REQUIRE(out.rows() == 2);
  CHECK(out(0, 0) == 2.0);
  CHECK(out(1, 0) == 4.5);
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].stage == "buckets(k=2)");

  // A seeded shuffle permutes the rows: with one row per bucket and the mean
  // inside, the bucket vectors are the rows in some order, each exactly once.
  const auto shuffled = B{5, robustagg::Mean{}, 7}.apply(v, ws, rep);
  std::vector<double> seen;
  for (Index b = 0; b < 5; ++b) seen.push_back(shuffled(b, 0));
  const std::vector<double> again = {shuffled(0, 0), shuffled(1, 0), shuffled(2, 0),
                                     shuffled(3, 0), shuffled(4, 0)};
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<double>{1, 2, 3, 4, 5});
  const auto repeat = B{5, robustagg::Mean{}, 7}.apply(v, ws, rep);  // same seed, same order
  for (Index b = 0; b < 5; ++b) CHECK(repeat(b, 0) == again[std::size_t(b)]);
  bool moved = false;  // some seed among the first ten moves some row
  for (std::uint64_t s = 0; s < 10 && !moved; ++s) {
    const auto o = B{5, robustagg::Mean{}, s}.apply(v, ws, rep);
    for (Index b = 0; b < 5; ++b) moved = moved || o(b, 0) != double(b + 1);
  }
  CHECK(moved);
}

TEST_CASE("detox validation messages", "[detox]") {
  GradientMatrix<float> g15 = GradientMatrix<float>::Zero(15, 4);
  GradientMatrix<float> g16 = GradientMatrix<float>::Zero(16, 4);
  auto run = [](const GradientMatrix<float>& g, const std::string& spec) {
    robustagg::aggregate(g, robustagg::parse_rule(spec));
  };
  CHECK_THROWS_WITH(run(g15, "detox(r=2)"), Catch::Contains("r must be odd and >= 1, got r = 2"));
  CHECK_THROWS_WITH(run(g15, "detox(r=0)"), Catch::Contains("r must be odd and >= 1, got r = 0"));
  CHECK_THROWS_WITH(
      run(g16, "detox(r=3, buckets=5, inner=mean, outer=median)"),
      Catch::Equals("detox(r=3, buckets=5, inner=mean, outer=median) needs the number of "
                    "gradients to be a multiple of r = 3, got 16"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, buckets=6, outer=median)"),
                    Catch::Contains("buckets = 6 is more than the 5 groups (15 gradients / r = 3)"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, outer=bulyan(f=1))"),
                    Catch::Contains("with all 5 groups winning, the outer rule gets 5 vectors, and "
                                    "bulyan(f=1) needs n >= 4f+3 = 7 gradients, got 5"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, buckets=2, inner=multi-krum(f=1), outer=mean)"),
                    Catch::Contains("the smallest of 2 buckets holds 2 vectors, and multi-krum(f=1, "
                                    "m=0) needs n >= 2f+3 = 5 gradients, got 2"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, tolerance=-1)"), Catch::Contains("tolerance"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, colour=1)"), Catch::Contains("detox has no parameter 'colour'"));
  CHECK_THROWS_WITH(run(g15, "detox(outer=mean)"), Catch::Contains("needs parameter 'r'"));
  CHECK_THROWS_WITH(run(g15, "detox(r=3, outer=5)"), Catch::Contains("outer must be a rule spec"));
  CHECK_THROWS_WITH(robustagg::aggregate(g15, Detox{3, 0, robustagg::Mean{}, AnyRule{}}),
                    Catch::Contains("the outer rule is empty"));
  CHECK_THROWS_WITH(robustagg::aggregate(GradientMatrix<float>(0, 4), Detox{}),
                    Catch::Contains("needs at least one group"));
  Detox neg;
  neg.buckets = -1;
  CHECK_THROWS_WITH(robustagg::aggregate(g15, neg), Catch::Contains("buckets must be >= 0"));
  CHECK(Detox{3, 0, robustagg::Mean{}, robustagg::Bulyan{1}}.min_rows() == 21);  // 3 * 7
  CHECK(Detox{3, 2, robustagg::MultiKrum{1}, robustagg::Mean{}}.min_rows() == 30);  // 3 * 2 * 5

  SECTION("after the vote: how many groups were dropped") {
    // 21 rows, 7 groups: bulyan(f=1) needs 7 winners; group 2 has no majority.
    GradientMatrix<float> g = random_rows<float>(7, 4, 3);
    GradientMatrix<float> p = replicated(g, 3);
    p.row(7).setConstant(5);
    p.row(8).setConstant(6);
    CHECK_THROWS_WITH(robustagg::aggregate(p, robustagg::parse_rule("detox(r=3, outer=bulyan(f=1))")),
                      Catch::Equals("detox(r=3, buckets=0, inner=mean, outer=bulyan(f=1)): after "
                                    "the vote 6 of 7 groups remain (1 dropped: group 2); "
                                    "bulyan(f=1) needs n >= 4f+3 = 7 gradients, got 6"));
    // Buckets: 7 buckets need 7 winners.
    CHECK_THROWS_WITH(robustagg::aggregate(p, robustagg::parse_rule("detox(r=3, buckets=7)")),
                      Catch::Contains("after the vote 6 of 7 groups remain (1 dropped: group 2); "
                                      "7 buckets need at least 7 vectors"));
    // Inner rule on too small buckets after drops: 8 groups in 2 buckets of
    // 4 pass validate; with group 2 dropped the smallest of 7 / 2 holds 3.
    GradientMatrix<float> q = replicated(random_rows<float>(8, 4, 5), 3);
    q.row(7).setConstant(5);
    q.row(8).setConstant(6);
    CHECK_THROWS_WITH(
        robustagg::aggregate(
            q, robustagg::parse_rule("detox(r=3, buckets=2, inner=multi-krum(f=0, m=4))")),
        Catch::Contains("after the vote 7 of 8 groups remain (1 dropped: group 2); the smallest "
                        "bucket holds 3 and multi-krum(f=0, m=4) needs"));
  }
}

TEST_CASE("detox spec strings round-trip", "[detox]") {
  for (const char* s : {"detox(r=3, buckets=5, inner=mean, outer=median)",
                        "detox(r=3, outer=bulyan(f=1))",
                        "detox(r=3, buckets=2, inner=multi-krum(f=1), outer=mean)",
                        "detox(r=5, buckets=3, inner=median, outer=trimmed-mean(f=1), tolerance=0.001, seed=9)",
                        "detox(r=1)", "detox(r=3, outer=detox(r=1, outer=mean))"}) {
    const AnyRule r = robustagg::parse_rule(s);
    INFO(s << " -> " << r.spec());
    CHECK(robustagg::parse_rule(r.spec()).spec() == r.spec());
    REQUIRE(r.target<Detox>());
  }
  CHECK(robustagg::parse_rule("detox(r=3, outer=bulyan(f=1))").spec() ==
        "detox(r=3, buckets=0, inner=mean, outer=bulyan(f=1))");
  CHECK(robustagg::parse_rule("detox( r = 3 , buckets=2, inner = multi-krum(f=1), outer=mean )")
            .spec() == "detox(r=3, buckets=2, inner=multi-krum(f=1, m=0), outer=mean)");
  const AnyRule seeded = robustagg::parse_rule("detox(r=3, buckets=2, seed=4)");
  const Detox* d = seeded.target<Detox>();  // points into `seeded`, which must outlive it
  REQUIRE(d);
  CHECK(d->seed == std::optional<std::uint64_t>(4));
  bool listed = false;
  for (const auto& info : robustagg::rule_catalog()) listed = listed || info.name == "detox";
  CHECK(listed);
}

TEMPLATE_TEST_CASE("detox equals the reference on random and adversarial groupings", "[detox]",
                   float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  struct Case {
    int r, groups, buckets;
    const char* inner;
    const char* outer;
  };
  const std::vector<Case> cases = {
      {3, 5, 0, "mean", "median"},          {3, 5, 3, "mean", "median"},
      {3, 7, 0, "mean", "multi-krum(f=1)"}, {3, 9, 0, "mean", "bulyan(f=1)"},
      {3, 10, 2, "multi-krum(f=1)", "mean"}, {5, 6, 3, "median", "trimmed-mean(f=1)"},
      {1, 9, 3, "mean", "median"},          {3, 8, 8, "mean", "krum(f=1)"},
      {5, 7, 0, "mean", "sign-vote"}};
  for (Index d : {Index(1), Index(7), Index(300)}) {
    for (std::size_t c = 0; c < cases.size(); ++c) {
      const Case& cs = cases[c];
      for (std::uint64_t trial = 0; trial < 6; ++trial) {
        const std::uint64_t seed = 1000 * c + 10 * trial + std::uint64_t(d);
        std::mt19937_64 rng(seed);
        GradientMatrix<T> g = replicated(random_rows<T>(cs.groups, d, seed), cs.r);
        // Adversarial groupings: per group, one of: all honest; a minority of
        // colluders (outvoted); a majority of colluders (capture); every
        // member different (dropped, only in a few groups so enough remain);
        // NaN or Inf replicas.
        int dropped_budget = 1;
        for (Index k = 0; k < cs.groups; ++k) {
          const int kind = int(rng() % 6);
          const Index base = k * cs.r;
          GradientMatrix<T> bad = random_rows<T>(1, d, seed + 77 + std::uint64_t(k)) * T(50);
          if (kind == 1 && cs.r > 1) {
            for (int m = 0; m < cs.r / 2; ++m) g.row(base + cs.r - 1 - m) = bad;
          } else if (kind == 2 && cs.r > 1 && k % 3 == 0) {
            for (int m = 0; m < cs.r / 2 + 1; ++m) g.row(base + m) = bad;
          } else if (kind == 3 && cs.r > 1 && dropped_budget > 0 && cs.buckets != cs.groups) {
            --dropped_budget;
            for (int m = 0; m < cs.r; ++m)
              g.row(base + m) = random_rows<T>(1, d, seed + 1000 + std::uint64_t(m)).row(0);
          } else if (kind == 4 && cs.r > 1) {
            g(base, 0) = nan;  // one NaN replica: outvoted
          } else if (kind == 5 && cs.r > 1 && k % 3 == 0) {
            for (int m = 0; m < cs.r / 2 + 1; ++m) g.row(base + m).setConstant(inf);
          }
        }
        // Buckets of bulyan/multi-krum are small; keep cases feasible: the
        // reference decides whether the detox run must throw.
        const AnyRule inner = robustagg::parse_rule(cs.inner);
        const AnyRule outer = robustagg::parse_rule(cs.outer);
        const Detox rule{cs.r, cs.buckets, inner, outer, 0.0, {}};
        INFO("case " << c << " d " << d << " trial " << trial << " " << rule.spec());
        bool ref_ok = true;
        Vector<T> expected;
        try {
          expected = ref_detox<T>(g, cs.r, cs.buckets, inner, outer, 0.0);
        } catch (const Error&) {
          ref_ok = false;
        }
        if (cs.buckets > 0) {
          std::vector<Index> dropped;
          if (ref_vote(g, cs.r, 0.0, dropped).rows() < cs.buckets) ref_ok = false;
        }
        if (!ref_ok) {
          CHECK_THROWS_AS(robustagg::aggregate(g, rule), Error);
          continue;
        }
        robustagg::Workspace ws;
        Vector<T> got;
        robustagg::aggregate(g, rule, got, ws);
        require_same(got, expected);
        // Again with the same workspace (steady state) and through AnyRule
        // and the row-pointer form.
        std::vector<const T*> rows;
        for (Index i = 0; i < g.rows(); ++i) rows.push_back(g.row(i).data());
        Vector<T> again(d);
        robustagg::aggregate(rows.data(), g.rows(), d, AnyRule(rule), again.data(), ws);
        require_same(again, expected);
        // The composer built from the same stages agrees too.
        if (cs.buckets == 0) {
          const auto composed = robustagg::compose(robustagg::MajorityVote{cs.r, 0.0}, outer);
          require_same(robustagg::aggregate(g, composed), expected);
        }
      }
    }
  }
}

TEST_CASE("detox report through nested rules and repeated calls", "[detox]") {
  GradientMatrix<double> g = replicated(random_rows<double>(9, 5, 11), 3);
  g.row(3) *= 2;  // group 1: rows 3, 4, 5 = 2x, x, x -> row 4 wins
  g.row(12) *= 3;
  g.row(13) *= 4;  // group 4: all differ -> dropped
  robustagg::Workspace ws;
  Vector<double> out;
  const AnyRule rule =
      robustagg::parse_rule("detox(r=3, buckets=2, inner=mean, outer=detox(r=1, outer=median))");
  robustagg::aggregate(g, rule, out, ws);
  REQUIRE(ws.report().size() == 3);
  CHECK(ws.report()[0].stage == "vote(r=3)");
  CHECK(ws.report()[0].rows_out == 8);
  CHECK(ws.report()[0].dropped == std::vector<Index>{4});
  CHECK(ws.report()[1].stage == "buckets(k=2)");
  CHECK(ws.report()[1].rows_out == 2);
  CHECK(ws.report()[2].stage == "vote(r=1)");  // the nested outer rule's vote
  // A second call replaces the report rather than appending to it.
  robustagg::aggregate(g, rule, out, ws);
  CHECK(ws.report().size() == 3);
  // Through the Aggregator too.
  robustagg::Aggregator<> agg(rule);
  agg(g);
  CHECK(agg.workspace().report().size() == 3);
  // And the result: 8 winners in buckets 4 + 4, means, median of two = their mean
  // = mean of all 8 winners (equal bucket sizes).
  GradientMatrix<double> winners(8, 5);
  Index w = 0;
  for (Index k = 0; k < 9; ++k)
    if (k != 4) winners.row(w++) = g.row(k == 1 ? 4 : 3 * k);
  const Vector<double> mean = robustagg::aggregate(winners, robustagg::Mean{});
  for (Index j = 0; j < 5; ++j) CHECK(out[j] == Approx(mean[j]).epsilon(1e-14));
}

TEMPLATE_TEST_CASE("the vote's row comparison equals a scalar reference at every block edge",
                   "[detox]", float, double) {
  // detail::compare_rows is the SIMD pass of the vote (blocks of 1024 values,
  // early exit on a NaN in x); the reference is the definition, value by value.
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  robustagg_test::for_each_arch([&](const std::string& arch) {
  const Index W = robustagg_test::simd_width<T>();
  INFO("arch = " << arch);
  for (Index d : {Index(1), W - 1, W, W + 1, Index(1023), Index(1024), Index(1025),
                  Index(2048) + W + 1}) {
    if (d < 1) continue;
    const GradientMatrix<T> base = random_rows<T>(1, d, std::uint64_t(d));
    // positions to perturb: first, last, block edges, SIMD edges
    std::vector<Index> where = {0, d - 1, d / 2};
    for (Index e : {W - 1, W, Index(1023), Index(1024), Index(2048)})
      if (e < d) where.push_back(e);
    for (Index at : where) {
      for (int kind = 0; kind < 4; ++kind) {
        GradientMatrix<T> x = base, y = base;
        if (kind == 0) y(0, at) = -y(0, at);         // one value differs
        if (kind == 1) { x(0, at) = T(0); y(0, at) = -T(0); }  // +0 vs -0: not bitwise equal
        if (kind == 2) { x(0, at) = nan; y(0, at) = nan; }     // NaN in both: x has a NaN
        if (kind == 3) y(0, at) = nan;               // NaN only in y: rows differ, x clean
        const auto c = robustagg::detail::compare_rows(x.data(), y.data(), d);
        bool x_nan = false;
        for (Index j = 0; j < d; ++j) x_nan = x_nan || std::isnan(x(0, j));
        INFO("d = " << d << ", at = " << at << ", kind = " << kind);
        CHECK(c.x_nan == x_nan);
        if (!x_nan) CHECK(c.equal == bitwise_equal(x.data(), y.data(), d));
        const auto same = robustagg::detail::compare_rows(x.data(), x.data(), d);
        CHECK(same.x_nan == x_nan);
        if (!x_nan) CHECK(same.equal);
      }
    }
  }
  });
}

TEMPLATE_TEST_CASE("the vote on long rows: a late NaN or a last-bit difference decides",
                   "[detox]", float, double) {
  // Groups of r = 3 over d = 3000 (three blocks of the comparison), checked
  // against the definition by hand: group 0 all equal (wins with row 0),
  // group 1 row 3's last value differs in sign (rows 4 and 5 agree: row 4
  // wins), group 2 rows 6 and 7 hold the same NaN at the end and row 8 differs
  // (no majority: dropped).
  using T = TestType;
  const Index d = 3000;
  GradientMatrix<T> g(9, d);
  const GradientMatrix<T> r = random_rows<T>(3, d, 5);
  for (Index i = 0; i < 9; ++i) g.row(i) = r.row(i / 3);
  g(3, d - 1) = -g(3, d - 1);
  g(6, d - 1) = g(7, d - 1) = std::numeric_limits<T>::quiet_NaN();
  g(8, 2000) = g(8, 2000) + T(1);
  robustagg::Workspace ws;
  Vector<T> out;
  robustagg::aggregate(g, Detox{3, 0, robustagg::Mean{}, robustagg::Mean{}}, out, ws);
  REQUIRE(ws.report().size() >= 1);
  CHECK(ws.report().front().rows_out == 2);
  CHECK(ws.report().front().dropped == std::vector<Index>{2});
  // the mean of the winners, rows 0 and 4, in double as the mean rule computes it
  for (Index j = 0; j < d; j += 499) {
    INFO(j);
    CHECK(out(j) == T((double(g(0, j)) + double(g(4, j))) / 2));
  }
}
