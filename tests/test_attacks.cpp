// Attack models: formulas against hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <robustagg/attacks.hpp>

using robustagg::Error;
using robustagg::GradientMatrix;
using robustagg::Index;
namespace atk = robustagg::attacks;

TEST_CASE("normal_quantile matches reference values", "[attacks]") {
  // Reference values of Phi^-1 from Python's statistics.NormalDist().inv_cdf
  // (an independent implementation, Wichura's AS 241).
  CHECK(atk::normal_quantile(0.5) == Approx(0.0).margin(1e-15));
  CHECK(atk::normal_quantile(2.0 / 3.0) == Approx(0.43072729929545733).epsilon(1e-12));
  CHECK(atk::normal_quantile(0.72) == Approx(0.5828415072712162).epsilon(1e-12));
  CHECK(atk::normal_quantile(0.975) == Approx(1.9599639845400536).epsilon(1e-12));
  CHECK(atk::normal_quantile(0.99) == Approx(2.3263478740408408).epsilon(1e-12));
  CHECK(atk::normal_quantile(0.3) == Approx(-0.5244005127080407).epsilon(1e-12));
  CHECK(atk::normal_quantile(0.001) == Approx(-3.090232306167813).epsilon(1e-12));
  CHECK(atk::normal_quantile(1e-10) == Approx(-6.361340902404056).epsilon(1e-10));
  // Phi(Phi^-1(p)) = p over both tails and the centre, Phi via erfc.
  for (double p : {1e-8, 0.01, 0.02425, 0.1, 0.4, 0.6, 0.9, 0.97575, 0.999}) {
    const double x = atk::normal_quantile(p);
    CHECK(0.5 * std::erfc(-x / std::sqrt(2.0)) == Approx(p).epsilon(1e-13));
  }
  CHECK_THROWS_AS(atk::normal_quantile(0.0), Error);
  CHECK_THROWS_AS(atk::normal_quantile(1.0), Error);
  CHECK_THROWS_AS(atk::normal_quantile(std::nan("")), Error);
}

TEST_CASE("alie_z follows Baruch et al.", "[attacks]") {
  // n = 15, f = 3: s = floor(15/2 + 1) - 3 = 8 - 3 = 5; z = Phi^-1((15-5)/15) = Phi^-1(2/3).
  CHECK(atk::alie_z(15, 3) == Approx(0.43072729929545733).epsilon(1e-12));
  // n = 50, f = 12: s = 26 - 12 = 14; z = Phi^-1(36/50) = Phi^-1(0.72).
  CHECK(atk::alie_z(50, 12) == Approx(0.5828415072712162).epsilon(1e-12));
  // n = 4, f = 3: s = 3 - 3 = 0: the formula has no answer.
  CHECK_THROWS_WITH(atk::alie_z(4, 3), Catch::Contains("s = floor(n/2 + 1) - f = 0"));
  CHECK_THROWS_AS(atk::alie_z(5, 5), Error);
}

TEMPLATE_TEST_CASE("alie, ipm, reverse, constant on a hand-built matrix", "[attacks]", float,
                   double) {
  using T = TestType;
  GradientMatrix<T> g(4, 2);
  // Honest rows 0..2: column 0 = 1, 2, 3 (mean 2, sample sd 1);
  // column 1 = 0, 0, 6 (mean 2, sample sd sqrt((4 + 4 + 16) / 2) = sqrt(12)).
  g << 1, 0, 2, 0, 3, 6, 9, 9;
  const std::vector<Index> byz = {3};

  SECTION("alie with z = 1") {
    atk::alie(g, byz, 1.0);
    CHECK(g(3, 0) == Approx(2.0 - 1.0));
    CHECK(g(3, 1) == Approx(2.0 - std::sqrt(12.0)));
    CHECK(g(0, 1) == T(0));  // honest rows untouched
  }
  SECTION("alie with the paper's z") {
    // n = 4, f = 1: s = 3 - 1 = 2; z = Phi^-1(2/4) = 0: the honest mean.
    atk::alie(g, byz);
    CHECK(g(3, 0) == Approx(2.0));
    CHECK(g(3, 1) == Approx(2.0));
  }
  SECTION("ipm") {
    atk::ipm(g, byz, 0.5);  // -0.5 * (2, 2)
    CHECK(g(3, 0) == Approx(-1.0));
    CHECK(g(3, 1) == Approx(-1.0));
  }
  SECTION("reverse") {
    atk::reverse(g, {1, 2}, 2.0);  // -2 * own row
    CHECK(g(1, 0) == T(-4));
    CHECK(g(2, 0) == T(-6));
    CHECK(g(2, 1) == T(-12));
    CHECK(g(3, 0) == T(9));
  }
  SECTION("constant, nan, inf") {
    atk::constant(g, {0}, -7.5);
    CHECK(g(0, 0) == T(-7.5));
    CHECK(g(0, 1) == T(-7.5));
    atk::non_finite(g, {1}, std::numeric_limits<T>::quiet_NaN());
    CHECK(std::isnan(g(1, 1)));
    atk::non_finite(g, {2}, std::numeric_limits<T>::infinity());
    CHECK(g(2, 0) == std::numeric_limits<T>::infinity());
    CHECK(g(3, 1) == T(9));
  }
  SECTION("one honest row: sd is 0") {
    atk::alie(g, {1, 2, 3}, 5.0);
    CHECK(g(2, 0) == T(1));
    CHECK(g(2, 1) == T(0));
  }
  SECTION("errors") {
    CHECK_THROWS_WITH(atk::alie(g, {4}, 1.0), Catch::Contains("row 4 is out of range"));
    CHECK_THROWS_WITH(atk::ipm(g, {1, 1}, 1.0), Catch::Contains("listed twice"));
    CHECK_THROWS_WITH(atk::alie(g, {0, 1, 2, 3}, 1.0),
                      Catch::Contains("needs at least one honest row"));
  }
}

TEST_CASE("gaussian attack: seeded, N(0, sigma^2), honest rows untouched", "[attacks]") {
  GradientMatrix<double> a = GradientMatrix<double>::Ones(3, 20000), b = a;
  atk::gaussian(a, {1}, 3.0, 42, 7);
  atk::gaussian(b, {1}, 3.0, 42, 7);
  CHECK(a == b);
  double s = 0, s2 = 0;
  for (Index j = 0; j < a.cols(); ++j) {
    s += a(1, j);
    s2 += a(1, j) * a(1, j);
  }
  const double mean = s / 20000, sd = std::sqrt(s2 / 20000 - mean * mean);
  CHECK(std::fabs(mean) < 0.15);  // 5 standard errors (3 / sqrt(20000) = 0.021)
  CHECK(sd == Approx(3.0).epsilon(0.03));
  CHECK(a.row(0).isOnes());
  CHECK(a.row(2).isOnes());
  atk::gaussian(b, {1}, 3.0, 42, 8);  // another step: another draw
  CHECK(a.row(1) != b.row(1));
}

TEST_CASE("parse_attack", "[attacks]") {
  CHECK(atk::parse_attack("none").name() == "none");
  CHECK(atk::Attack().spec() == "none");
  const atk::Attack alie = atk::parse_attack("alie");
  CHECK(alie.name() == "alie");
  CHECK(alie.spec() == "alie");
  CHECK(atk::parse_attack("alie(z=auto)").spec() == "alie");
  CHECK(atk::parse_attack("alie(z=1.5)").spec() == "alie(z=1.5)");
  CHECK(atk::parse_attack("ipm").spec() == "ipm(eps=0.5)");
  CHECK(atk::parse_attack("ipm(eps=0.1)").spec() == "ipm(eps=0.1)");
  CHECK(atk::parse_attack("reverse").spec() == "reverse(c=100)");
  CHECK(atk::parse_attack("constant(c=-100)").spec() == "constant(c=-100)");
  CHECK(atk::parse_attack("gaussian(sigma=2, seed=9)").spec() == "gaussian(sigma=2, seed=9)");
  CHECK(atk::parse_attack("nan").name() == "nan");
  CHECK(atk::parse_attack("inf").name() == "inf");
  CHECK(atk::parse_attack("inf").kind() == atk::Attack::Kind::gradient);
  {  // the parsed values reach the formulas: constant(c=-100), alie(z=1.5)
    GradientMatrix<double> g(3, 1);
    g << 1, 3, 7;
    atk::parse_attack("constant(c=-100)").apply(g, {1});
    CHECK(g(1, 0) == -100.0);
    g << 1, 3, 7;  // honest 1 and 7: mean 4, sample sd sqrt(18)
    atk::parse_attack("alie(z=1.5)").apply(g, {1});
    CHECK(g(1, 0) == Approx(4.0 - 1.5 * std::sqrt(18.0)));
  }
  for (const char* s : {"alie(z=1.5)", "ipm(eps=0.25)", "reverse(c=3)", "constant(c=-2)",
                        "gaussian(sigma=1, seed=3)", "nan", "inf", "none", "alie", "label-flip"})
    CHECK(atk::parse_attack(atk::parse_attack(s).spec()).spec() == atk::parse_attack(s).spec());
  CHECK_THROWS_WITH(atk::parse_attack("lie"), Catch::Contains("unknown attack 'lie'"));
  CHECK_THROWS_WITH(atk::parse_attack("ipm(c=1)"), Catch::Contains("has no parameter 'c'"));
  CHECK_THROWS_AS(atk::parse_attack("ipm(eps=)"), Error);

  // apply() runs the same formulas: IPM through the parsed attack.
  GradientMatrix<float> g(3, 1);
  g << 2, 4, 100;
  atk::parse_attack("ipm(eps=2)").apply(g, {2});
  CHECK(g(2, 0) == -6.0f);  // -2 * mean(2, 4) = -6
}
