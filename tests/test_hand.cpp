// Small cases for every rule, computed by hand from the definitions in
// docs/rules.md (the arithmetic is in the comments). Every value is exact in
// float and double, so results are compared exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <robustagg/robustagg.hpp>

namespace ra = robustagg;

namespace {

template <class T>
ra::GradientMatrix<T> rows(std::initializer_list<std::initializer_list<double>> r) {
  ra::GradientMatrix<T> g(Eigen::Index(r.size()), Eigen::Index(r.begin()->size()));
  Eigen::Index i = 0;
  for (const auto& row : r) {
    Eigen::Index j = 0;
    for (double x : row) g(i, j++) = T(x);
    ++i;
  }
  return g;
}

template <class T>
bool is_negative_zero(T x) {
  return x == T(0) && std::signbit(x);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEMPLATE_TEST_CASE("mean, by hand", "[hand][mean]", float, double) {
  using T = TestType;
  // (1 + 3 + 8) / 3 = 4;  (2 + 4 - 3) / 3 = 1
  const auto out = ra::aggregate(rows<T>({{1, 2}, {3, 4}, {8, -3}}), ra::Mean{});
  CHECK(out[0] == T(4));
  CHECK(out[1] == T(1));
  // not robust: one NaN in gives NaN out; +Inf and -Inf give NaN
  const auto bad = ra::aggregate(rows<T>({{1, kInf}, {kNaN, -kInf}}), ra::Mean{});
  CHECK(std::isnan(bad[0]));
  CHECK(std::isnan(bad[1]));
}

TEMPLATE_TEST_CASE("median, by hand", "[hand][median]", float, double) {
  using T = TestType;
  SECTION("odd n: the middle value") {
    // column 0: 1 4 7 10 100 -> 7;  column 1: 2 5 8 -100 -3 -> -100 -3 2 5 8 -> 2
    const auto out =
        ra::aggregate(rows<T>({{1, 2}, {4, 5}, {7, 8}, {10, -100}, {100, -3}}), ra::Median{});
    CHECK(out[0] == T(7));
    CHECK(out[1] == T(2));
  }
  SECTION("even n: the mean of the two middle values") {
    // column 0: 1 4 7 10 -> (4 + 7) / 2 = 5.5;  column 1: -1 0 2 100 -> (0 + 2) / 2 = 1
    const auto out = ra::aggregate(rows<T>({{1, 2}, {4, -1}, {7, 0}, {10, 100}}), ra::Median{});
    CHECK(out[0] == T(5.5));
    CHECK(out[1] == T(1));
  }
  SECTION("NaN is an extreme value (IEEE total order)") {
    // column 0: 1 NaN 3 2 5 -> 1 2 3 5 NaN -> 3
    // column 1: -NaN 1 2 3 5 -> -NaN 1 2 3 5 -> 2   (a negative NaN sorts first)
    // column 2 (n = 5): Inf NaN -Inf 0 1 -> -Inf 0 1 Inf NaN -> 1
    const auto out = ra::aggregate(
        rows<T>({{1, -kNaN, kInf}, {kNaN, 1, kNaN}, {3, 2, -kInf}, {2, 3, 0}, {5, 5, 1}}),
        ra::Median{});
    CHECK(out[0] == T(3));
    CHECK(out[1] == T(2));
    CHECK(out[2] == T(1));
    // even n: 1 2 3 NaN -> (2 + 3) / 2 = 2.5
    CHECK(ra::aggregate(rows<T>({{1}, {kNaN}, {3}, {2}}), ra::Median{})[0] == T(2.5));
  }
  SECTION("signed zeros: -0 < +0") {
    // -0 +0 -0 -> -0 -0 +0 -> -0;  +0 +0 -0 -> -0 +0 +0 -> +0
    const auto out = ra::aggregate(rows<T>({{-0.0, 0.0}, {0.0, 0.0}, {-0.0, -0.0}}), ra::Median{});
    CHECK(is_negative_zero(out[0]));
    CHECK((out[1] == T(0) && !std::signbit(out[1])));
  }
}

TEMPLATE_TEST_CASE("trimmed mean, by hand", "[hand][trimmed-mean]", float, double) {
  using T = TestType;
  // f = 1. column 0: 1 2 3 4 100 -> drop 1 and 100 -> (2 + 3 + 4) / 3 = 3
  //        column 1: -50 0 0 1 4 -> drop -50 and 4 -> (0 + 0 + 1) / 3 = 1/3
  //        column 2: NaN 1 2 3 -Inf -> -Inf 1 2 3 NaN -> (1 + 2 + 3) / 3 = 2
  const auto g = rows<T>({{1, -50, kNaN}, {2, 0, 1}, {3, 0, 2}, {4, 1, 3}, {100, 4, -kInf}});
  const auto out = ra::aggregate(g, ra::TrimmedMean{1});
  CHECK(out[0] == T(3));
  CHECK(out[1] == T(1.0 / 3.0));
  CHECK(out[2] == T(2));
  // f = 2 with n = 5 is the median: 3, 0, 2
  const auto med = ra::aggregate(g, ra::TrimmedMean{2});
  CHECK(med[0] == T(3));
  CHECK(med[1] == T(0));
  CHECK(med[2] == T(2));
  // f = 0 is the mean: (1 + 2 + 3 + 4 + 100) / 5 = 22
  CHECK(ra::aggregate(g, ra::TrimmedMean{0})[0] == T(22));
}

TEMPLATE_TEST_CASE("krum, by hand", "[hand][krum]", float, double) {
  using T = TestType;
  SECTION("f = 1, n = 5: n-f-2 = 2 neighbours") {
    // rows (x, 0.5): squared distances only from x; x = 0 1 2 10 -20
    //  0: 1 4 100 400 -> 1 + 4 = 5        1: 1 1 81 441 -> 1 + 1 = 2
    //  2: 4 1 64 484 -> 1 + 4 = 5        10: 100 81 64 900 -> 64 + 81 = 145
    // -20: 400 441 484 900 -> 841        lowest: row 1 = (1, 0.5)
    const auto out = ra::aggregate(rows<T>({{0, .5}, {1, .5}, {2, .5}, {10, .5}, {-20, .5}}),
                                   ra::Krum{1});
    CHECK(out[0] == T(1));
    CHECK(out[1] == T(0.5));
  }
  SECTION("a tie in scores goes to the lowest index") {
    // f = 0, n = 3: one neighbour. x = 0 1 3: d01 = 1, d02 = 9, d12 = 4
    // scores 0: min(1, 9) = 1; 1: min(1, 4) = 1; 2: min(9, 4) = 4 -> rows 0 and 1 tie -> row 0
    CHECK(ra::aggregate(rows<T>({{0}, {1}, {3}}), ra::Krum{0})[0] == T(0));
    // the same rows reversed, x = 3 1 0: scores 4, 1, 1 -> rows 1 and 2 tie -> row 1 (x = 1)
    CHECK(ra::aggregate(rows<T>({{3}, {1}, {0}}), ra::Krum{0})[0] == T(1));
  }
  SECTION("a row with NaN is at infinite distance") {
    // rows (NaN, 0) (0, 0) (1, 0), f = 0, one neighbour:
    // row 0: min(Inf, Inf) = Inf; row 1: min(Inf, 1) = 1; row 2: min(Inf, 1) = 1 -> row 1
    const auto out = ra::aggregate(rows<T>({{kNaN, 0}, {0, 0}, {1, 0}}), ra::Krum{0});
    CHECK(out[0] == T(0));
    CHECK(out[1] == T(0));
    // an Inf row likewise: (Inf, 0) (5, 0) (7, 0) -> row 1 (5) ties row 2 and wins by index
    CHECK(ra::aggregate(rows<T>({{kInf, 0}, {5, 0}, {7, 0}}), ra::Krum{0})[0] == T(5));
  }
}

TEMPLATE_TEST_CASE("multi-krum, by hand", "[hand][multi-krum]", float, double) {
  using T = TestType;
  // x = 0 1 2 10 -20 with f = 1: scores (see krum) 5 2 5 145 841;
  // rank by (score, index): row 1, row 0, row 2, row 3, row 4
  const auto g = rows<T>({{0}, {1}, {2}, {10}, {-20}});
  // m = 0 means n - f = 4: (1 + 0 + 2 + 10) / 4 = 3.25
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 0})[0] == T(3.25));
  CHECK(ra::aggregate(g, ra::MultiKrum{1})[0] == T(3.25));  // m defaults to 0
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 4})[0] == T(3.25));
  // m = 3: (1 + 0 + 2) / 3 = 1;  m = 2: (1 + 0) / 2 = 0.5;  m = 1 is Krum: 1
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 3})[0] == T(1));
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 2})[0] == T(0.5));
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 1})[0] == T(1));
  // m = n = 5: the mean, (0 + 1 + 2 + 10 - 20) / 5 = -1.4
  CHECK(ra::aggregate(g, ra::MultiKrum{1, 5})[0] == T(-7.0 / 5.0));
  // NaN: row 4 = NaN has score Inf; x = 0 1 2 10 NaN, f = 1, 2 neighbours:
  //  0: 1 4 100 Inf -> 5; 1: 1 1 81 -> 2; 2: 4 1 64 -> 5; 10: 64 + 81 = 145; NaN: Inf
  //  m = 4 (default): (1 + 0 + 2 + 10) / 4 = 3.25, the NaN row is left out
  CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {10}, {kNaN}}), ra::MultiKrum{1})[0] == T(3.25));
}

TEMPLATE_TEST_CASE("bulyan, by hand", "[hand][bulyan]", float, double) {
  using T = TestType;
  SECTION("step 1: repeated Krum with max(1, n'-f-2) neighbours") {
    // f = 1, n = 7: theta = 5, beta = 3. x = 0 1 2 3 4 100 -100 (rows 0..6)
    // n' = 7, 4 neighbours: 0: 1+4+9+16 = 30; 1: 1+1+4+9 = 15; 2: 1+1+4+4 = 10;
    //   3: 15; 4: 30; +-100: huge                                  -> pick row 2 (x = 2)
    // n' = 6, 3 neighbours over 0 1 3 4 100 -100: 0: 1+9+16 = 26; 1: 1+4+9 = 14;
    //   3: 1+4+9 = 14; 4: 26                            -> tie, lowest index: row 1 (x = 1)
    // n' = 5, 2 neighbours over 0 3 4 100 -100: 0: 9+16 = 25; 3: 1+9 = 10; 4: 1+16 = 17
    //                                                               -> row 3 (x = 3)
    // n' = 4, 1 neighbour over 0 4 100 -100: 0: 16; 4: 16           -> row 0 (x = 0)
    // n' = 3, 1 neighbour over 4 100 -100: 4: min(96^2, 104^2) = 9216; 100: min(9216,
    //   200^2) = 9216; -100: 10816                                  -> row 4 (x = 4)
    // step 2 over 0 1 2 3 4: median 2; ends 0 and 4 tie at 2 -> drop the larger (4);
    //   0 (2) vs 3 (1) -> drop 0; beta = 3 left: (1 + 2 + 3) / 3 = 2
    CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {3}, {4}, {100}, {-100}}), ra::Bulyan{1})[0] ==
          T(2));
  }
  SECTION("step 2: per coordinate, the beta values closest to the median") {
    // f = 1, n = 7: honest rows 0..4, far rows 5 and 6 (one with a NaN). The far rows are
    // never picked before the honest ones run out (in the last round a far row can tie an
    // honest one, which wins by index), so the picked rows are rows 0..4.
    // column 0: 0 1 2 3 4 -> median 2; drop 4 (tie, larger), then 0 -> (1 + 2 + 3) / 3 = 2
    // column 1: 10 0 7 1 2 -> 0 1 2 7 10, median 2; 10 is 8 away, 0 is 2 -> drop 10;
    //   7 is 5 away, 0 is 2 -> drop 7; left 0 1 2 -> 1
    // (the trimmed mean of column 1 would be (1 + 2 + 7) / 3, the median 2)
    const auto g = rows<T>(
        {{0, 10}, {1, 0}, {2, 7}, {3, 1}, {4, 2}, {1000, 1000}, {-1000, kNaN}});
    const auto out = ra::aggregate(g, ra::Bulyan{1});
    CHECK(out[0] == T(2));
    CHECK(out[1] == T(1));
  }
  SECTION("even theta: the median is the mean of the two middle values") {
    // f = 1, n = 8: theta = 6, beta = 2. x = 0 1 2 3 4 5 (rows 0..5), 500 and -500 (6, 7).
    // The six honest rows are picked (far rows have huge scores until the last round,
    // where n' = 3 and an honest row ties at most and wins by index).
    // step 2 over 0..5: median (2 + 3) / 2 = 2.5; 0 and 5 tie at 2.5 -> drop 5;
    //   0 (2.5) vs 4 (1.5) -> drop 0; 1 and 4 tie at 1.5 -> drop 4; 1 (1.5) vs 3 (0.5)
    //   -> drop 1; beta = 2 left: (2 + 3) / 2 = 2.5
    CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {3}, {4}, {5}, {500}, {-500}}),
                        ra::Bulyan{1})[0] == T(2.5));
  }
  SECTION("NaN reaching step 2 counts as infinitely far from the median") {
    // f = 1, n = 7: x = 0 1 2 3 and three NaN rows (more than f: every Krum score is Inf,
    // so rounds pick by index): picked 0 1 2 3 NaN. Step 2: total order 0 1 2 3 NaN,
    // median 2; NaN is Inf away -> dropped; 0 (2) vs 3 (1) -> drop 0; (1 + 2 + 3) / 3 = 2
    CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {3}, {kNaN}, {kNaN}, {kNaN}}),
                        ra::Bulyan{1})[0] == T(2));
  }
  SECTION("f = 0 is the mean") {
    // theta = beta = n: (1 + 2 + 6) / 3 = 3
    CHECK(ra::aggregate(rows<T>({{1}, {2}, {6}}), ra::Bulyan{0})[0] == T(3));
  }
}

TEMPLATE_TEST_CASE("sign vote, by hand", "[hand][sign-vote]", float, double) {
  using T = TestType;
  // column 0: 1 -2 3 0.5    -> +1 -1 +1 +1 = 2   -> 1
  // column 1: 1 -1 2 -3     -> +1 -1 +1 -1 = 0   -> 0 (a tie)
  // column 2: 0 -0 NaN -5   ->  0  0  0 -1 = -1  -> -1 (zeros and NaN abstain)
  // column 3: NaN NaN 0 0   -> 0                 -> 0
  // column 4: 1e-30 -1e30 1e-30 0 -> +1 -1 +1 0 = 1 -> 1 (magnitude does not count)
  const auto out = ra::aggregate(rows<T>({{1, 1, 0, kNaN, 1e-30},
                                          {-2, -1, -0.0, kNaN, -1e30},
                                          {3, 2, kNaN, 0, 1e-30},
                                          {0.5, -3, -5, 0, 0}}),
                                 ra::SignVote{});
  CHECK(out[0] == T(1));
  CHECK(out[1] == T(0));
  CHECK(out[2] == T(-1));
  CHECK(out[3] == T(0));
  CHECK(out[4] == T(1));
}

TEMPLATE_TEST_CASE("noisy rules, by hand", "[hand][noisy]", float, double) {
  using T = TestType;
  // n = 1: the noisy median is the worker's value plus its noise,
  //   x + T(b) * T(xi(seed, worker 0, coordinate j)) (b = 2: exactly T(2 xi)).
  const auto g = rows<T>({{1, -2, 3}});
  const auto out = ra::aggregate(g, ra::NoisyMedian{2.0, 5});
  for (int j = 0; j < 3; ++j)
    CHECK(out[j] == g(0, j) + T(2.0 * ra::detail::gaussian(5, 0, std::uint64_t(j))));
  // n = 3 noisy sign vote with b = 0: the sign vote, 1 + 1 - 1 = 1 -> 1
  CHECK(ra::aggregate(rows<T>({{1}, {2}, {-3}}), ra::NoisySignVote{0.0, 9})[0] == T(1));
  // n = 1 noisy sign vote: the sign of x + noise
  const auto s = ra::aggregate(g, ra::NoisySignVote{2.0, 5});
  for (int j = 0; j < 3; ++j) {
    const T v = g(0, j) + T(2.0 * ra::detail::gaussian(5, 0, std::uint64_t(j)));
    CHECK(s[j] == T((v > 0) - (v < 0)));
  }
}
