// A stage's own output (any_stage.hpp): parse_stage for every stage of the
// catalogue, apply_stage against the plain references of the stages
// (tests/reference/stages.hpp), and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

#include "reference/stages.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using ra::Index;

namespace {

std::string parse_error(const std::string& spec) {
  try {
    ra::parse_stage(spec);
  } catch (const ra::Error& e) {
    return e.what();
  }
  return "(no error)";
}

template <class T>
ra::GradientMatrix<T> random_input(Index n, Index d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = T((1.0 + 0.5 * double(i % 4)) * normal(rng));
  return g;
}

/// |got - want| <= tol * max(1, |want|) everywhere, with the same shape.
template <class T>
bool close(const ra::GradientMatrix<T>& got, const ref::Matrix& want, double tol) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) return false;
  for (Index i = 0; i < got.rows(); ++i)
    for (Index j = 0; j < got.cols(); ++j)
      if (!(std::fabs(double(got(i, j)) - want(i, j)) <= tol * std::max(1.0, std::fabs(want(i, j)))))
        return false;
  return true;
}

}  // namespace

TEST_CASE("parse_stage knows every stage of the catalogue", "[stages][any-stage]") {
  std::vector<std::string> stages;
  for (const ra::RuleInfo& info : ra::rule_catalog())
    if (ra::detail::takes_parameter(info.parameters, "then")) stages.push_back(info.name);
  CHECK(stages == std::vector<std::string>{"clip", "nnm", "arc", "bucketing"});
  for (const std::string& name : stages) {
    INFO(name);
    const std::string spec = name == "clip" ? "clip(c=2)" : name == "bucketing" ? "bucketing(s=2, seed=3)"
                                                                               : name + "(f=1)";
    const ra::AnyStage st = ra::parse_stage(spec);
    CHECK(st.spec() == spec);
    CHECK(ra::parse_stage(st.spec()).spec() == spec);
  }
  CHECK(ra::parse_stage("bucketing(s=3)").rows_out(10) == 4);
  CHECK(ra::parse_stage("nnm(f=2)").rows_out(10) == 10);
  const ra::AnyStage nnm = ra::parse_stage("nnm(f=2)");
  CHECK(nnm.target<ra::Nnm>()->f == 2);
  CHECK(nnm.target<ra::Clip>() == nullptr);
}

TEMPLATE_TEST_CASE("apply_stage gives each stage's output matrix", "[stages][any-stage]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-13;
  for (Index n : {Index(5), Index(9)}) {
    for (Index d : {Index(1), Index(7), Index(300)}) {
      INFO("n = " << n << " d = " << d);
      const auto g = random_input<T>(n, d, unsigned(n * 1000 + d));
      const ref::Matrix gd = g.template cast<double>();
      ra::Workspace ws;
      ra::GradientMatrix<T> out;
      ra::apply_stage(g, ra::parse_stage("clip(c=1.5)"), out, ws);
      CHECK(close(out, ref::clip(gd, 1.5), tol));
      ra::apply_stage(g, ra::parse_stage("nnm(f=2)"), out, ws);
      CHECK(close(out, ref::nnm(gd, 2), tol));
      ra::apply_stage(g, ra::parse_stage("arc(f=2)"), out, ws);
      CHECK(close(out, ref::arc(gd, 2), tol));
      ra::apply_stage(g, ra::parse_stage("bucketing(s=2, seed=11)"), out, ws);
      CHECK(close(out, ref::bucketing(gd, 2, 11), tol));
      CHECK(out.rows() == (n + 1) / 2);
      // A column-major copy of the input gives the same bits.
      const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> col = g;
      ra::GradientMatrix<T> out_col;
      ra::apply_stage(col, ra::parse_stage("bucketing(s=2, seed=11)"), out_col, ws);
      CHECK(out_col == out);
    }
  }
}

TEMPLATE_TEST_CASE("apply_stage: raw form, reports, rows passed unchanged, non-finite rows",
                   "[stages][any-stage]", float, double) {
  using T = TestType;
  ra::GradientMatrix<T> g(5, 3);
  g << 3, 4, 0,   // norm 5
      0.5, 0, 0,  // norm 0.5
      1, 2, 2,    // norm 3
      std::numeric_limits<T>::quiet_NaN(), 1, 1,  //
      0, 0, 0;
  const ra::AnyStage clip = ra::parse_stage("clip(c=1)");
  std::vector<T> out(15);
  ra::Workspace ws;
  const auto view = ra::RowsView<T>::strided(g.data(), 5, 3, 3);
  CHECK(ra::apply_stage(view, clip, out.data(), ws) == 5);
  // row 0 scaled to norm 1: (0.6, 0.8, 0); row 2 to (1/3, 2/3, 2/3); the others as they are
  CHECK(out[0] == Approx(0.6));
  CHECK(out[1] == Approx(0.8));
  CHECK(out[3] == T(0.5));
  CHECK(out[6] == Approx(1.0 / 3));
  CHECK(out[8] == Approx(2.0 / 3));
  CHECK(std::isnan(out[9]));
  CHECK(out[10] == T(1));
  CHECK(out[12] == T(0));
  REQUIRE(ws.report().size() == 1);
  CHECK(ws.report()[0].stage == "clip");
  CHECK(ws.report()[0].changed == 2);
  // the input is never modified
  CHECK(g(0, 0) == T(3));
  CHECK_THROWS_WITH(ra::apply_stage(view, ra::parse_stage("nnm(f=3)"), out.data(), ws),
                    "nnm(f=3) needs n >= 2f+1 = 7 gradients, got 5");
  CHECK_THROWS_WITH(ra::apply_stage(view, clip, static_cast<T*>(nullptr), ws),
                    "aggregate: the output pointer is null (d = 3)");
}

TEST_CASE("parse_stage errors name the spec", "[stages][any-stage]") {
  CHECK(parse_error("krum(f=1)") ==
        "stage spec 'krum(f=1)': 'krum' is a rule, not a stage (stages: clip, nnm, arc, bucketing)");
  CHECK(parse_error("clipp(c=1)") ==
        "stage spec 'clipp(c=1)': 'clipp' is unknown, not a stage (stages: clip, nnm, arc, bucketing)");
  CHECK(parse_error("nnm(f=1, then=median)") ==
        "stage spec 'nnm(f=1, then=median)': a stage's own output takes the stage alone, without then=");
  CHECK(parse_error("clip(c=0)") == "clip(c=0): c must be finite and > 0, got c = 0");
  CHECK(parse_error("nnm(g=1)") == "rule spec 'nnm(g=1)': nnm has no parameter 'g' (nnm takes f, then)");
  CHECK(parse_error("nnm") == "rule spec 'nnm': nnm needs parameter 'f'");
  CHECK_THROWS_WITH(ra::AnyStage().spec(), "robustagg::AnyStage: empty stage (default-constructed)");
}
