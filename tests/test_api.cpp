// The public API's input forms and entry points: zero-copy binding of Maps,
// Refs, row blocks and transposes; the copy for column-major n x d; the short,
// workspace, Aggregator and AnyRule forms; perturb; input never modified.
#include <catch2/catch.hpp>

#include <cstring>
#include <robustagg/robustagg.hpp>
#include <vector>

#include "reference/inputs.hpp"

namespace ra = robustagg;
using ra::Index;

namespace {

template <class T>
ra::GradientMatrix<T> sample(Index n, Index d, std::uint64_t seed = 1) {
  return ra::testing::make_input<T>(ra::testing::Kind::Random, n, d, seed);
}

/// Every rule of docs/rules.md, parameterised for n = 11.
std::vector<ra::AnyRule> all_rules() {
  return {ra::Mean{},       ra::Median{},          ra::TrimmedMean{2},
          ra::Krum{2},      ra::MultiKrum{2},      ra::MultiKrum{2, 3},
          ra::Bulyan{2},    ra::SignVote{},        ra::NoisyMedian{0.5, 3},
          ra::NoisySignVote{0.5, 3}};
}

template <class T>
bool bitwise_equal(const ra::Vector<T>& a, const ra::Vector<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(T)) == 0;
}

/// The data pointer the kernels see when `g` is bound.
template <class Derived>
const typename Derived::Scalar* bound_pointer(const Eigen::MatrixBase<Derived>& g) {
  return ra::detail::with_rows_view(
      g, [](const ra::RowsView<typename Derived::Scalar>& v) { return v.row(0); });
}

}  // namespace

TEMPLATE_TEST_CASE("a Map over a user buffer binds without a copy", "[api]", float, double) {
  using T = TestType;
  const Index n = 11, d = 37;
  const auto src = sample<T>(n, d);
  std::vector<T> buffer(src.data(), src.data() + n * d);
  const Eigen::Map<const ra::GradientMatrix<T>> map(buffer.data(), n, d);
  // binding keeps pointer identity: the kernels read the user's buffer
  CHECK(bound_pointer(map) == buffer.data());
  CHECK(ra::detail::with_rows_view(map, [](const ra::RowsView<T>& v) { return v.row(3); }) ==
        buffer.data() + 3 * d);
  // and the result equals the row-pointer view of the same memory
  std::vector<const T*> rows(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) rows[std::size_t(i)] = buffer.data() + i * d;
  for (const ra::AnyRule& rule : all_rules()) {
    INFO(rule.spec());
    ra::Vector<T> via_ptrs(d);
    ra::Workspace ws;
    ra::aggregate(rows.data(), n, d, rule, via_ptrs.data(), ws);
    CHECK(bitwise_equal(ra::aggregate(map, rule), via_ptrs));
    CHECK(bitwise_equal(ra::aggregate(src, rule), via_ptrs));
  }
}

TEMPLATE_TEST_CASE("Ref, row blocks and transposes bind; column-major n x d is copied",
                   "[api]", float, double) {
  using T = TestType;
  const Index n = 11, d = 20;
  const auto g = sample<T>(n, d, 2);
  // a Ref to the matrix
  const Eigen::Ref<const ra::GradientMatrix<T>> ref(g);
  CHECK(bound_pointer(ref) == g.data());
  // a block of rows of a bigger batch
  ra::GradientMatrix<T> big(n + 5, d);
  big.setZero();
  big.middleRows(2, n) = g;
  CHECK(bound_pointer(big.middleRows(2, n)) == big.row(2).data());
  // a block of columns of a row-major matrix: rows strided by the full width
  ra::GradientMatrix<T> wide(n, d + 6);
  wide.setConstant(T(99));
  wide.middleCols(3, d) = g;
  CHECK(bound_pointer(wide.middleCols(3, d)) == wide.data() + 3);
  // the transpose of a column-major d x n matrix (one column per worker)
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> cols = g.transpose();
  CHECK(bound_pointer(cols.transpose()) == cols.data());
  // a column-major n x d matrix cannot bind: it is copied once
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> colmajor = g;
  CHECK(ra::detail::with_rows_view(colmajor, [&](const ra::RowsView<T>& v) {
    return v.row(0) != colmajor.data() && v(1, 2) == colmajor(1, 2);
  }));
  for (const ra::AnyRule& rule : all_rules()) {
    INFO(rule.spec());
    const ra::Vector<T> want = ra::aggregate(g, rule);
    CHECK(bitwise_equal(ra::aggregate(ref, rule), want));
    CHECK(bitwise_equal(ra::aggregate(big.middleRows(2, n), rule), want));
    CHECK(bitwise_equal(ra::aggregate(wide.middleCols(3, d), rule), want));
    CHECK(bitwise_equal(ra::aggregate(cols.transpose(), rule), want));
    CHECK(bitwise_equal(ra::aggregate(colmajor, rule), want));
    // a general expression is evaluated once, then aggregated
    CHECK(bitwise_equal(ra::aggregate(g * T(1), rule), want));
  }
}

TEMPLATE_TEST_CASE("short form, workspace form, Aggregator and AnyRule agree", "[api]", float,
                   double) {
  using T = TestType;
  const Index n = 11, d = 300;
  const auto g = sample<T>(n, d, 3);
  // the short form
  CHECK(bitwise_equal(ra::aggregate<ra::Bulyan>(g, 2), ra::aggregate(g, ra::Bulyan{2})));
  CHECK(bitwise_equal(ra::aggregate<ra::MultiKrum>(g, 2, 3), ra::aggregate(g, ra::MultiKrum{2, 3})));
  CHECK(bitwise_equal(ra::aggregate<ra::Median>(g), ra::aggregate(g, ra::Median{})));
  CHECK(bitwise_equal(ra::aggregate<ra::NoisyMedian>(g, 0.5, 3u),
                      ra::aggregate(g, ra::NoisyMedian{0.5, 3})));
  for (const ra::AnyRule& rule : all_rules()) {
    INFO(rule.spec());
    const ra::Vector<T> want = ra::aggregate(g, rule);
    // the workspace form: out is resized once, then reused; same result every call
    ra::Vector<T> out;
    ra::Workspace ws;
    ra::aggregate(g, rule, out, ws);
    REQUIRE(out.size() == d);
    const T* data = out.data();
    const std::size_t held = ws.capacity_bytes();
    CHECK(bitwise_equal(out, want));
    ra::aggregate(g, rule, out, ws);
    CHECK(out.data() == data);
    CHECK(ws.capacity_bytes() == held);  // nothing grown on the second step
    CHECK(bitwise_equal(out, want));
    // Aggregator: a rule with its own workspace
    ra::Aggregator<> agg(rule);
    CHECK(bitwise_equal(agg(g), want));
    ra::Vector<T> out2;
    agg(g, out2);
    CHECK(bitwise_equal(out2, want));
    // AnyRule from parse_rule equals the concrete rule, bitwise
    CHECK(bitwise_equal(ra::aggregate(g, ra::parse_rule(rule.spec())), want));
  }
  ra::Aggregator<ra::Krum> typed(ra::Krum{2});
  CHECK(bitwise_equal(typed(g), ra::aggregate(g, ra::Krum{2})));
}

TEMPLATE_TEST_CASE("perturb + median equals noisy-median", "[api][noisy]", float, double) {
  using T = TestType;
  const Index n = 9, d = 65;
  const auto g = sample<T>(n, d, 4);
  const double b = 0.75;
  const std::uint64_t seed = 99;
  // each worker perturbs its own gradient (worker = its row index)
  ra::GradientMatrix<T> sent(n, d), sent_inplace = g;
  for (Index i = 0; i < n; ++i) {
    sent.row(i) = ra::perturb(g.row(i), b, seed, std::uint64_t(i)).transpose();
    ra::perturb_inplace(sent_inplace.row(i).data(), d, b, seed, std::uint64_t(i));
  }
  CHECK(sent == sent_inplace);
  CHECK(bitwise_equal(ra::aggregate(sent, ra::Median{}), ra::aggregate(g, ra::NoisyMedian{b, seed})));
  CHECK(bitwise_equal(ra::aggregate(sent, ra::SignVote{}),
                      ra::aggregate(g, ra::NoisySignVote{b, seed})));
  // a column vector works as well as a row
  const ra::Vector<T> col = g.row(2).transpose();
  CHECK(ra::perturb(col, b, seed, 2) == sent.row(2).transpose());
}

TEMPLATE_TEST_CASE("the input is never modified", "[api]", float, double) {
  using T = TestType;
  for (auto kind : {ra::testing::Kind::Random, ra::testing::Kind::NonFinite,
                    ra::testing::Kind::SignedZeros}) {
    const Index n = 11, d = 260;
    const auto g = ra::testing::make_input<T>(kind, n, d, 5);
    std::vector<unsigned char> before(std::size_t(n * d) * sizeof(T));
    std::memcpy(before.data(), g.data(), before.size());
    std::vector<const T*> rows(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) rows[std::size_t(i)] = g.row(i).data();
    for (const ra::AnyRule& rule : all_rules()) {
      INFO(rule.spec() << " on " << ra::testing::kind_name(kind));
      (void)ra::aggregate(g, rule);
      ra::Vector<T> out(d);
      ra::Workspace ws;
      ra::aggregate(rows.data(), n, d, rule, out.data(), ws);
      CHECK(std::memcmp(before.data(), g.data(), before.size()) == 0);
    }
  }
}
