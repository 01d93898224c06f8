// The rules after 2020: geometric median, centered clipping, Meamed, MDA,
// MoNNA, CAF, SMEA. Hand-computed small cases (the arithmetic is in the
// comments), the input families against the scalar references in
// tests/reference/reference_new_rules.hpp (float and double), validation
// messages, spec round trips, warm starts and thread-count determinism.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "reference/inputs.hpp"
#include "reference/reference_new_rules.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using ra::Index;
using ra::testing::Kind;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

template <class T>
ra::GradientMatrix<T> rows(std::initializer_list<std::initializer_list<double>> r) {
  ra::GradientMatrix<T> g(Index(r.size()), Index(r.begin()->size()));
  Index i = 0;
  for (const auto& row : r) {
    Index j = 0;
    for (double x : row) g(i, j++) = T(x);
    ++i;
  }
  return g;
}

template <class T>
ra::Vector<T> column(std::initializer_list<double> v) {
  ra::Vector<T> out(Index(v.size()));
  Index j = 0;
  for (double x : v) out[j++] = T(x);
  return out;
}

template <class T, class Rule>
std::string error_of(const Rule& rule, Index n, Index d) {
  const ra::GradientMatrix<T> g = ra::GradientMatrix<T>::Ones(n, d);
  try {
    (void)ra::aggregate(g, rule);
  } catch (const ra::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string parse_error(const std::string& spec) {
  try {
    const ra::AnyRule r = ra::parse_rule(spec);
    return "(parsed as " + r.spec() + ")";
  } catch (const ra::Error& e) {
    return e.what();
  }
}

/// Empty when |got - want| <= (8 eps_T + rel) * scale everywhere (NaN where want is NaN).
template <class T>
std::string compare_rel(const ra::Vector<T>& got, const ref::VectorD& want, const ref::VectorD& scale,
                        double rel) {
  std::ostringstream os;
  os.precision(17);
  int bad = 0;
  for (Index j = 0; j < want.size(); ++j) {
    const double w = want[j], g = double(got[j]);
    bool ok;
    if (std::isnan(w))
      ok = std::isnan(g);
    else if (std::isinf(w))
      ok = g == w;
    else
      ok = std::fabs(g - w) <= (8.0 * double(std::numeric_limits<T>::epsilon()) + rel) * scale[j];
    if (!ok && bad++ < 3) os << "[j=" << j << " got " << g << " want " << w << "] ";
  }
  if (bad) os << bad << " of " << want.size() << " coordinates differ";
  return os.str();
}

const std::vector<Index> kDims = {1, 4, 7, 9, 33, 257, 513, 1000};
const std::vector<Index> kRows = {1, 2, 3, 4, 5, 7, 8, 11};

template <class T, class Fn>
void for_each_input(Fn&& fn, const std::vector<Index>& ns = kRows) {
  for (Kind kind : ra::testing::all_kinds())
    for (Index n : ns)
      for (Index d : kDims) {
        const ra::GradientMatrix<T> g =
            ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 11));
        fn(kind, n, d, g);
      }
}

std::string describe(Kind k, Index n, Index d, const std::string& spec) {
  std::ostringstream os;
  os << spec << " on " << ra::testing::kind_name(k) << " n=" << n << " d=" << d;
  return os.str();
}

/// The result of a subset rule must be the mean of the reference's best
/// subset, or of a subset whose reference value is within rounding of it.
template <class T>
void check_subset_rule(const ra::AnyRule& rule, const ra::GradientMatrix<T>& g,
                       const std::vector<ref::ScoredSubset>& all, const std::string& what,
                       std::size_t& near_ties) {
  const ref::Matrix gd = ref::to_double(g);
  const ref::VectorD scale = ra::testing::column_scale(gd);
  const ra::Vector<T> got = ra::aggregate(g, rule);
  const ref::ScoredSubset& best = ref::best_subset(all);
  auto matches = [&](const ref::ScoredSubset& s) {
    return ra::testing::compare(got.data(), ref::mean_of(gd, s.rows), ra::testing::Match::Rounded,
                                scale, g.rows())
        .empty();
  };
  if (matches(best)) return;
  // float rows: the distance engine sums squares in float runs (~1e-7 relative)
  const double slack = (std::is_same_v<T, float> ? 1e-5 : 1e-9) * std::fabs(best.value) + 1e-300;
  for (const ref::ScoredSubset& s : all)
    if (s.value <= best.value + slack && matches(s)) {
      ++near_ties;
      return;
    }
  FAIL_CHECK(what << ": not the mean of the best subset (value " << best.value << ")");
}

}  // namespace

// ---------------------------------------------------------------------------
// By hand.

TEMPLATE_TEST_CASE("geometric median, by hand", "[new-rules][geometric-median]", float, double) {
  using T = TestType;
  // one row: the row
  CHECK(ra::aggregate(rows<T>({{3, -2}}), ra::GeometricMedian{}) == column<T>({3, -2}));
  // (+-1, +-1): the median (0, 0) is the geometric median; every distance is
  // sqrt 2, the weights are equal, the mean of the four rows is (0, 0). A
  // NaN row is left out.
  const auto sq = rows<T>({{1, 1}, {-1, 1}, {1, -1}, {-1, -1}, {kNaN, 0}});
  CHECK(ra::aggregate(sq, ra::GeometricMedian{}) == column<T>({0, 0}));
  // 0, 1, 10 on a line: z0 = 1 (a row, weight 1/nu = 1e6); z1 = (0*1 + 1*1e6 +
  // 10/9) / (1 + 1e6 + 1/9) = 1: the geometric median of three collinear
  // points is the middle one.
  const ra::Vector<T> line = ra::aggregate(rows<T>({{0}, {1}, {10}}), ra::GeometricMedian{});
  CHECK(double(line[0]) == Approx(1.0).epsilon(1e-6));
  // One step from (0,0) over (0,0), (4,0), (0,3): weights 1/nu, 1/4, 1/3;
  // z1 = ((4,0)/4 + (0,3)/3) / (1e6 + 7/12) = (1, 1) / (1e6 + 7/12).
  ra::GeometricMedian one;
  one.iterations = 1;
  const ra::Vector<T> z1 = ra::aggregate(rows<T>({{0, 0}, {4, 0}, {0, 3}}), one);
  const double want = 1.0 / (1e6 + 7.0 / 12.0);
  CHECK(double(z1[0]) == Approx(want).epsilon(1e-6));
  CHECK(double(z1[1]) == Approx(want).epsilon(1e-6));
  // all rows non-finite: NaN
  const ra::Vector<T> none = ra::aggregate(rows<T>({{kNaN, 1}, {kInf, 2}}), ra::GeometricMedian{});
  CHECK(std::isnan(none[0]));
  CHECK(std::isnan(none[1]));
}

TEMPLATE_TEST_CASE("geometric median stops at the tolerance", "[new-rules][geometric-median]",
                   float, double) {
  using T = TestType;
  // Random rows: with tolerance 1e-3 the iteration stops early; the result is
  // the reference's with the same stop, and differs from the 64-step result.
  const auto g = ra::testing::make_input<T>(Kind::Random, 9, 20, 3);
  const ref::Matrix gd = ref::to_double(g);
  const ra::GeometricMedian loose{64, 1e-6, 1e-3};
  const ra::Vector<T> got = ra::aggregate(g, loose);
  const ref::VectorD want = ref::geometric_median<T>(gd, 64, 1e-6, 1e-3);
  CHECK(compare_rel(got, want, ra::testing::column_scale(gd), 1e-9).empty());
  const ref::VectorD full = ref::geometric_median<T>(gd, 64, 1e-6, 0.0);
  CHECK((want - full).norm() > 0.0);
}

TEMPLATE_TEST_CASE("centered clipping, by hand", "[new-rules][centered-clipping]", float, double) {
  using T = TestType;
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  const auto g = rows<T>({{0}, {1}, {10}});
  // From the median 1: distances 1, 0, 9; c = 1, 1, 2/9 (tau = 2);
  // v1 = 1 + (1/3)(-1 + 0 + (2/9) * 9) = 4/3.
  CHECK(double(ra::aggregate(g, ra::CenteredClipping{2.0})[0]) == Approx(4.0 / 3.0).epsilon(eps));
  // From the start 0: distances 0, 1, 10; c = 1, 1, 1/5; v1 = (0 + 1 + 2) / 3 = 1.
  const ra::CenteredClipping cc{2.0};
  cc.validate(3, 1);
  ra::Workspace ws;
  const T start[1] = {T(0)};
  T out[1];
  cc.run_from(ra::RowsView<T>::strided(g.data(), 3, 1, 1), start, out, ws);
  CHECK(double(out[0]) == Approx(1.0).epsilon(eps));
  // A NaN row has c = 0 but counts in n: rows 0, 1, 10, NaN; from the median
  // of the finite rows (1): v1 = 1 + (1/4)(-1 + 0 + 2) = 1.25.
  const auto h = rows<T>({{0}, {1}, {10}, {kNaN}});
  CHECK(double(ra::aggregate(h, ra::CenteredClipping{2.0})[0]) == Approx(1.25).epsilon(eps));
  // Two iterations from 1: v1 = 4/3; distances 4/3, 1/3, 26/3; c = 1, 1, 6/26;
  // v2 = 4/3 + (1/3)(-4/3 - 1/3 + (6/26)(26/3)) = 4/3 + (1/3)(1/3) = 13/9.
  CHECK(double(ra::aggregate(g, ra::CenteredClipping{2.0, 2})[0]) ==
        Approx(13.0 / 9.0).epsilon(eps));
  // a non-finite start is an Error
  const T bad[1] = {T(kNaN)};
  CHECK_THROWS_WITH(cc.run_from(ra::RowsView<T>::strided(g.data(), 3, 1, 1), bad, out, ws),
                    Contains("start vector holds a non-finite value"));
}

TEMPLATE_TEST_CASE("centered clipping warm-starts in an Aggregator", "[new-rules][centered-clipping]",
                   float, double) {
  using T = TestType;
  const auto g = ra::testing::make_input<T>(Kind::Random, 7, 30, 5);
  const ref::Matrix gd = ref::to_double(g);
  const ref::VectorD scale = ra::testing::column_scale(gd);
  for (const bool any : {false, true}) {
    INFO((any ? "AnyRule" : "CenteredClipping"));
    ra::CenteredClipping rule{0.5};
    rule.warm_start = true;
    auto check = [&](auto& agg) {
      // step 1 from the median, step 2 from step 1's output, ...
      ref::VectorD prev;
      for (int step = 0; step < 3; ++step) {
        const ra::Vector<T> got = agg(g);
        const ref::VectorD want = ref::centered_clipping<T>(gd, 0.5, 1, prev);
        CHECK(compare_rel(got, want, scale, 1e-12).empty());
        prev = got.template cast<double>();
      }
      // forget_start: from the median again
      agg.forget_start();
      CHECK(compare_rel(agg(g), ref::centered_clipping<T>(gd, 0.5, 1), scale, 1e-12).empty());
    };
    if (any) {
      ra::Aggregator<> agg(ra::parse_rule("centered-clipping(tau=0.5, warm-start=1)"));
      check(agg);
    } else {
      ra::Aggregator<ra::CenteredClipping> agg(rule);
      check(agg);
    }
  }
  // without warm_start, every step starts from the median
  ra::Aggregator<> cold(ra::parse_rule("centered-clipping(tau=0.5)"));
  const ra::Vector<T> a = cold(g), b = cold(g);
  CHECK(a == b);
}

TEMPLATE_TEST_CASE("meamed, by hand", "[new-rules][meamed]", float, double) {
  using T = TestType;
  // 0 1 2 3 100, f = 2: median 2; drop 100 (98), then 0 (2) before 3 (1): mean(1,2,3) = 2
  CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {3}, {100}}), ra::Meamed{2}) == column<T>({2}));
  // 0 1 2 3 4, f = 1: the ends 0 and 4 tie (2 from the median); the larger
  // goes: mean(0,1,2,3) = 1.5
  CHECK(ra::aggregate(rows<T>({{0}, {1}, {2}, {3}, {4}}), ra::Meamed{1}) == column<T>({1.5}));
  // NaN sorts as an extreme at infinite distance: 1 2 3 4 NaN, f = 1 -> mean(1,2,3,4) = 2.5
  CHECK(ra::aggregate(rows<T>({{kNaN}, {1}, {2}, {3}, {4}}), ra::Meamed{1}) == column<T>({2.5}));
  // f = 0: the mean
  CHECK(ra::aggregate(rows<T>({{1}, {2}, {6}}), ra::Meamed{0}) == column<T>({3}));
}

TEMPLATE_TEST_CASE("mda, by hand", "[new-rules][mda]", float, double) {
  using T = TestType;
  // 0 1 3 10, f = 1: diameters {0,1,3} 9, {0,1,10} 100, {0,3,10} 100, {1,3,10} 81
  const ra::Vector<T> a = ra::aggregate(rows<T>({{0}, {1}, {3}, {10}}), ra::Mda{1});
  CHECK(double(a[0]) == Approx(4.0 / 3.0).epsilon(1e-7));
  // 0 2 4, f = 1: {0,2} and {2,4} tie at 4; the lexicographically smallest
  // index tuple (0, 1) wins: mean(0, 2) = 1
  CHECK(ra::aggregate(rows<T>({{0}, {2}, {4}}), ra::Mda{1}) == column<T>({1}));
  // a NaN row is at infinite distance: NaN 0 1 5, f = 1 -> mean(0, 1, 5) = 2
  CHECK(ra::aggregate(rows<T>({{kNaN}, {0}, {1}, {5}}), ra::Mda{1}) == column<T>({2}));
}

TEMPLATE_TEST_CASE("monna, by hand", "[new-rules][monna]", float, double) {
  using T = TestType;
  // 0 1 3 10 11, f = 2, trusted row 3 (10): distances 100 81 49 0 1 -> rows 2 3 4: mean 8
  CHECK(ra::aggregate(rows<T>({{0}, {1}, {3}, {10}, {11}}), ra::Monna{2, 3}) == column<T>({8}));
  // 0 2 4, f = 1, trusted row 1: rows 0 and 2 tie at 4; the lower index wins: mean(0, 2) = 1
  CHECK(ra::aggregate(rows<T>({{0}, {2}, {4}}), ra::Monna{1, 1}) == column<T>({1}));
  // duplicates of the trusted row: the trusted row itself is always in
  CHECK(ra::aggregate(rows<T>({{5}, {5}, {5}}), ra::Monna{1, 2}) == column<T>({5}));
  // a non-finite trusted row gives NaN; another non-finite row is never picked
  CHECK(std::isnan(ra::aggregate(rows<T>({{kInf}, {1}, {2}}), ra::Monna{1, 0})[0]));
  CHECK(ra::aggregate(rows<T>({{kInf}, {1}, {2}}), ra::Monna{1, 1}) == column<T>({1.5}));
}

TEMPLATE_TEST_CASE("smea, by hand", "[new-rules][smea]", float, double) {
  using T = TestType;
  // 1-D: the covariance is the variance. 0 1 3 10, f = 1: {0,1,3} has
  // variance 14/9, the others far more: mean 4/3.
  const ra::Vector<T> a = ra::aggregate(rows<T>({{0}, {1}, {3}, {10}}), ra::Smea{1});
  CHECK(double(a[0]) == Approx(4.0 / 3.0).epsilon(1e-7));
  // A subset holding a NaN row has eigenvalue +Inf: NaN, (0,0), (2,0), (0,2),
  // f = 1 -> the subset {1, 2, 3}, mean (2/3, 2/3).
  const ra::Vector<T> b = ra::aggregate(rows<T>({{kNaN, 0}, {0, 0}, {2, 0}, {0, 2}}), ra::Smea{1});
  CHECK(double(b[0]) == Approx(2.0 / 3.0).epsilon(1e-7));
  CHECK(double(b[1]) == Approx(2.0 / 3.0).epsilon(1e-7));
}

TEMPLATE_TEST_CASE("caf, by hand", "[new-rules][caf]", float, double) {
  using T = TestType;
  // 0 0 3, f = 1 (loop while sum c > 1): mu = 1, lambda = (1 + 1 + 4)/3 = 2,
  // tau = 1 1 4 -> c = 3/4 3/4 0; sum 1.5 > 1: mu = 0, lambda = 0 < 2 (kept),
  // max tau = 0: stop. Result 0.
  CHECK(ra::aggregate(rows<T>({{0}, {0}, {3}}), ra::Caf{1}) == column<T>({0}));
  // f = 0: the loop does not run; the mean of the finite rows
  CHECK(ra::aggregate(rows<T>({{1}, {2}, {kNaN}, {6}}), ra::Caf{0}) == column<T>({3}));
  // no finite row: NaN
  CHECK(std::isnan(ra::aggregate(rows<T>({{kNaN}, {kInf}}), ra::Caf{0})[0]));
}

// ---------------------------------------------------------------------------
// Against the references.

TEMPLATE_TEST_CASE("geometric median matches the reference", "[new-rules][geometric-median]", float,
                   double) {
  using T = TestType;
  std::size_t cases = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    const ref::VectorD scale = ra::testing::column_scale(gd);
    for (const ra::GeometricMedian rule : {ra::GeometricMedian{64, 1e-6, 0.0},
                                           ra::GeometricMedian{3, 0.5, 0.0}}) {
      const ref::VectorD want = ref::geometric_median<T>(gd, rule.iterations, rule.nu, 0.0);
      const std::string diff = compare_rel(ra::aggregate(g, rule), want, scale, 1e-9);
      if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": " << diff);
      ++cases;
    }
  });
  CHECK(cases > 100);
}

TEMPLATE_TEST_CASE("centered clipping matches the reference", "[new-rules][centered-clipping]",
                   float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    const ref::VectorD scale = ra::testing::column_scale(gd);
    for (const ra::CenteredClipping rule : {ra::CenteredClipping{0.1, 1}, ra::CenteredClipping{1.0, 3},
                                            ra::CenteredClipping{1e9, 2}}) {
      const ref::VectorD want = ref::centered_clipping<T>(gd, rule.tau, rule.iterations);
      const std::string diff = compare_rel(ra::aggregate(g, rule), want, scale, 1e-12);
      if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": " << diff);
      ++cases;
    }
  });
  CHECK(cases > 100);
}

TEMPLATE_TEST_CASE("meamed matches the reference", "[new-rules][meamed]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for_each_input<T>(
      [&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
        const ref::Matrix gd = ref::to_double(g);
        const ref::VectorD scale = ra::testing::column_scale(gd);
        for (Index f : {Index(0), Index(1), (n - 1) / 2}) {
          if (n < 2 * f + 1) continue;
          const ra::Meamed rule{int(f)};
          const ra::Vector<T> got = ra::aggregate(g, rule);
          const std::string diff = ra::testing::compare(got.data(), ref::meamed(gd, int(f)),
                                                        ra::testing::Match::Rounded, scale, n);
          if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": " << diff);
          ++cases;
        }
      },
      {1, 2, 3, 4, 5, 7, 8, 11, 15, 16, 17, 31, 32, 51});
  CHECK(cases > 100);
}

TEMPLATE_TEST_CASE("monna matches the reference", "[new-rules][monna]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    const ref::VectorD scale = ra::testing::column_scale(gd);
    for (Index f : {Index(0), Index(1), (n - 1) / 2})
      for (Index t : {Index(0), n - 1}) {
        if (n < 2 * f + 1) continue;
        const ra::Monna rule{int(f), int(t)};
        const ra::Vector<T> got = ra::aggregate(g, rule);
        const std::string diff = ra::testing::compare(got.data(), ref::monna(gd, int(f), int(t)),
                                                      ra::testing::Match::Rounded, scale, n);
        if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": " << diff);
        ++cases;
      }
  });
  CHECK(cases > 100);
}

TEMPLATE_TEST_CASE("mda and smea pick the reference's subset", "[new-rules][mda][smea]", float,
                   double) {
  using T = TestType;
  std::size_t cases = 0, near_ties = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    for (Index f : {Index(0), Index(1), (n - 1) / 2}) {
      if (n < 2 * f + 1) continue;
      const ra::Mda mda{int(f)};
      check_subset_rule<T>(mda, g, ref::mda_subsets(gd, int(f)), describe(kind, n, d, mda.spec()),
                           near_ties);
      const ra::Smea smea{int(f)};
      check_subset_rule<T>(smea, g, ref::smea_subsets(gd, int(f)),
                           describe(kind, n, d, smea.spec()), near_ties);
      cases += 2;
    }
  });
  CHECK(cases > 100);
  INFO("near ties: " << near_ties << " of " << cases);
  CHECK(near_ties * 10 <= cases);
}

TEST_CASE("mda's search: the first subset of smallest diameter, as the exhaustive search",
          "[new-rules][mda]") {
  // Small integer distances (many ties) with some +Inf, every (n, f): the
  // search against every m-subset in lexicographic order.
  std::mt19937_64 rng(20261207);
  std::size_t cases = 0, with_ties = 0;
  for (int it = 0; it < 4000; ++it) {
    const Index n = 1 + Index(rng() % 13), f = Index(rng() % std::uint64_t((n + 1) / 2));
    if (n < 2 * f + 1) continue;
    const Index m = n - f;
    const int range = 1 + int(rng() % 6);
    ref::Matrix D = ref::Matrix::Zero(n, n);
    for (Index a = 0; a < n; ++a)
      for (Index b = a + 1; b < n; ++b)
        D(a, b) = D(b, a) = rng() % 10 == 0 ? std::numeric_limits<double>::infinity()
                                             : double(rng() % std::uint64_t(range));
    std::vector<Index> want;
    double want_diameter = 0.0, ties = 0;
    ref::for_each_subset(n, m, [&](const std::vector<Index>& s) {
      double diam = 0.0;
      for (Index a : s)
        for (Index b : s) diam = std::max(diam, D(a, b));
      if (want.empty() || diam < want_diameter) {
        want = s;
        want_diameter = diam;
        ties = 0;
      } else if (diam == want_diameter) {
        ++ties;
      }
    });
    std::vector<double> Drow(std::size_t(n * n));
    for (Index a = 0; a < n; ++a)
      for (Index b = 0; b < n; ++b) Drow[std::size_t(a * n + b)] = D(a, b);
    std::vector<std::uint64_t> words(ra::detail::mda_search_words(n, f));
    std::vector<double> values(std::size_t(n * (n - 1) / 2 + 1));
    std::vector<Index> got(static_cast<std::size_t>(m)), current(static_cast<std::size_t>(m));
    INFO("n = " << n << ", f = " << f << ", range " << range << ", case " << it);
    for (bool depth_first_first : {false, true}) {  // the cover search alone, then as the rule runs
      INFO("depth-first search first: " << depth_first_first);
      const double diameter =
          ra::detail::DiameterSearch(Drow.data(), n, m, words.data(), values.data(), current.data())
              .run(got.data(), depth_first_first);
      CHECK(got == want);
      CHECK(diameter == (m <= 1 ? 0.0 : want_diameter));
    }
    ++cases;
    with_ties += ties > 0;
  }
  CHECK(cases > 2000);
  CHECK(with_ties * 2 > cases);  // most cases had several subsets of the best diameter
}

TEMPLATE_TEST_CASE("mda beyond C(n, f) = 10^6: the pruned exhaustive search's subset",
                   "[new-rules][mda]", float, double) {
  // ByzPy's shape (n = 30, f = 10: C(30, 10) = 3e7 subsets) and larger, on
  // spread-out rows with a cluster of f outliers: the rule's mean against
  // the mean of the subset an exhaustive (pruned) search finds on the
  // reference's distances.
  using T = TestType;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  for (const auto& [n, f, d] : {std::tuple<Index, Index, Index>{30, 10, 64}, {31, 10, 33},
                                {41, 20, 17}, {64, 8, 100}}) {
    ra::GradientMatrix<T> g(n, d);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < d; ++j) g(i, j) = T(normal(rng) + (i % 3 == 1 && i / 3 < f ? 3.0 : 0.0));
    const ref::Matrix gd = ref::to_double(g);
    const std::vector<Index> want = ref::mda_subset_pruned(ref::distances(gd), n - f);
    const ra::Vector<T> got = ra::aggregate(g, ra::Mda{int(f)});
    const std::string diff =
        ra::testing::compare(got.data(), ref::mean_of(gd, want), ra::testing::Match::Rounded,
                             ra::testing::column_scale(gd), n);
    INFO("n = " << n << ", f = " << f << ", d = " << d);
    CHECK(diff.empty());
  }
}

TEMPLATE_TEST_CASE("caf matches the reference", "[new-rules][caf]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  // CAF's path depends on every comparison of eigenvalues and projections; on
  // the exactly tied families (tied, signed zeros) the top eigenvalue can be
  // degenerate and any vector of its eigenspace is right, so those run
  // through the properties only (finite output within the finite rows' range).
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    const ref::VectorD scale = ra::testing::column_scale(gd);
    for (Index f : {Index(0), Index(1), (n - 1) / 2}) {
      if (n < 2 * f + 1) continue;
      const ra::Caf rule{int(f)};
      const ra::Vector<T> got = ra::aggregate(g, rule);
      const bool exact_family = kind == Kind::Random || kind == Kind::NonFinite;
      if (exact_family) {
        // float rows: the distance engine sums squares in float runs (about
        // 1e-7 relative), and the weights compound it over up to n steps
        const double rel = std::is_same_v<T, float> ? 1e-4 : 1e-9;
        const std::string diff = compare_rel(got, ref::caf(gd, int(f)), scale, rel);
        if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": " << diff);
      } else {
        for (Index j = 0; j < d; ++j) {
          double lo = kInf, hi = -kInf;
          for (Index i = 0; i < n; ++i)
            if (ref::row_finite(gd, i)) lo = std::min(lo, gd(i, j)), hi = std::max(hi, gd(i, j));
          const double slack = 8.0 * double(std::numeric_limits<T>::epsilon()) * scale[j];
          if (!(double(got[j]) >= lo - slack && double(got[j]) <= hi + slack)) {
            FAIL_CHECK(describe(kind, n, d, rule.spec()) << ": j=" << j << " out of range");
            break;
          }
        }
      }
      ++cases;
    }
  });
  CHECK(cases > 100);
}

// ---------------------------------------------------------------------------
// Validation, specs, threads.

TEMPLATE_TEST_CASE("new rules: validation messages", "[new-rules][validation]", float, double) {
  using T = TestType;
  CHECK_THAT(error_of<T>(ra::Meamed{2}, 4, 3), Equals("meamed(f=2) needs n >= 2f+1 = 5 gradients, got 4"));
  CHECK_THAT(error_of<T>(ra::Mda{2}, 4, 3), Equals("mda(f=2) needs n >= 2f+1 = 5 gradients, got 4"));
  CHECK_THAT(error_of<T>(ra::Smea{2}, 4, 3), Equals("smea(f=2) needs n >= 2f+1 = 5 gradients, got 4"));
  CHECK_THAT(error_of<T>(ra::Caf{2}, 4, 3), Equals("caf(f=2) needs n >= 2f+1 = 5 gradients, got 4"));
  CHECK_THAT(error_of<T>(ra::Monna{2, 0}, 4, 3),
             Equals("monna(f=2, trusted=0) needs n >= 2f+1 = 5 gradients, got 4"));
  CHECK_THAT(error_of<T>(ra::Monna{1, 3}, 3, 3),
             Equals("monna(f=1, trusted=3) needs 0 <= trusted < n = 3, got trusted = 3"));
  CHECK_THAT(error_of<T>(ra::Monna{1, -1}, 3, 3),
             Equals("monna(f=1, trusted=-1) needs 0 <= trusted < n = 3, got trusted = -1"));
  CHECK_THAT(error_of<T>(ra::GeometricMedian{}, 0, 3),
             Equals("geometric-median(iterations=64, nu=1e-06, tolerance=1e-07) needs at least 1 "
                    "gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::CenteredClipping{1.0}, 0, 3),
             Equals("centered-clipping(tau=1, iterations=1) needs at least 1 gradient, got 0"));
  // f not given
  for (const ra::AnyRule& r : {ra::AnyRule(ra::Meamed{}), ra::AnyRule(ra::Mda{}), ra::AnyRule(ra::Smea{}),
                               ra::AnyRule(ra::Caf{}), ra::AnyRule(ra::Monna{})})
    CHECK_THAT(error_of<T>(r, 5, 3), Contains("f (the number of Byzantine workers to tolerate) was not given"));
  CHECK_THAT(error_of<T>(ra::Meamed{-1}, 5, 3), Equals("meamed(f=-1): f must be >= 0, got f = -1"));
  // static parameters
  CHECK_THAT(error_of<T>(ra::CenteredClipping{}, 3, 3),
             Equals("centered-clipping(tau=0, iterations=1): tau must be finite and > 0, got tau = 0"));
  CHECK_THAT(error_of<T>(ra::CenteredClipping{1.0, 0}, 3, 3),
             Equals("centered-clipping(tau=1, iterations=0): iterations must be >= 1, got iterations = 0"));
  CHECK_THAT(error_of<T>(ra::GeometricMedian{64, 0.0, 1e-7}, 3, 3),
             Equals("geometric-median(iterations=64, nu=0, tolerance=1e-07): nu must be finite and > 0, "
                    "got nu = 0"));
  CHECK_THAT(error_of<T>(ra::GeometricMedian{0, 1e-6, 1e-7}, 3, 3),
             Contains("iterations must be >= 1, got iterations = 0"));
  CHECK_THAT(error_of<T>(ra::GeometricMedian{64, 1e-6, -1.0}, 3, 3),
             Contains("tolerance must be finite and >= 0, got tolerance = -1"));
  // MDA's time bound: the worst case of its search, 5 n^2 + (ceil(log2 C(n, 2)) + 2 + n)
  // cover tests of phi^(f+2) nodes of n * ceil(n / 64) steps, against 1e10.
  // n = 71, f = 35: (12 + 2 + 71) * phi^37 * 71 * 2 = 6.5e11 (by hand)
  CHECK_THAT(error_of<T>(ra::Mda{35}, 71, 2),
             Contains("mda(f=35) could take too long: its exact search for n = 71, f = 35 may need "
                      "up to 6.5"));
  CHECK_THAT(error_of<T>(ra::Mda{35}, 71, 2),
             Contains("> 1e+10 (robustagg::kMaxMdaWork, about 10 s); use a smaller f or fewer "
                      "gradients"));
  CHECK(error_of<T>(ra::Mda{10}, 30, 2) == "(no error)");   // C(30, 10) = 3e7 subsets
  CHECK(error_of<T>(ra::Mda{25}, 51, 2) == "(no error)");   // 64 * phi^27 * 51 = 1.4e9
  CHECK(error_of<T>(ra::Mda{2}, 1000, 2) == "(no error)");  // 1021 * phi^4 * 1000 * 16 = 1.1e8
  CHECK_THAT(error_of<T>(ra::Mda{29}, 59, 2), Contains("could take too long"));  // 1.3e10
  CHECK(ra::detail::mda_search_work(30, 10) ==
        Approx(5.0 * 900.0 + (9.0 + 2.0 + 30.0) * std::pow(1.6180339887498949, 12.0) * 30.0)
            .epsilon(1e-12));
  // SMEA's bound: C(n, f) * ((n - f)^3 / 6 + 2 (n - f)^2) <= 1e10.
  // C(30, 8) = 5852925, 22^3 / 6 + 2 * 22^2 = 2742.67: 1.6e10, refused;
  // C(30, 7) = 2035800, 23^3 / 6 + 2 * 23^2 = 3085.83: 6.3e9, accepted.
  CHECK_THAT(error_of<T>(ra::Smea{8}, 30, 2),
             Contains("smea(f=8) would take too long: it searches C(n, f) = C(30, 8) subsets of "
                      "n - f = 22 rows, work C(n, f) * ((n - f)^3 / 6 + 2 (n - f)^2) = 1.6"));
  CHECK_THAT(error_of<T>(ra::Smea{8}, 30, 2), Contains("(robustagg::kMaxSmeaWork, about 7 s)"));
  CHECK(error_of<T>(ra::Smea{7}, 30, 2) == "(no error)");
  CHECK(error_of<T>(ra::Smea{5}, 25, 2) == "(no error)");
  CHECK(ra::detail::binomial(40, 3) == 9880.0);
  CHECK(ra::detail::binomial(20, 10) == 184756.0);
  CHECK(ra::detail::binomial(30, 10) == 30045015.0);
  CHECK(ra::detail::binomial(5, 7) == 0.0);
  // Huge shapes overflow to +Inf within about a thousand steps instead of
  // looping k times; validate refuses them at once (the fuzzer found
  // arc(then=smea(f=<about 2^31>)) spending 19 s here at its min_rows()).
  const ra::Index big = ra::Index(1000000000000000);
  CHECK(std::isinf(ra::detail::binomial(2 * big + 1, big)));
  CHECK(std::isinf(ra::detail::binomial(ra::Index(4000000000000000000), 2000)));
  CHECK(ra::detail::binomial(ra::Index(4000000000000000000), 1) == 4e18);
  const int f_max = std::numeric_limits<int>::max();
  CHECK_THROWS_WITH(ra::Smea{f_max}.validate(2 * ra::Index(f_max) + 1, 2),
                    Contains("would take too long"));
  CHECK_THROWS_WITH(ra::Mda{f_max}.validate(2 * ra::Index(f_max) + 1, 2),
                    Contains("could take too long"));
  CHECK_THROWS_WITH(ra::parse_rule("arc(f=1, then=smea(f=2147483647))").validate(4294967295, 2),
                    Contains("would take too long"));
}

TEST_CASE("new rules: specs parse, round-trip and check parameters", "[new-rules][spec]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"geometric-median", "geometric-median(iterations=64, nu=1e-06, tolerance=1e-07)"},
      {"geometric-median(iterations=5, nu=0.5, tolerance=0)",
       "geometric-median(iterations=5, nu=0.5, tolerance=0)"},
      {"centered-clipping(tau=2)", "centered-clipping(tau=2, iterations=1)"},
      {"centered-clipping(iterations=3, tau=0.25)", "centered-clipping(tau=0.25, iterations=3)"},
      {"centered-clipping(tau=1, warm-start=1)", "centered-clipping(tau=1, iterations=1, warm-start=1)"},
      {"centered-clipping(tau=1, warm-start=0)", "centered-clipping(tau=1, iterations=1)"},
      {"meamed(f=2)", "meamed(f=2)"},
      {"mda(f=1)", "mda(f=1)"},
      {"monna(f=1)", "monna(f=1, trusted=0)"},
      {"monna(trusted=4, f=1)", "monna(f=1, trusted=4)"},
      {"caf(f=3)", "caf(f=3)"},
      {"smea(f=0)", "smea(f=0)"},
  };
  for (const auto& c : cases) {
    INFO(c.first);
    const ra::AnyRule r = ra::parse_rule(c.first);
    CHECK(r.spec() == c.second);
    CHECK(ra::parse_rule(r.spec()).spec() == r.spec());
  }
  const ra::AnyRule monna = ra::parse_rule("monna(f=1, trusted=4)");
  CHECK(monna.target<ra::Monna>()->trusted == 4);
  const ra::AnyRule warm = ra::parse_rule("centered-clipping(tau=1, warm-start=1)");
  CHECK(warm.target<ra::CenteredClipping>()->warm_start);
  // every name is in the catalogue
  for (const char* name : {"geometric-median", "centered-clipping", "meamed", "mda", "monna", "caf", "smea"}) {
    bool found = false;
    for (const ra::RuleInfo& info : ra::rule_catalog()) found = found || info.name == name;
    CHECK(found);
  }
  // static parameters are checked at parse time
  CHECK_THAT(parse_error("geometric-median(nu=0)"), Contains("nu must be finite and > 0, got nu = 0"));
  CHECK_THAT(parse_error("geometric-median(iterations=0)"), Contains("iterations must be >= 1"));
  CHECK_THAT(parse_error("geometric-median(tolerance=-1)"), Contains("tolerance must be finite and >= 0"));
  CHECK_THAT(parse_error("centered-clipping(tau=0)"), Contains("tau must be finite and > 0, got tau = 0"));
  CHECK_THAT(parse_error("centered-clipping(tau=-2)"), Contains("tau must be finite and > 0"));
  CHECK_THAT(parse_error("centered-clipping(tau=1, iterations=0)"), Contains("iterations must be >= 1"));
  CHECK_THAT(parse_error("centered-clipping(tau=1, warm-start=2)"), Contains("warm-start must be 0 or 1"));
  CHECK_THAT(parse_error("centered-clipping"), Contains("centered-clipping needs parameter 'tau'"));
  CHECK_THAT(parse_error("meamed"), Contains("meamed needs parameter 'f'"));
  CHECK_THAT(parse_error("mda(f=1, m=2)"), Contains("mda has no parameter 'm'"));
  CHECK_THAT(parse_error("monna(f=1, trusted=x)"), Contains("trusted must be a number"));
}

TEMPLATE_TEST_CASE("new rules are bitwise identical for 1, 2 and 4 threads", "[new-rules]",
                   float, double) {
  using T = TestType;
  const Index n = 15, d = 40000 + 5;  // several row-pass tiles (8192), n * d >= 2^18
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T((1.0 + 0.1 * double(i)) * normal(rng));
  g(4, 17) = std::numeric_limits<T>::quiet_NaN();
  g.row(9) *= T(50);  // an outlier row
  const std::vector<std::string> specs = {
      "geometric-median(iterations=8)", "centered-clipping(tau=1, iterations=3)", "meamed(f=3)",
      "mda(f=3)", "monna(f=3, trusted=2)", "caf(f=3)", "smea(f=2)"};
  for (const std::string& spec : specs) {
    INFO(spec);
    const ra::AnyRule rule = ra::parse_rule(spec);
    std::vector<ra::Vector<T>> results;
    for (int threads : {1, 2, 4}) {
      ra::set_num_threads(threads);
      ra::Workspace ws;
      ra::Vector<T> out;
      ra::aggregate(g, rule, out, ws);
      results.push_back(out);
    }
    for (std::size_t r = 1; r < results.size(); ++r)
      CHECK(std::memcmp(results[r].data(), results[0].data(), sizeof(T) * std::size_t(d)) == 0);
  }
  ra::set_num_threads(0);
}
