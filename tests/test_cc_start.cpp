// Centered clipping's start option (centered_clipping.hpp): start=median (the
// default), mean or zero, in the spec and the struct; hand-computed cases (the
// arithmetic in the comments) and the input families against the reference
// run from the start the definition gives.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <robustagg/robustagg.hpp>
#include <string>

#include "reference/inputs.hpp"
#include "reference/reference_new_rules.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using ra::Index;
using Start = ra::CenteredClipping::Start;

namespace {

template <class T>
ra::GradientMatrix<T> column_rows(std::initializer_list<double> v) {
  ra::GradientMatrix<T> g(Index(v.size()), 1);
  Index i = 0;
  for (double x : v) g(i++, 0) = T(x);
  return g;
}

std::string parse_error(const std::string& spec) {
  try {
    return "(parsed as " + ra::parse_rule(spec).spec() + ")";
  } catch (const ra::Error& e) {
    return e.what();
  }
}

}  // namespace

TEMPLATE_TEST_CASE("centered clipping from each start, by hand", "[centered-clipping][start]", float, double) {
  using T = TestType;
  const auto g = column_rows<T>({1, 3, 8});
  // zero: distances 1, 3, 8, c = 1, 1/3, 1/8; v1 = (1 + 1 + 1) / 3 = 1
  CHECK(ra::aggregate(g, ra::CenteredClipping{1.0, 1, false, Start::zero})[0] == Approx(1.0));
  // mean: v0 = 4, differences -3, -1, 4, c = 1/3, 1, 1/4; v1 = 4 + (-1 - 1 + 1)/3 = 11/3
  CHECK(ra::aggregate(g, ra::CenteredClipping{1.0, 1, false, Start::mean})[0] == Approx(11.0 / 3));
  // median: v0 = 3, differences -2, 0, 5, c = 1/2, 1, 1/5; v1 = 3 + (-1 + 0 + 1)/3 = 3
  CHECK(ra::aggregate(g, ra::CenteredClipping{1.0, 1, false, Start::median})[0] == T(3));
  CHECK(ra::aggregate(g, ra::parse_rule("centered-clipping(tau=1, start=zero)"))[0] == Approx(1.0));
  // a NaN row gets c = 0 and the mean start is the finite rows' mean:
  // rows 1, 3, NaN: v0 = 2, c = 1, 1 (distances 1, 1); v1 = 2 + (-1 + 1)/3 = 2
  const auto h = column_rows<T>({1, 3, std::numeric_limits<double>::quiet_NaN()});
  CHECK(ra::aggregate(h, ra::CenteredClipping{1.0, 1, false, Start::mean})[0] == T(2));
  // no finite row: the median and mean starts give NaN, the zero start stays at 0
  const auto all_nan = column_rows<T>({std::numeric_limits<double>::quiet_NaN()});
  CHECK(std::isnan(ra::aggregate(all_nan, ra::CenteredClipping{1.0, 1, false, Start::mean})[0]));
  CHECK(ra::aggregate(all_nan, ra::CenteredClipping{1.0, 1, false, Start::zero})[0] == T(0));
}

TEMPLATE_TEST_CASE("centered clipping's starts match the reference", "[centered-clipping][start]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for (ra::testing::Kind kind : ra::testing::all_kinds())
    for (Index n : {1, 2, 3, 5, 8, 11})
      for (Index d : {1, 7, 33, 513}) {
        const auto g = ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 31));
        const ref::Matrix gd = ref::to_double(g);
        const ref::VectorD scale = ra::testing::column_scale(gd);
        const std::vector<Index> finite = ref::finite_row_indices(gd);
        for (Start s : {Start::zero, Start::mean}) {
          const ra::CenteredClipping rule{1.0, 3, false, s};
          ref::VectorD v0 = ref::VectorD::Zero(d);
          if (s == Start::mean) {
            if (finite.empty()) continue;  // NaN, checked by hand above
            v0 = ref::mean_of(gd, finite);
            for (Index j = 0; j < d; ++j) v0[j] = double(T(v0[j]));  // as mean returns it, in T
          }
          const ref::VectorD want = ref::centered_clipping<T>(gd, 1.0, 3, v0);
          const ra::Vector<T> got = ra::aggregate(g, rule);
          for (Index j = 0; j < d; ++j) {
            const double tol = (8.0 * double(std::numeric_limits<T>::epsilon()) + 1e-12) * scale[j];
            if (std::isnan(want[j]) ? !std::isnan(double(got[j])) : !(std::fabs(double(got[j]) - want[j]) <= tol)) {
              FAIL_CHECK(ra::testing::kind_name(kind) << " n = " << n << " d = " << d << " " << rule.spec()
                                                      << " j = " << j << ": got " << got[j] << " want " << want[j]);
              break;
            }
          }
          ++cases;
        }
      }
  CHECK(cases > 250);
}

TEST_CASE("centered clipping's start in the spec", "[centered-clipping][start][spec]") {
  CHECK(ra::parse_rule("centered-clipping(tau=1, start=mean)").spec() ==
        "centered-clipping(tau=1, iterations=1, start=mean)");
  CHECK(ra::parse_rule("centered-clipping(tau=1, start=median)").spec() == "centered-clipping(tau=1, iterations=1)");
  CHECK(ra::parse_rule("centered-clipping(warm-start=1, start=zero, tau=2)").spec() ==
        "centered-clipping(tau=2, iterations=1, start=zero, warm-start=1)");
  const ra::AnyRule r = ra::parse_rule("centered-clipping(tau=1, start=zero)");
  CHECK(r.target<ra::CenteredClipping>()->start == Start::zero);
  CHECK(parse_error("centered-clipping(tau=1, start=middle)") ==
        "rule spec 'centered-clipping(tau=1, start=middle)': centered-clipping: start must be one of median, "
        "mean, zero, got 'middle'");
  CHECK(parse_error("centered-clipping(tau=1, start=0)") ==
        "rule spec 'centered-clipping(tau=1, start=0)': centered-clipping: start must be one of median, "
        "mean, zero, got '0'");
}

TEMPLATE_TEST_CASE("a warm-started Aggregator starts its first step from the start option",
                   "[centered-clipping][start]", float, double) {
  using T = TestType;
  const auto g = column_rows<T>({1, 3, 8});
  ra::Aggregator<> agg(ra::parse_rule("centered-clipping(tau=1, start=zero, warm-start=1)"));
  const ra::Vector<T> first = agg(g);
  CHECK(first[0] == Approx(1.0));  // from zero, as by hand above
  // then from 1: differences 0, 2, 7, c = 1, 1/2, 1/7; v = 1 + (0 + 1 + 1)/3 = 5/3
  CHECK(agg(g)[0] == Approx(5.0 / 3));
}
