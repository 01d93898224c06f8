// CGE, comparative gradient elimination (cge.hpp): hand-computed cases (the
// arithmetic in the comments), the input families against the scalar
// reference (tests/reference/cge.hpp), hostile rows, validation and specs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <robustagg/robustagg.hpp>
#include <sstream>
#include <string>

#include "reference/cge.hpp"
#include "reference/inputs.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using ra::Index;

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
std::string error_of(const ra::Cge& rule, Index n, Index d) {
  try {
    (void)ra::aggregate(ra::GradientMatrix<T>::Ones(n, d), rule);
  } catch (const ra::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEMPLATE_TEST_CASE("cge, by hand", "[cge]", float, double) {
  using T = TestType;
  using V = ra::Vector<T>;
  // norms 5, 1, 2, 10, 0: the 3 smallest are rows 4, 1, 2 -> mean of (0,0), (1,0), (0,2) = (1/3, 2/3)
  const V a = ra::aggregate(rows<T>({{3, 4}, {1, 0}, {0, 2}, {-6, 8}, {0, 0}}), ra::Cge{2});
  CHECK(a[0] == T(1.0 / 3));
  CHECK(a[1] == T(2.0 / 3));
  // three rows of norm 1: the tie goes to the lower indices 0 and 1 -> (0.5, 0.5)
  CHECK(ra::aggregate(rows<T>({{1, 0}, {0, 1}, {-1, 0}}), ra::Cge{1}) == V((V(2) << 0.5, 0.5).finished()));
  // f = 0: the mean of all rows
  CHECK(ra::aggregate(rows<T>({{1}, {2}, {6}}), ra::Cge{0}) == V::Constant(1, T(3)));
  // a NaN row and an Inf row are never kept while n - f finite rows exist:
  // n = 5, f = 2, rows 1, 3, 4 finite (norms 3, 4, 100) -> mean (3 + 4 + 100) / 3
  const V b = ra::aggregate(rows<T>({{kNaN}, {3}, {kInf}, {-4}, {100}}), ra::Cge{2});
  CHECK(b[0] == T(33.0));
  // a finite row of huge norm still ranks before a non-finite row
  const V c = ra::aggregate(rows<T>({{kInf}, {1}, {double(std::numeric_limits<T>::max())}}), ra::Cge{1});
  CHECK(c[0] == T(0.5 * (1.0 + double(std::numeric_limits<T>::max()))));
  // more than f non-finite rows: a non-finite row is kept (the lower index) and the mean is NaN
  CHECK(std::isnan(ra::aggregate(rows<T>({{kNaN}, {kNaN}, {2}}), ra::Cge{1})[0]));
}

TEMPLATE_TEST_CASE("cge matches the reference", "[cge]", float, double) {
  using T = TestType;
  std::size_t cases = 0;
  for (ra::testing::Kind kind : ra::testing::all_kinds())
    for (Index n : {1, 2, 3, 4, 5, 7, 8, 11, 16})
      for (Index d : {1, 4, 7, 9, 33, 257, 1000}) {
        const auto g = ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 23));
        const ref::Matrix gd = ref::to_double(g);
        const ref::VectorD scale = ra::testing::column_scale(gd);
        for (Index f : {Index(0), Index(1), (n - 1) / 2}) {
          if (n < 2 * f + 1) continue;
          const ra::Cge rule{int(f)};
          const ra::Vector<T> got = ra::aggregate(g, rule);
          const std::string diff = ra::testing::compare(got.data(), ref::cge(gd, int(f)),
                                                        ra::testing::Match::Rounded, scale, n);
          if (!diff.empty())
            FAIL_CHECK(ra::testing::kind_name(kind) << " n = " << n << " d = " << d << " " << rule.spec()
                                                    << ": " << diff);
          ++cases;
        }
      }
  CHECK(cases > 300);
}

TEST_CASE("cge: validation, spec and catalogue", "[cge]") {
  CHECK(error_of<float>(ra::Cge{2}, 4, 3) == "cge(f=2) needs n >= 2f+1 = 5 gradients, got 4");
  CHECK(error_of<double>(ra::Cge{-1}, 4, 3) == "cge(f=-1): f must be >= 0, got f = -1");
  CHECK(error_of<float>(ra::Cge{}, 4, 3).rfind("cge(f=?): f (the number of Byzantine workers to tolerate) was not given", 0) == 0);
  CHECK(error_of<float>(ra::Cge{1}, 3, 0) == "cge(f=1) needs gradients with d >= 1 coordinates, got d = 0");
  CHECK(ra::parse_rule("cge(f=3)").spec() == "cge(f=3)");
  const ra::AnyRule cge = ra::parse_rule("cge(f=3)");
  CHECK(cge.target<ra::Cge>()->f == 3);
  CHECK(ra::parse_rule("cge(f=3)").min_rows() == 7);
  CHECK_THROWS_WITH(ra::parse_rule("cge"), "rule spec 'cge': cge needs parameter 'f'");
  CHECK_THROWS_WITH(ra::parse_rule("cge(f=1, m=2)"), "rule spec 'cge(f=1, m=2)': cge has no parameter 'm' (cge takes f)");
  // inside a stage chain and DETOX, like every rule
  ra::GradientMatrix<double> g(9, 2);
  for (Index i = 0; i < 9; ++i) g.row(i) << double(i / 3), 1.0;
  CHECK(ra::aggregate(g, ra::parse_rule("detox(r=3, outer=cge(f=1))")).isApprox(ra::Vector<double>((ra::Vector<double>(2) << 0.5, 1.0).finished())));
}
