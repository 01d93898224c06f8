// The API boundary a new user meets first: rules that tolerate f Byzantine
// workers must be told f, raw-pointer entry points refuse null pointers with a
// clear error, spec parameters are checked at parse time, and a matrix passed
// transposed by mistake gets a message that says so.
#include <catch2/catch.hpp>

#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

namespace ra = robustagg;
using ra::Index;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEMPLATE_TEST_CASE("a rule that tolerates f workers is an error without f", "[validation]", float,
                   double) {
  using T = TestType;
  const ra::GradientMatrix<T> g = ra::GradientMatrix<T>::Ones(20, 4);
  CHECK_THROWS_WITH(ra::aggregate(g, ra::Bulyan{}), Contains("bulyan(f=?): f (the number of Byzantine workers to tolerate) was not given"));
  CHECK_THROWS_WITH(ra::aggregate<ra::Bulyan>(g), Contains("was not given; set it, e.g. bulyan(f=1)"));
  CHECK_THROWS_WITH(ra::aggregate(g, ra::Krum{}), Contains("krum(f=?): f"));
  CHECK_THROWS_WITH(ra::aggregate(g, ra::MultiKrum{}), Contains("multi-krum(f=?, m=0): f"));
  CHECK_THROWS_WITH(ra::aggregate(g, ra::TrimmedMean{}), Contains("trimmed-mean(f=?): f"));
  // the spec parser refuses the same omission
  CHECK_THROWS_WITH(ra::parse_rule("krum"), Contains("krum needs parameter 'f'"));
  CHECK_THROWS_WITH(ra::parse_rule("bulyan()"), Contains("bulyan needs parameter 'f'"));
  // with f, they run
  CHECK_NOTHROW(ra::aggregate(g, ra::Bulyan{1}));
  CHECK_NOTHROW(ra::aggregate(g, ra::TrimmedMean{0}));
}

TEMPLATE_TEST_CASE("null pointers at the raw-pointer entry points are errors, not crashes",
                   "[validation]", float, double) {
  using T = TestType;
  const Index n = 5, d = 8;
  std::vector<T> data(static_cast<std::size_t>(n * d), T(1));
  std::vector<const T*> rows;
  for (Index i = 0; i < n; ++i) rows.push_back(data.data() + i * d);
  std::vector<T> out(static_cast<std::size_t>(d));
  ra::Workspace ws;
  CHECK_THROWS_WITH(ra::aggregate(static_cast<const T* const*>(nullptr), n, d, ra::Median{}, out.data(), ws),
                    Equals("aggregate: the row-pointer array is null (n = 5, d = 8)"));
  rows[3] = nullptr;
  CHECK_THROWS_WITH(ra::aggregate(rows.data(), n, d, ra::Median{}, out.data(), ws),
                    Equals("aggregate: row pointer 3 of 5 is null"));
  rows[3] = data.data() + 3 * d;
  CHECK_THROWS_WITH(ra::aggregate(rows.data(), n, d, ra::Median{}, static_cast<T*>(nullptr), ws),
                    Equals("aggregate: the output pointer is null (d = 8)"));
  CHECK_THROWS_WITH(ra::aggregate(ra::RowsView<T>::strided(nullptr, n, d, d), ra::Median{}, out.data(), ws),
                    Contains("the gradients pointer is null"));
  CHECK_NOTHROW(ra::aggregate(rows.data(), n, d, ra::Median{}, out.data(), ws));
  CHECK(out[0] == T(1));
  // n = 0 with a null array: the rule's own requirement speaks
  CHECK_THROWS_WITH(ra::aggregate(static_cast<const T* const*>(nullptr), 0, d, ra::Median{}, out.data(), ws),
                    Equals("median needs at least 1 gradient, got 0"));
}

TEST_CASE("static spec parameters are checked when parsing", "[spec]") {
  CHECK_THROWS_WITH(ra::parse_rule("noisy-median(b=nan)"), Contains("b must be a finite number, got 'nan'"));
  CHECK_THROWS_WITH(ra::parse_rule("noisy-sign-vote(b=Inf)"), Contains("b must be a finite number, got 'Inf'"));
  CHECK_THROWS_WITH(ra::parse_rule("detox(r=2)"), Contains("r must be odd and >= 1, got r = 2"));
  CHECK_THROWS_WITH(ra::parse_rule("detox(r=0)"), Contains("r must be odd and >= 1, got r = 0"));
  CHECK_NOTHROW(ra::parse_rule("detox(r=3)"));
}

TEST_CASE("a transposed matrix gets a message that names its shape", "[validation]") {
  // 40 workers sent as columns of a 4 x 40 matrix: krum(f=1) sees 4 rows.
  const ra::GradientMatrix<float> g = ra::GradientMatrix<float>::Ones(4, 40);
  CHECK_THROWS_WITH(ra::aggregate(g, ra::Krum{1}),
                    Equals("krum(f=1) needs n >= 2f+3 = 5 gradients, got 4 (the input is 4 x 40 and rows "
                           "are workers: pass the transpose if its columns are)"));
  // no hint when the other dimension would not help either
  const ra::GradientMatrix<float> h = ra::GradientMatrix<float>::Ones(4, 3);
  CHECK_THROWS_WITH(ra::aggregate(h, ra::Krum{1}), Equals("krum(f=1) needs n >= 2f+3 = 5 gradients, got 4"));
  // nor when the columns are a gradient's coordinates (10 workers, d = 2410):
  // f is too large for 10 workers, the input is not transposed
  const ra::GradientMatrix<float> w = ra::GradientMatrix<float>::Ones(10, 2410);
  CHECK_THROWS_WITH(ra::aggregate(w, ra::Bulyan{2}), Equals("bulyan(f=2) needs n >= 4f+3 = 11 gradients, got 10"));
  // the bound: up to 1024 columns read as workers
  const ra::GradientMatrix<float> c = ra::GradientMatrix<float>::Ones(4, 1024);
  CHECK_THROWS_WITH(ra::aggregate(c, ra::Krum{1}), Contains("pass the transpose"));
  const ra::GradientMatrix<float> e = ra::GradientMatrix<float>::Ones(4, 1025);
  CHECK_THROWS_WITH(ra::aggregate(e, ra::Krum{1}), Equals("krum(f=1) needs n >= 2f+3 = 5 gradients, got 4"));
}
