// The stages clip, nnm, arc and bucketing: hand-computed cases, the scalar
// references (tests/reference/stages.hpp) over the input families, non-finite
// rows, ties, the input left unmodified, every validation message, the spec
// parser (then= chains, DETOX with a stage), and the stage reports.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

#include "reference/inputs.hpp"
#include "reference/reference.hpp"
#include "reference/stages.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using ra::Index;
using ra::testing::Kind;
using ra::testing::Match;

namespace {

template <class T>
ra::GradientMatrix<T> rows_of(std::initializer_list<std::initializer_list<double>> rows) {
  ra::GradientMatrix<T> g(Index(rows.size()), Index(rows.begin()->size()));
  Index i = 0;
  for (const auto& r : rows) {
    Index j = 0;
    for (double x : r) g(i, j++) = T(x);
    ++i;
  }
  return g;
}

/// The stage's output as a matrix, and its view (row pointers) for identity checks.
template <class T, class Stage>
ra::GradientMatrix<T> apply_stage(const Stage& st, const ra::GradientMatrix<T>& g,
                                  ra::Workspace& ws, std::vector<ra::StageReport>& rep,
                                  std::vector<const T*>* row_ptrs = nullptr) {
  const auto v = st.template apply<T>(
      ra::RowsView<T>::strided(g.data(), g.rows(), g.cols(), g.cols()), ws, rep);
  ra::GradientMatrix<T> out(v.rows(), v.cols());
  for (Index i = 0; i < v.rows(); ++i) {
    for (Index j = 0; j < v.cols(); ++j) out(i, j) = v(i, j);
    if (row_ptrs) row_ptrs->push_back(v.row(i));
  }
  return out;
}

template <class T, class Stage>
ra::GradientMatrix<T> apply_stage(const Stage& st, const ra::GradientMatrix<T>& g) {
  ra::Workspace ws;
  std::vector<ra::StageReport> rep;
  return apply_stage(st, g, ws, rep);
}

template <class T>
void require_close(const ra::GradientMatrix<T>& got, const ref::Matrix& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (Index i = 0; i < got.rows(); ++i)
    for (Index j = 0; j < got.cols(); ++j) {
      INFO("row " << i << " col " << j);
      if (std::isnan(want(i, j)))
        CHECK(std::isnan(got(i, j)));
      else
        CHECK(double(got(i, j)) == Approx(want(i, j)).epsilon(1e-6).margin(1e-12));
    }
}

/// Every row of got against the reference rows, to the Rounded tolerance at
/// the input's value scale.
template <class T>
std::string compare_rows(const ra::GradientMatrix<T>& got, const ref::Matrix& want,
                         const ref::Matrix& input) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) return "shape differs";
  const ref::VectorD scale = ra::testing::column_scale(input);
  for (Index i = 0; i < got.rows(); ++i) {
    const ra::Vector<T> row = got.row(i).transpose();
    const ref::VectorD w = want.row(i).transpose();
    const std::string diff = ra::testing::compare(row.data(), w, Match::Rounded, scale, input.rows());
    if (!diff.empty()) return "row " + std::to_string(i) + ": " + diff;
  }
  return "";
}

template <class T>
bool same_bits(const ra::GradientMatrix<T>& a, const ra::GradientMatrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * std::size_t(a.size())) == 0;
}

const std::vector<Index> kRows = {1, 2, 3, 4, 5, 7, 8, 11, 16};
const std::vector<Index> kDims = {1, 3, 8, 9, 17, 257, 2049};

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEMPLATE_TEST_CASE("clip: hand-computed cases", "[stages][clip]", float, double) {
  using T = TestType;
  // norms 5, 0, 0.5, non-finite, non-finite, 2 (= c: unchanged)
  const auto g = rows_of<T>({{3, 4}, {0, 0}, {0.3, 0.4}, {kNaN, 1}, {kInf, 0}, {0, -2}});
  ra::Workspace ws;
  std::vector<ra::StageReport> rep;
  std::vector<const T*> ptrs;
  const auto out = apply_stage(ra::Clip{2.0}, g, ws, rep, &ptrs);
  CHECK(out(0, 0) == Approx(1.2));
  CHECK(out(0, 1) == Approx(1.6));
  for (Index i = 1; i < 6; ++i) {
    INFO("row " << i << " passes unchanged, without a copy");
    CHECK(ptrs[std::size_t(i)] == g.row(i).data());
  }
  CHECK(std::isnan(out(3, 0)));
  CHECK(out(4, 0) == std::numeric_limits<T>::infinity());
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].stage == "clip");
  CHECK(rep[0].rows_in == 6);
  CHECK(rep[0].rows_out == 6);
  CHECK(rep[0].changed == 1);
}

TEST_CASE("clip: a finite row whose sum of squares overflows double", "[stages][clip]") {
  const double big = std::numeric_limits<double>::max() / 2;
  const auto g = rows_of<double>({{big, big}, {1, 0}});
  const auto out = apply_stage(ra::Clip{1.0}, g);
  CHECK(out(0, 0) == Approx(std::sqrt(0.5)));
  CHECK(out(0, 1) == Approx(std::sqrt(0.5)));
  CHECK(out(1, 0) == 1.0);
}

TEMPLATE_TEST_CASE("nnm: hand-computed cases", "[stages][nnm]", float, double) {
  using T = TestType;
  SECTION("n = 3, f = 1: itself and its nearest row") {
    // row 0: {0, 1} -> 0.5; row 1: {1, 0} -> 0.5; row 2: {10, 1} -> 5.5
    const auto out = apply_stage(ra::Nnm{1}, rows_of<T>({{0}, {1}, {10}}));
    CHECK(out(0, 0) == T(0.5));
    CHECK(out(1, 0) == T(0.5));
    CHECK(out(2, 0) == T(5.5));
  }
  SECTION("ties go to the lower index") {
    // row 0 is at distance 1 from rows 1 and 2: row 1 wins -> (0 + 1) / 2
    const auto out = apply_stage(ra::Nnm{1}, rows_of<T>({{0}, {1}, {-1}}));
    CHECK(out(0, 0) == T(0.5));
    // row 2 (-1): row 0 at distance 1, row 1 at 4 -> (-1 + 0) / 2
    CHECK(out(2, 0) == T(-0.5));
  }
  SECTION("non-finite rows pass unchanged and are never neighbours of a finite row") {
    // n = 5, f = 2: k = 3; row 0 takes {0, 2, 3} -> 5/3 although the NaN row
    // has a lower index than rows 2, 3 and the Inf row is at +Inf as well.
    const auto g = rows_of<T>({{0, 0}, {kNaN, 0}, {2, 0}, {3, 0}, {kInf, 1}});
    const auto out = apply_stage(ra::Nnm{2}, g);
    CHECK(out(0, 0) == Approx(5.0 / 3.0));
    CHECK(std::isnan(out(1, 0)));
    CHECK(out(1, 1) == T(0));
    CHECK(out(4, 0) == std::numeric_limits<T>::infinity());
    CHECK(out(4, 1) == T(1));
    CHECK(out(2, 0) == Approx(5.0 / 3.0));  // {2, 3, 0}
    CHECK(out(3, 0) == Approx(5.0 / 3.0));  // {3, 2, 0}
  }
  SECTION("fewer than n - f finite rows: the lowest-index non-finite row is taken") {
    const auto out = apply_stage(ra::Nnm{1}, rows_of<T>({{0}, {kNaN}, {kInf}}));
    CHECK(std::isnan(out(0, 0)));
  }
  SECTION("f = 0: every row becomes the mean") {
    const auto out = apply_stage(ra::Nnm{0}, rows_of<T>({{1, 2}, {3, 4}, {5, 9}}));
    for (Index i = 0; i < 3; ++i) {
      CHECK(out(i, 0) == T(3));
      CHECK(out(i, 1) == T(5));
    }
  }
}

TEMPLATE_TEST_CASE("arc: hand-computed cases", "[stages][arc]", float, double) {
  using T = TestType;
  SECTION("n = 5, f = 1: k = floor(2*4/5) = 1, C = the 4th smallest norm") {
    ra::Workspace ws;
    std::vector<ra::StageReport> rep;
    const auto out = apply_stage(ra::Arc{1}, rows_of<T>({{1}, {-2}, {3}, {4}, {-10}}), ws, rep);
    CHECK(out(4, 0) == T(-4));
    CHECK(out(3, 0) == T(4));
    CHECK(out(0, 0) == T(1));
    REQUIRE(rep.size() == 1);
    CHECK(rep[0].stage == "arc(f=1)");
    CHECK(rep[0].changed == 1);
  }
  SECTION("n = 5, f = 2: k = floor(2*2*3/5) = 2, C = the 3rd smallest norm") {
    const auto out = apply_stage(ra::Arc{2}, rows_of<T>({{0, 5}, {3, 4}, {0, 1}, {0, 10}, {6, 8}}));
    // norms 5, 5, 1, 10, 10: C = 5; rows 3 and 4 scaled to norm 5
    CHECK(out(3, 1) == T(5));
    CHECK(out(4, 0) == T(3));
    CHECK(out(4, 1) == T(4));
    CHECK(out(1, 0) == T(3));
  }
  SECTION("non-finite rows count as +Inf norms and pass unchanged") {
    // norms 1, 2, Inf, 4, 10 sorted: 1 2 4 10 Inf; k = 1: C = 10, nothing clipped
    const auto g = rows_of<T>({{1}, {2}, {kNaN}, {4}, {10}});
    const auto out = apply_stage(ra::Arc{1}, g);
    CHECK(out(4, 0) == T(10));
    CHECK(std::isnan(out(2, 0)));
  }
  SECTION("f = 0: k = 0, nothing clipped") {
    const auto out = apply_stage(ra::Arc{0}, rows_of<T>({{1}, {100}}));
    CHECK(out(1, 0) == T(100));
  }
}

TEMPLATE_TEST_CASE("bucketing: hand-computed cases", "[stages][bucketing]", float, double) {
  using T = TestType;
  const auto g = rows_of<T>({{1, 10}, {2, 20}, {3, 30}, {4, 40}, {5, 50}});
  SECTION("s = n: one bucket, the mean") {
    const auto out = apply_stage(ra::Bucketing{5, 0}, g);
    REQUIRE(out.rows() == 1);
    CHECK(out(0, 0) == T(3));
    CHECK(out(0, 1) == T(30));
  }
  SECTION("s = 1: a permutation of the rows") {
    const auto out = apply_stage(ra::Bucketing{1, 9}, g);
    REQUIRE(out.rows() == 5);
    const std::vector<Index> p = ref::bucketing_permutation(5, 9);
    for (Index b = 0; b < 5; ++b) CHECK(out(b, 0) == g(p[std::size_t(b)], 0));
    std::vector<double> seen;
    for (Index b = 0; b < 5; ++b) seen.push_back(double(out(b, 0)));
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<double>{1, 2, 3, 4, 5});
  }
  SECTION("s = 2 over 5 rows: buckets of 2, 2, 1 in permuted order") {
    ra::Workspace ws;
    std::vector<ra::StageReport> rep;
    const auto out = apply_stage(ra::Bucketing{2, 3}, g, ws, rep);
    REQUIRE(out.rows() == 3);
    const std::vector<Index> p = ref::bucketing_permutation(5, 3);
    CHECK(out(0, 0) == T((g(p[0], 0) + g(p[1], 0)) / 2));
    CHECK(out(2, 1) == g(p[4], 1));
    REQUIRE(rep.size() == 1);
    CHECK(rep[0].stage == "bucketing(s=2)");
    CHECK(rep[0].rows_out == 3);
  }
  SECTION("the permutation is seeded: the same seed, the same buckets") {
    CHECK(same_bits(apply_stage(ra::Bucketing{2, 4}, g), apply_stage(ra::Bucketing{2, 4}, g)));
    CHECK(ref::bucketing_permutation(5, 0) != ref::bucketing_permutation(5, 1));
  }
}

TEMPLATE_TEST_CASE("stages match their scalar references", "[stages][reference]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for (Kind kind : ra::testing::all_kinds())
    for (Index n : kRows)
      for (Index d : kDims) {
        const auto g = ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 7));
        const ref::Matrix gd = ref::to_double(g);
        const std::string where = std::string(ra::testing::kind_name(kind)) +
                                  " n=" + std::to_string(n) + " d=" + std::to_string(d);
        for (double c : {0.5, 2.0, 1e3}) {
          const std::string diff = compare_rows(apply_stage(ra::Clip{c}, g), ref::clip(gd, c), gd);
          if (!diff.empty()) FAIL_CHECK("clip(c=" << c << ") on " << where << ": " << diff);
          ++cases;
        }
        for (int f : {0, 1, int((n - 1) / 2)}) {
          if (n < 2 * f + 1) continue;
          std::string diff = compare_rows(apply_stage(ra::Nnm{f}, g), ref::nnm(gd, f), gd);
          if (!diff.empty()) FAIL_CHECK("nnm(f=" << f << ") on " << where << ": " << diff);
          diff = compare_rows(apply_stage(ra::Arc{f}, g), ref::arc(gd, f), gd);
          if (!diff.empty()) FAIL_CHECK("arc(f=" << f << ") on " << where << ": " << diff);
          cases += 2;
        }
        for (int s : {1, 2, 3, 7}) {
          const std::string diff =
              compare_rows(apply_stage(ra::Bucketing{s, 11}, g), ref::bucketing(gd, s, 11), gd);
          if (!diff.empty()) FAIL_CHECK("bucketing(s=" << s << ") on " << where << ": " << diff);
          ++cases;
        }
      }
  CHECK(cases > 1000);
}

TEMPLATE_TEST_CASE("stage chains by spec match the references", "[stages][reference][spec]", float,
                   double) {
  using T = TestType;
  for (Kind kind : {Kind::Random, Kind::Tied, Kind::NonFinite})
    for (Index n : {Index(7), Index(11)})
      for (Index d : {Index(5), Index(300)}) {
        const auto g = ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 3));
        const ref::Matrix gd = ref::to_double(g);
        const ref::VectorD scale = ra::testing::column_scale(gd);
        INFO(ra::testing::kind_name(kind) << " n=" << n << " d=" << d);
        struct Case {
          std::string spec;
          ref::VectorD want;
        };
        const std::vector<Case> cases = {
            {"nnm(f=2, then=mean)", ref::mean(ref::nnm(gd, 2))},
            {"nnm(f=2, then=trimmed-mean(f=2))", ref::trimmed_mean(ref::nnm(gd, 2), 2)},
            {"clip(c=2, then=arc(f=2, then=mean))", ref::mean(ref::arc(ref::clip(gd, 2), 2))},
            {"arc(f=1, then=median)", ref::median(ref::arc(gd, 1))},
            {"bucketing(s=2, seed=5, then=mean)", ref::mean(ref::bucketing(gd, 2, 5))},
            {"clip(c=1, then=nnm(f=1, then=krum(f=1)))", ref::krum(ref::nnm(ref::clip(gd, 1), 1), 1)},
        };
        for (const Case& c : cases) {
          INFO(c.spec);
          const ra::Vector<T> got = ra::aggregate(g, ra::parse_rule(c.spec));
          // the stage output is rounded to T before the rule: 2 roundings
          const std::string diff = ra::testing::compare(got.data(), c.want, Match::Rounded,
                                                        2.0 * scale, n);
          if (!diff.empty()) FAIL_CHECK(diff);
        }
      }
}

TEMPLATE_TEST_CASE("stages never modify their input", "[stages]", float, double) {
  using T = TestType;
  auto g = ra::testing::make_input<T>(Kind::NonFinite, 9, 33, 5);
  g(0, 0) = T(1e4);  // something to clip
  const ra::GradientMatrix<T> before = g;
  for (const char* spec : {"clip(c=0.1, then=mean)", "nnm(f=2, then=mean)", "arc(f=4, then=mean)",
                           "bucketing(s=2, then=mean)",
                           "clip(c=1, then=arc(f=1, then=nnm(f=1, then=bucketing(s=3, then=median))))"}) {
    INFO(spec);
    ra::Vector<T> out = ra::aggregate(g, ra::parse_rule(spec));
    CHECK(same_bits(g, before));
  }
}

TEST_CASE("stage validation messages", "[stages][validation]") {
  const ra::GradientMatrix<double> g5 = ra::GradientMatrix<double>::Random(5, 3);
  const ra::GradientMatrix<double> g7 = ra::GradientMatrix<double>::Random(7, 3);
  auto msg = [](const ra::AnyRule& rule, const ra::GradientMatrix<double>& g) {
    try {
      ra::aggregate(g, rule);
    } catch (const ra::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(msg(ra::parse_rule("nnm(f=2, then=krum(f=2))"), g5) ==
        "nnm(f=2, then=krum(f=2)): krum(f=2) needs n >= 2f+3 = 7 gradients, got 5");
  CHECK(msg(ra::parse_rule("nnm(f=3, then=mean)"), g5) ==
        "nnm(f=3, then=mean): nnm(f=3) needs n >= 2f+1 = 7 gradients, got 5");
  CHECK(msg(ra::parse_rule("arc(f=3, then=mean)"), g5) ==
        "arc(f=3, then=mean): arc(f=3) needs n >= 2f+1 = 7 gradients, got 5");
  CHECK(msg(ra::parse_rule("clip(c=2, then=arc(f=2, then=krum(f=2)))"), g5) ==
        "clip(c=2, then=arc(f=2, then=krum(f=2))): krum(f=2) needs n >= 2f+3 = 7 gradients, got 5");
  CHECK(msg(ra::parse_rule("bucketing(s=2, then=krum(f=1))"), g7) ==
        "bucketing(s=2, then=krum(f=1)): bucketing(s=2) outputs 4 rows from 7, and krum(f=1) "
        "needs n >= 2f+3 = 5 gradients, got 4");
  CHECK(msg(ra::compose(ra::Nnm{}, ra::AnyRule(ra::Mean{})), g5) ==
        "nnm(f=?, then=mean): nnm(f=?): f (the number of Byzantine workers to tolerate) was not "
        "given; set it, e.g. nnm(f=1)");
  CHECK(msg(ra::compose(ra::Arc{-1}, ra::AnyRule(ra::Mean{})), g5) ==
        "arc(f=-1, then=mean): arc(f=-1): f must be >= 0, got f = -1");
  CHECK(msg(ra::compose(ra::Clip{0.0}, ra::AnyRule(ra::Mean{})), g5) ==
        "clip(c=0, then=mean): clip(c=0): c must be finite and > 0, got c = 0");
  CHECK(msg(ra::compose(ra::Bucketing{0, 0}, ra::AnyRule(ra::Mean{})), g5) ==
        "bucketing(s=0, then=mean): bucketing(s=0): s must be >= 1, got s = 0");
  // DETOX with a stage as its outer rule: the stage chain's need, within DETOX's message
  const ra::GradientMatrix<double> g9 = ra::GradientMatrix<double>::Random(9, 3);
  CHECK(msg(ra::parse_rule("detox(r=3, outer=nnm(f=2, then=median))"), g9) ==
        "detox(r=3, buckets=0, inner=mean, outer=nnm(f=2, then=median)): with all 3 groups "
        "winning, the outer rule gets 3 vectors, and nnm(f=2, then=median): nnm(f=2) needs "
        "n >= 2f+1 = 5 gradients, got 3");
}

TEST_CASE("stage specs parse, print back, and reject what is malformed", "[stages][spec]") {
  for (const char* spec :
       {"clip(c=2, then=mean)", "clip(c=0.25, then=krum(f=1))", "nnm(f=2, then=trimmed-mean(f=2))",
        "arc(f=1, then=median)", "bucketing(s=2, then=mean)", "bucketing(s=3, seed=7, then=median)",
        "clip(c=2, then=arc(f=2, then=krum(f=2)))",
        "clip(c=1, then=nnm(f=1, then=krum(f=1)))",
        "detox(r=3, buckets=0, inner=mean, outer=nnm(f=1, then=median))",
        "nnm(f=1, then=detox(r=3, buckets=0, inner=mean, outer=median))"}) {
    INFO(spec);
    const ra::AnyRule rule = ra::parse_rule(spec);
    CHECK(rule.spec() == spec);
    CHECK(ra::parse_rule(rule.spec()).spec() == spec);
  }
  CHECK(ra::parse_rule(" nnm ( f = 2 , then = krum ( f = 2 ) ) ").spec() ==
        "nnm(f=2, then=krum(f=2))");
  CHECK(ra::parse_rule("bucketing(s=2, seed=0, then=mean)").spec() == "bucketing(s=2, then=mean)");
  auto err = [](const char* spec) {
    try {
      ra::parse_rule(spec);
    } catch (const ra::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK_THAT(err("nnm(f=2)"), Catch::Contains("nnm(f=2) needs then=RULE"));
  CHECK_THAT(err("clip(c=1)"), Catch::Contains("clip(c=1) needs then=RULE"));
  CHECK_THAT(err("bucketing(s=2)"), Catch::Contains("bucketing(s=2) needs then=RULE"));
  CHECK_THAT(err("clip(c=0, then=mean)"), Catch::Contains("c must be finite and > 0, got c = 0"));
  CHECK_THAT(err("clip(c=-1, then=mean)"), Catch::Contains("c must be finite and > 0"));
  CHECK_THAT(err("bucketing(s=0, then=mean)"), Catch::Contains("s must be >= 1, got s = 0"));
  CHECK_THAT(err("nnm(f=1, then=2)"), Catch::Contains("then must be a rule spec"));
  CHECK_THAT(err("nnm(f=1, then=nosuch)"), Catch::Contains("unknown rule 'nosuch'"));
  CHECK_THAT(err("nnm(g=1, then=mean)"), Catch::Contains("nnm has no parameter 'g'"));
  CHECK_THAT(err("nnm(then=mean)"), Catch::Contains("nnm needs parameter 'f'"));
  CHECK_THAT(err("arc(f=1, then=mean, then=median)"), Catch::Contains("given twice"));
  // the catalogue lists the stages
  std::vector<std::string> names;
  for (const ra::RuleInfo& info : ra::rule_catalog()) names.push_back(info.name);
  for (const char* name : {"clip", "nnm", "arc", "bucketing"})
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
}

TEMPLATE_TEST_CASE("stage reports: one entry per stage, DETOX included", "[stages][report]", float,
                   double) {
  using T = TestType;
  ra::GradientMatrix<T> g = ra::testing::make_input<T>(Kind::Random, 9, 4, 1);
  for (Index i = 0; i < 9; i += 3) g.row(i + 1) = g.row(i + 2) = g.row(i);
  g.row(0) *= T(100);  // clipped
  {
    ra::Workspace ws;
    ra::Vector<T> out;
    ra::aggregate(g, ra::parse_rule("clip(c=3, then=nnm(f=1, then=bucketing(s=2, then=median)))"),
                  out, ws);
    REQUIRE(ws.report().size() == 3);
    CHECK(ws.report()[0].stage == "clip");
    CHECK(ws.report()[0].changed >= 1);
    CHECK(ws.report()[1].stage == "nnm(f=1)");
    CHECK(ws.report()[2].stage == "bucketing(s=2)");
    CHECK(ws.report()[2].rows_in == 9);
    CHECK(ws.report()[2].rows_out == 5);
  }
  {
    ra::Workspace ws;
    ra::Vector<T> out;
    ra::aggregate(g, ra::parse_rule("detox(r=3, outer=arc(f=1, then=median))"), out, ws);
    REQUIRE(ws.report().size() == 2);
    CHECK(ws.report()[0].stage == "vote(r=3)");
    CHECK(ws.report()[1].stage == "arc(f=1)");
    CHECK(ws.report()[1].rows_in == 3);
    // the result: the median of the 3 winners after ARC (k = floor(2*1*2/3) = 1)
    ref::Matrix winners(3, 4);
    for (Index k = 0; k < 3; ++k) winners.row(k) = ref::to_double(g).row(3 * k + 1);  // row 0 is outvoted
    const ref::VectorD want = ref::median(ref::arc(winners, 1));
    for (Index j = 0; j < 4; ++j) CHECK(double(out[j]) == Approx(want[j]).epsilon(1e-6));
  }
}

TEST_CASE("Composed keeps the DETOX vote's human spec", "[stages]") {
  const auto c = ra::compose(ra::MajorityVote{3}, ra::Median{});
  CHECK(c.spec() == "majority-vote(r=3) | median");
  const auto n = ra::compose(ra::Nnm{2}, ra::Krum{2});
  CHECK(n.spec() == "nnm(f=2, then=krum(f=2))");
  CHECK(n.min_rows() == 7);
  CHECK(ra::compose(ra::Bucketing{2, 0}, ra::Krum{1}).min_rows() == 9);
}
