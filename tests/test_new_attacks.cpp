// The attacks sign-flip, mimic, optimal-alie, optimal-ipm, min-max and
// min-sum: hand-computed values, the min-max / min-sum constraints checked
// from their definitions at the returned gamma and just above it, the
// optimal attacks against the plain ones, and the attack spec parser.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <robustagg/attacks.hpp>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

namespace ra = robustagg;
namespace atk = robustagg::attacks;
using ra::Index;

namespace {

template <class T>
ra::GradientMatrix<T> random_rows(Index n, Index d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T(0.5 + (1.0 + 0.2 * double(i % 3)) * normal(rng));
  return g;
}

/// The pieces of the min-max / min-sum constraint, straight from the paper's
/// definition, on the honest rows of g (rows not in byz), in double.
struct Constraint {
  std::vector<std::vector<double>> x;  // honest rows
  std::vector<double> mu, p;
  double max_pair = 0.0;     // max_ij ||x_i - x_j||^2
  double min_sum_row = 0.0;  // min_j sum_i ||x_j - x_i||^2

  template <class T>
  Constraint(const ra::GradientMatrix<T>& g, const std::vector<Index>& byz, atk::Direction dir) {
    for (Index i = 0; i < g.rows(); ++i) {
      if (std::find(byz.begin(), byz.end(), i) != byz.end()) continue;
      std::vector<double> r;
      for (Index j = 0; j < g.cols(); ++j) r.push_back(double(g(i, j)));
      x.push_back(r);
    }
    const std::size_t h = x.size(), d = x[0].size();
    mu.assign(d, 0.0);
    for (const auto& r : x)
      for (std::size_t j = 0; j < d; ++j) mu[j] += r[j];
    for (double& m : mu) m /= double(h);
    p.assign(d, 0.0);
    double norm = 0.0;
    for (double m : mu) norm += m * m;
    norm = std::sqrt(norm);
    for (std::size_t j = 0; j < d; ++j) {
      if (dir == atk::Direction::std_dev) {
        double s = 0.0;
        for (const auto& r : x) s += (r[j] - mu[j]) * (r[j] - mu[j]);
        p[j] = std::sqrt(s / double(h - 1));
      } else if (dir == atk::Direction::unit) {
        p[j] = mu[j] / norm;
      } else {
        p[j] = mu[j] > 0 ? 1.0 : mu[j] < 0 ? -1.0 : 0.0;
      }
    }
    min_sum_row = std::numeric_limits<double>::infinity();
    for (std::size_t a = 0; a < h; ++a) {
      double row = 0.0;
      for (std::size_t b = 0; b < h; ++b) {
        const double dd = sq(x[a], x[b]);
        max_pair = std::max(max_pair, dd);
        row += dd;
      }
      min_sum_row = std::min(min_sum_row, row);
    }
  }
  static double sq(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (std::size_t j = 0; j < a.size(); ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
  }
  std::vector<double> m(double gamma) const {
    std::vector<double> v(mu.size());
    for (std::size_t j = 0; j < mu.size(); ++j) v[j] = mu[j] - gamma * p[j];
    return v;
  }
  bool min_max_holds(double gamma) const {
    const std::vector<double> v = m(gamma);
    double worst = 0.0;
    for (const auto& r : x) worst = std::max(worst, sq(v, r));
    return worst <= max_pair;
  }
  bool min_sum_holds(double gamma) const {
    const std::vector<double> v = m(gamma);
    double total = 0.0;
    for (const auto& r : x) total += sq(v, r);
    return total <= min_sum_row;
  }
};

template <class T>
double damage(const ra::GradientMatrix<T>& g, const std::vector<Index>& byz, const ra::AnyRule& rule) {
  const Constraint c(g, byz, atk::Direction::std_dev);  // for the honest mean
  const ra::Vector<T> out = ra::aggregate(g, rule);
  double s = 0.0;
  for (Index j = 0; j < out.size(); ++j) s += (double(out[j]) - c.mu[std::size_t(j)]) * (double(out[j]) - c.mu[std::size_t(j)]);
  return std::isfinite(s) ? std::sqrt(s) : std::numeric_limits<double>::infinity();
}

}  // namespace

TEMPLATE_TEST_CASE("sign-flip and mimic on a hand-built matrix", "[attacks][new]", float, double) {
  using T = TestType;
  ra::GradientMatrix<T> g(4, 2);
  g << 9, 9, 1, 0, 2, 0, 3, 6;  // row 0 Byzantine; honest mean (2, 2)
  SECTION("sign-flip: -mean of the honest rows") {
    atk::sign_flip(g, {0});
    CHECK(g(0, 0) == T(-2));
    CHECK(g(0, 1) == T(-2));
    CHECK(g(1, 0) == T(1));
  }
  SECTION("mimic: worker counts the honest rows") {
    atk::mimic(g, {0});
    CHECK(g(0, 0) == T(1));
    atk::mimic(g, {0}, 2);
    CHECK(g(0, 0) == T(3));
    CHECK(g(0, 1) == T(6));
    CHECK_THROWS_WITH(atk::mimic(g, {0}, 3),
                      "mimic(worker=3) needs 0 <= worker < 3 (the number of honest rows)");
  }
}

TEMPLATE_TEST_CASE("min-max and min-sum: hand-computed gamma", "[attacks][new]", float, double) {
  using T = TestType;
  // honest rows 0 and 2 (1-D), Byzantine row 1: mu = 1, sample sd = sqrt 2.
  // min-max: (1 + gamma sqrt 2)^2 <= 4 -> gamma = 1/sqrt 2, m = 0.
  // min-sum: (1 - gamma sqrt 2)^2 + (1 + gamma sqrt 2)^2 = 2 + 4 gamma^2 <= 4 -> 1/sqrt 2.
  // p = unit or sign: p = 1, (1 + gamma)^2 <= 4 -> gamma = 1, m = 0.
  ra::GradientMatrix<T> g(3, 1);
  g << 0, 7, 2;
  const double r2 = std::sqrt(0.5);
  auto run = [&](bool sum, atk::Direction p) {
    ra::GradientMatrix<T> h = g;
    const double gamma = sum ? atk::min_sum(h, {1}, p) : atk::min_max(h, {1}, p);
    return std::make_pair(gamma, double(h(1, 0)));
  };
  CHECK(run(false, atk::Direction::std_dev).first == Approx(r2).epsilon(1e-8));
  CHECK(run(false, atk::Direction::std_dev).second == Approx(0.0).margin(1e-6));
  CHECK(run(true, atk::Direction::std_dev).first == Approx(r2).epsilon(1e-8));
  CHECK(run(false, atk::Direction::unit).first == Approx(1.0).epsilon(1e-8));
  // min-sum with p = 1: m = 1 - gamma; (1 - gamma)^2 + (1 + gamma)^2 = 2 + 2 gamma^2 <= 4
  // -> gamma = 1.
  CHECK(run(true, atk::Direction::sign).first == Approx(1.0).epsilon(1e-8));
  // all honest rows equal: std = 0 -> gamma = 0, the rows are the mean
  ra::GradientMatrix<T> same(3, 2);
  same << 1, 2, 1, 2, 5, 5;
  CHECK(atk::min_max(same, {2}) == 0.0);
  CHECK(same(2, 0) == T(1));
}

TEMPLATE_TEST_CASE("min-max and min-sum: the constraint holds at gamma and fails just above",
                   "[attacks][new]", float, double) {
  using T = TestType;
  for (Index n : {Index(5), Index(12)})
    for (Index d : {Index(1), Index(7), Index(100)})
      for (atk::Direction dir : {atk::Direction::std_dev, atk::Direction::unit, atk::Direction::sign})
        for (bool sum : {false, true}) {
          const ra::GradientMatrix<T> g0 = random_rows<T>(n, d, std::uint64_t(n * 1000 + d));
          const std::vector<Index> byz = {0, n - 1};
          ra::GradientMatrix<T> g = g0;
          const double gamma = sum ? atk::min_sum(g, byz, dir) : atk::min_max(g, byz, dir);
          INFO((sum ? "min-sum" : "min-max") << " p=" << atk::direction_name(dir) << " n=" << n
                                             << " d=" << d << " gamma=" << gamma);
          const Constraint c(g0, byz, dir);
          auto holds = [&](double x) { return sum ? c.min_sum_holds(x) : c.min_max_holds(x); };
          CHECK(gamma > 0.0);
          CHECK(holds(gamma));
          CHECK_FALSE(holds(gamma * (1.0 + 2e-9)));
          // the Byzantine rows are m(gamma), rounded to T; honest rows untouched
          const std::vector<double> m = c.m(gamma);
          const double eps = std::numeric_limits<T>::epsilon();
          for (Index j = 0; j < d; ++j) {
            const double w = m[std::size_t(j)];
            CHECK(double(g(0, j)) == Approx(w).epsilon(eps).margin(eps));
            CHECK(g(n - 1, j) == g(0, j));
            CHECK(g(1, j) == g0(1, j));
          }
        }
}

TEMPLATE_TEST_CASE("optimal-alie and optimal-ipm do at least as much damage as the plain attacks",
                   "[attacks][new]", float, double) {
  using T = TestType;
  const Index n = 12, d = 16;
  const std::vector<Index> byz = {2, 5, 9};
  const ra::GradientMatrix<T> g0 = random_rows<T>(n, d, 77);
  for (const char* spec : {"mean", "median", "trimmed-mean(f=3)", "krum(f=3)", "multi-krum(f=3)",
                           "nnm(f=3, then=trimmed-mean(f=3))", "clip(c=2, then=median)"}) {
    INFO(spec);
    const ra::AnyRule rule = ra::parse_rule(spec);
    ra::GradientMatrix<T> plain = g0, best = g0;
    atk::alie(plain, byz);
    const double z = atk::optimal_alie(best, byz, rule);
    CHECK(z >= 0.0);
    CHECK(z <= 10.0);
    CHECK(damage(best, byz, rule) >= damage(plain, byz, rule));
    plain = g0;
    best = g0;
    atk::ipm(plain, byz, 0.5);
    const double eps = atk::optimal_ipm(best, byz, rule);
    CHECK(eps <= 10.0);
    CHECK(damage(best, byz, rule) >= damage(plain, byz, rule));
    // the honest rows are untouched; the Byzantine rows are -eps * mean
    CHECK(best(0, 0) == g0(0, 0));
  }
  // the mean's damage grows with z: the search ends at max
  ra::GradientMatrix<T> g = g0;
  CHECK(atk::optimal_alie(g, byz, ra::parse_rule("mean"), 4.0, 8) == 4.0);
  CHECK_THROWS_WITH(atk::optimal_alie(g, byz, ra::parse_rule("krum(f=5)")),
                    Catch::StartsWith("krum(f=5) needs n >= 2f+3 = 13 gradients, got 12"));
  CHECK_THROWS_WITH(atk::optimal_ipm(g, byz, ra::parse_rule("mean"), 0.0),
                    "optimal-ipm: max must be finite and > 0, got max = 0");
}

TEST_CASE("parse_attack: the new attacks", "[attacks][new][spec]") {
  CHECK(atk::parse_attack("sign-flip").name() == "sign-flip");
  CHECK(atk::parse_attack("sign-flip").spec() == "sign-flip");
  CHECK(atk::parse_attack("mimic").spec() == "mimic(worker=0)");
  CHECK(atk::parse_attack("mimic(worker=3)").spec() == "mimic(worker=3)");
  CHECK(atk::parse_attack("min-max").spec() == "min-max(p=std)");
  CHECK(atk::parse_attack("min-sum(p=unit)").spec() == "min-sum(p=unit)");
  CHECK(atk::parse_attack("min-max(p=sign)").spec() == "min-max(p=sign)");
  const atk::Attack o = atk::parse_attack("optimal-alie(rule=nnm(f=1, then=krum(f=1)))");
  CHECK(o.name() == "optimal-alie");
  CHECK(o.spec() == "optimal-alie(rule=nnm(f=1, then=krum(f=1)), max=10, steps=40)");
  CHECK(atk::parse_attack(o.spec()).spec() == o.spec());
  CHECK(atk::parse_attack("optimal-ipm(rule=median, max=2.5, steps=10)").spec() ==
        "optimal-ipm(rule=median, max=2.5, steps=10)");
  auto err = [](const char* spec) {
    try {
      atk::parse_attack(spec);
    } catch (const ra::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK_THAT(err("optimal-alie"), Catch::Contains("optimal-alie needs rule=SPEC"));
  CHECK_THAT(err("optimal-ipm(rule=nosuch)"), Catch::Contains("unknown rule 'nosuch'"));
  CHECK_THAT(err("optimal-ipm(rule=mean, steps=0)"), Catch::Contains("steps must be >= 1"));
  CHECK_THAT(err("min-max(p=up)"), Catch::Contains("p must be one of std, unit, sign, got 'up'"));
  CHECK_THAT(err("min-sum(q=std)"), Catch::Contains("has no parameter 'q'"));
  CHECK_THAT(err("sign-flip(c=1)"), Catch::Contains("has no parameter 'c'"));
  CHECK_THAT(err("nosuch"), Catch::Contains("min-max, min-sum, label-flip)"));
  // every new attack runs through Attack::apply
  for (const char* spec : {"sign-flip", "mimic(worker=1)", "optimal-alie(rule=median, steps=4)",
                           "optimal-ipm(rule=krum(f=2), steps=4)", "min-max", "min-sum(p=sign)"}) {
    INFO(spec);
    ra::GradientMatrix<float> g = random_rows<float>(9, 5, 3);
    const ra::GradientMatrix<float> before = g;
    atk::parse_attack(spec).apply(g, {0, 4});
    CHECK(g.row(1) == before.row(1));
    CHECK(g.row(0) == g.row(4));
    CHECK(g.row(0) != before.row(0));
    CHECK(g.allFinite());
  }
}
