// Every always-on check at the API boundary throws robustagg::Error with a
// message naming the rule, the requirement and the values got.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <robustagg/robustagg.hpp>
#include <string>

namespace ra = robustagg;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

template <class T, class Rule>
std::string error_of(const Rule& rule, Eigen::Index n, Eigen::Index d) {
  const ra::GradientMatrix<T> g = ra::GradientMatrix<T>::Ones(n, d);
  try {
    (void)ra::aggregate(g, rule);
  } catch (const ra::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEMPLATE_TEST_CASE("too few gradients names the rule, the requirement and n",
                   "[validation]", float, double) {
  using T = TestType;
  CHECK_THAT(error_of<T>(ra::Bulyan{3}, 12, 4),
             Equals("bulyan(f=3) needs n >= 4f+3 = 15 gradients, got 12"));
  CHECK_THAT(error_of<T>(ra::Krum{2}, 6, 4),
             Equals("krum(f=2) needs n >= 2f+3 = 7 gradients, got 6"));
  CHECK_THAT(error_of<T>(ra::MultiKrum{2, 0}, 6, 4),
             Equals("multi-krum(f=2, m=0) needs n >= 2f+3 = 7 gradients, got 6"));
  CHECK_THAT(error_of<T>(ra::TrimmedMean{2}, 4, 4),
             Equals("trimmed-mean(f=2) needs n >= 2f+1 = 5 gradients, got 4"));
  // at the requirement, no error
  CHECK(error_of<T>(ra::Bulyan{3}, 15, 4) == "(no error)");
  CHECK(error_of<T>(ra::Krum{2}, 7, 4) == "(no error)");
  CHECK(error_of<T>(ra::MultiKrum{2, 0}, 7, 4) == "(no error)");
  CHECK(error_of<T>(ra::TrimmedMean{2}, 5, 4) == "(no error)");
}

TEMPLATE_TEST_CASE("empty input: n = 0 and d = 0", "[validation]", float, double) {
  using T = TestType;
  CHECK_THAT(error_of<T>(ra::Mean{}, 0, 4), Equals("mean needs at least 1 gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::Median{}, 0, 4), Equals("median needs at least 1 gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::SignVote{}, 0, 4),
             Equals("sign-vote needs at least 1 gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::NoisyMedian{1.0, 2}, 0, 4),
             Equals("noisy-median(b=1, seed=2) needs at least 1 gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::NoisySignVote{1.0, 2}, 0, 4),
             Equals("noisy-sign-vote(b=1, seed=2) needs at least 1 gradient, got 0"));
  CHECK_THAT(error_of<T>(ra::Krum{1}, 0, 4),
             Equals("krum(f=1) needs n >= 2f+3 = 5 gradients, got 0"));
  CHECK_THAT(error_of<T>(ra::Bulyan{0}, 0, 0),
             Equals("bulyan(f=0) needs n >= 4f+3 = 3 gradients, got 0"));
  for (const std::string spec : {"mean", "median", "trimmed-mean(f=1)", "krum(f=1)",
                                  "multi-krum(f=1, m=0)", "bulyan(f=1)", "sign-vote",
                                  "noisy-median(b=0.5, seed=0)",
                                  "noisy-sign-vote(b=0.5, seed=0)"}) {
    INFO(spec);
    CHECK_THAT(error_of<T>(ra::parse_rule(spec), 7, 0),
               Equals(spec + " needs gradients with d >= 1 coordinates, got d = 0"));
  }
}

TEMPLATE_TEST_CASE("negative f", "[validation]", float, double) {
  using T = TestType;
  CHECK_THAT(error_of<T>(ra::Krum{-1}, 9, 2), Equals("krum(f=-1): f must be >= 0, got f = -1"));
  CHECK_THAT(error_of<T>(ra::TrimmedMean{-2}, 9, 2),
             Equals("trimmed-mean(f=-2): f must be >= 0, got f = -2"));
  CHECK_THAT(error_of<T>(ra::MultiKrum{-1, 0}, 9, 2),
             Equals("multi-krum(f=-1, m=0): f must be >= 0, got f = -1"));
  CHECK_THAT(error_of<T>(ra::Bulyan{-3}, 9, 2),
             Equals("bulyan(f=-3): f must be >= 0, got f = -3"));
}

TEMPLATE_TEST_CASE("noise scale b: negative, NaN, infinite", "[validation]", float, double) {
  using T = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THAT(error_of<T>(ra::NoisyMedian{-0.5, 0}, 3, 2),
             Equals("noisy-median(b=-0.5, seed=0): b must be finite and >= 0, got b = -0.5"));
  CHECK_THAT(error_of<T>(ra::NoisySignVote{-0.5, 0}, 3, 2),
             Equals("noisy-sign-vote(b=-0.5, seed=0): b must be finite and >= 0, got b = -0.5"));
  CHECK_THAT(error_of<T>(ra::NoisyMedian{nan, 1}, 3, 2),
             Contains("noisy-median(b=") && Contains("b must be finite and >= 0, got b = ") &&
                 Contains("nan"));
  CHECK_THAT(error_of<T>(ra::NoisySignVote{inf, 1}, 3, 2),
             Contains("b must be finite and >= 0, got b = inf"));
  // the worker-side helpers check b too
  const ra::Vector<T> v = ra::Vector<T>::Ones(3);
  CHECK_THROWS_WITH(ra::perturb(v, -1.0, 0, 0), "perturb: b must be finite and >= 0, got b = -1");
  T buf[3] = {1, 2, 3};
  CHECK_THROWS_WITH(ra::perturb_inplace(buf, 3, nan, 0, 0),
                    Contains("perturb: b must be finite and >= 0"));
  CHECK(buf[0] == T(1));  // untouched after the error
  const ra::GradientMatrix<T> m = ra::GradientMatrix<T>::Ones(2, 3);
  CHECK_THROWS_WITH(ra::perturb(m, 1.0, 0, 0), "perturb needs a vector, got a 2 x 3 matrix");
}

TEMPLATE_TEST_CASE("multi-krum m out of range", "[validation]", float, double) {
  using T = TestType;
  CHECK_THAT(error_of<T>(ra::MultiKrum{1, 9}, 7, 2),
             Equals("multi-krum(f=1, m=9) needs 1 <= m <= n = 7, got m = 9"));
  CHECK_THAT(error_of<T>(ra::MultiKrum{1, -1}, 7, 2),
             Equals("multi-krum(f=1, m=-1): m must be >= 0 (0 means n - f), got m = -1"));
  CHECK(error_of<T>(ra::MultiKrum{1, 7}, 7, 2) == "(no error)");
  CHECK(error_of<T>(ra::MultiKrum{1, 1}, 7, 2) == "(no error)");
}

TEMPLATE_TEST_CASE("every entry point validates", "[validation]", float, double) {
  using T = TestType;
  const ra::GradientMatrix<T> g = ra::GradientMatrix<T>::Ones(12, 3);
  const char* want = "bulyan(f=3) needs n >= 4f+3 = 15 gradients, got 12";
  // value form, short form, workspace form, Aggregator, AnyRule, row pointers, RowsView
  CHECK_THROWS_WITH(ra::aggregate(g, ra::Bulyan{3}), want);
  CHECK_THROWS_WITH(ra::aggregate<ra::Bulyan>(g, 3), want);
  ra::Vector<T> out;
  ra::Workspace ws;
  CHECK_THROWS_WITH(ra::aggregate(g, ra::Bulyan{3}, out, ws), want);
  CHECK(out.size() == 0);  // nothing written on error
  ra::Aggregator<> agg(ra::parse_rule("bulyan(f=3)"));
  CHECK_THROWS_WITH(agg(g), want);
  const T* rows[12];
  for (int i = 0; i < 12; ++i) rows[i] = g.row(i).data();
  T buf[3];
  CHECK_THROWS_WITH(ra::aggregate(rows, 12, 3, ra::Bulyan{3}, buf, ws), want);
  CHECK_THROWS_WITH(
      ra::aggregate(ra::RowsView<T>::strided(g.data(), 12, 3, 3), ra::Bulyan{3}, buf, ws), want);
  // n = 0 through row pointers: no pointer is read
  CHECK_THROWS_WITH(ra::aggregate(static_cast<const T* const*>(nullptr), 0, 3, ra::Median{}, buf, ws),
                    "median needs at least 1 gradient, got 0");
}

TEST_CASE("errors are robustagg::Error, a std::invalid_argument", "[validation]") {
  const ra::GradientMatrix<float> g = ra::GradientMatrix<float>::Ones(2, 2);
  CHECK_THROWS_AS(ra::aggregate(g, ra::Krum{0}), ra::Error);
  CHECK_THROWS_AS(ra::aggregate(g, ra::Krum{0}), std::invalid_argument);
  CHECK_THROWS_AS(ra::parse_rule("krum(f=x)"), ra::Error);
}

TEST_CASE("an empty AnyRule throws instead of crashing", "[validation]") {
  const ra::AnyRule empty;
  CHECK(empty.empty());
  const ra::GradientMatrix<double> g = ra::GradientMatrix<double>::Ones(3, 2);
  CHECK_THROWS_WITH(ra::aggregate(g, empty), Contains("empty rule"));
  CHECK_THROWS_WITH(empty.spec(), Contains("empty rule"));
}

TEST_CASE("huge f does not overflow the requirement", "[validation]") {
  const int big = std::numeric_limits<int>::max();
  CHECK_THAT(error_of<double>(ra::Bulyan{big}, 3, 2),
             Equals("bulyan(f=2147483647) needs n >= 4f+3 = 8589934591 gradients, got 3"));
  CHECK_THAT(error_of<double>(ra::Krum{big}, 3, 2),
             Equals("krum(f=2147483647) needs n >= 2f+3 = 4294967297 gradients, got 3"));
  CHECK_THAT(error_of<double>(ra::TrimmedMean{big}, 3, 2),
             Equals("trimmed-mean(f=2147483647) needs n >= 2f+1 = 4294967295 gradients, got 3"));
}
