// Every rule against the plain scalar reference (tests/reference/), float and
// double, over d covering the SIMD widths W = 4, 8, 16 (W-1, W, W+1, 2W+1),
// the tile edges (256 coordinates, 2048 for distances) and large d, odd and
// even n, on random, tied, duplicated, nearly-equal, offset, signed-zero and
// non-finite inputs; through the strided binding (contiguous and padded,
// misaligned rows) and the row-pointer form.
#include <catch2/catch.hpp>

#include <functional>
#include <robustagg/robustagg.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reference/inputs.hpp"
#include "reference/reference.hpp"
#include "sanitized.hpp"

namespace ra = robustagg;
namespace ref = robustagg::reference;
using ra::Index;
using ra::testing::Kind;
using ra::testing::Match;

namespace {

const std::vector<Index> kAllDims = {1,  3,  4,  5,   7,   8,   9,    15,   16,   17,   31,
                                     32, 33, 255, 256, 257, 1000, 2047, 2048, 2049, 5000};
const std::vector<Index> kAllRows = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 31, 32, 51};
// The special input families run on a smaller grid (still odd/even n and the
// SIMD edges) to keep the suite fast.
const std::vector<Index> kSomeDims = {1, 4, 7, 8, 9, 17, 33, 257, 2049};
const std::vector<Index> kSomeRows = {1, 2, 3, 4, 5, 7, 8, 11, 12, 16, 17, 51};

/// The result of `rule` on g, in one of the three input forms.
enum class Form { Contiguous, PaddedMap, RowPointers };
const char* form_name(Form f) {
  return f == Form::Contiguous ? "contiguous" : f == Form::PaddedMap ? "padded-map" : "row-pointers";
}

template <class T, class Rule>
ra::Vector<T> run_form(const ra::GradientMatrix<T>& g, const Rule& rule, Form form) {
  const Index n = g.rows(), d = g.cols();
  switch (form) {
    case Form::Contiguous:
      return ra::aggregate(g, rule);
    case Form::PaddedMap: {
      // rows 3 values apart beyond d, starting one value into the buffer:
      // unaligned rows with a stride that is not d.
      const Index stride = d + 3;
      std::vector<T> buf(std::size_t(1 + n * stride), T(-7));
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) buf[std::size_t(1 + i * stride + j)] = g(i, j);
      Eigen::Map<const ra::GradientMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>> m(
          buf.data() + 1, n, d, Eigen::OuterStride<>(stride));
      return ra::aggregate(m, rule);
    }
    case Form::RowPointers: {
      std::vector<std::vector<T>> rows(static_cast<std::size_t>(n));
      std::vector<const T*> ptrs(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) {
        rows[std::size_t(i)].assign(g.row(i).data(), g.row(i).data() + d);
        ptrs[std::size_t(i)] = rows[std::size_t(i)].data();
      }
      ra::Vector<T> out(d);
      ra::Workspace ws;
      ra::aggregate(ptrs.data(), n, d, rule, out.data(), ws);
      return out;
    }
  }
  return {};
}

const std::vector<Form> kForms = {Form::Contiguous, Form::PaddedMap, Form::RowPointers};

std::string describe(Kind k, Index n, Index d, const std::string& spec, Form f) {
  std::ostringstream os;
  os << spec << " on " << ra::testing::kind_name(k) << " n=" << n << " d=" << d << " via "
     << form_name(f);
  return os.str();
}

/// Under a sanitizer (sanitized.hpp) the random grid stops at n * d of this
/// many values: every n and every SIMD/tile edge stays, at fewer large rows.
constexpr Index kSanitizedMaxValues = 20000;

/// Calls fn(kind, n, d, g) for every input of the grid (full grid for random
/// inputs, the smaller one for the special families).
template <class T, class Fn>
void for_each_input(Fn&& fn) {
  for (Kind kind : ra::testing::all_kinds()) {
    const bool full = kind == Kind::Random;
    for (Index n : full ? kAllRows : kSomeRows)
      for (Index d : full ? kAllDims : kSomeDims) {
        if (full && robustagg_test::kSanitized && n * d > kSanitizedMaxValues) continue;
        const ra::GradientMatrix<T> g =
            ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d));
        fn(kind, n, d, g);
      }
  }
}

/// Checks a coordinate-wise or averaging rule against its reference on every
/// input; `rules(n)` lists the parameterisations to try for n rows.
template <class T, class Rule>
void check_against_reference(
    const std::function<std::vector<Rule>(Index)>& rules,
    const std::function<ref::VectorD(const ref::Matrix&, const Rule&)>& reference,
    const std::function<Match(const Rule&, Index)>& match,
    const std::function<ref::Matrix(const ref::Matrix&, const Rule&)>& seen = {}) {
  std::size_t cases = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    for (const Rule& rule : rules(n)) {
      // the value scale of what the rule sees (the noisy values, for noisy rules)
      const ref::VectorD scale = ra::testing::column_scale(seen ? seen(gd, rule) : gd);
      const ref::VectorD want = reference(gd, rule);
      for (Form form : kForms) {
        const ra::Vector<T> got = run_form(g, rule, form);
        REQUIRE(got.size() == d);
        const std::string diff =
            ra::testing::compare(got.data(), want, match(rule, n), scale, n);
        if (!diff.empty()) FAIL_CHECK(describe(kind, n, d, rule.spec(), form) << ": " << diff);
        ++cases;
      }
    }
  });
  CHECK(cases > 100);
}

template <class Rule>
std::vector<Rule> one(Index) {
  return {Rule{}};
}

/// Distinct values of fs with n >= need(f).
std::vector<int> f_values(Index n, std::initializer_list<Index> fs, Index (*need)(Index)) {
  std::vector<int> out;
  for (Index f : fs)
    if (f >= 0 && n >= need(f) && std::find(out.begin(), out.end(), int(f)) == out.end())
      out.push_back(int(f));
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("mean matches the reference", "[rules][mean]", float, double) {
  check_against_reference<TestType, ra::Mean>(
      one<ra::Mean>, [](const ref::Matrix& g, const ra::Mean&) { return ref::mean(g); },
      [](const ra::Mean&, Index) { return Match::Rounded; });
}

TEMPLATE_TEST_CASE("median matches the reference", "[rules][median]", float, double) {
  // odd n: the middle value, bitwise; even n: the mean of the two middle values.
  check_against_reference<TestType, ra::Median>(
      one<ra::Median>, [](const ref::Matrix& g, const ra::Median&) { return ref::median(g); },
      [](const ra::Median&, Index n) { return n % 2 ? Match::Bitwise : Match::Rounded; });
}

TEMPLATE_TEST_CASE("trimmed mean matches the reference", "[rules][trimmed-mean]", float, double) {
  check_against_reference<TestType, ra::TrimmedMean>(
      [](Index n) {
        std::vector<ra::TrimmedMean> r;
        for (int f : f_values(n, {0, 1, 2, (n - 1) / 2}, [](Index f) { return 2 * f + 1; }))
          r.push_back(ra::TrimmedMean{f});
        return r;
      },
      [](const ref::Matrix& g, const ra::TrimmedMean& r) { return ref::trimmed_mean(g, r.f); },
      [](const ra::TrimmedMean&, Index) { return Match::Rounded; });
}

TEMPLATE_TEST_CASE("multi-krum matches the reference", "[rules][multi-krum]", float, double) {
  check_against_reference<TestType, ra::MultiKrum>(
      [](Index n) {
        std::vector<ra::MultiKrum> r;
        for (int f : f_values(n, {0, 1, (n - 3) / 2}, [](Index f) { return 2 * f + 3; }))
          for (Index m : {Index(0), Index(1), n - f - 1, n})
            if (m >= 0 && m <= n &&
                std::none_of(r.begin(), r.end(), [&](const ra::MultiKrum& x) {
                  return x.f == f && x.m == int(m);
                }))
              r.push_back(ra::MultiKrum{f, int(m)});
        return r;
      },
      [](const ref::Matrix& g, const ra::MultiKrum& r) { return ref::multi_krum(g, r.f, r.m); },
      [](const ra::MultiKrum&, Index) { return Match::Rounded; });
}

TEMPLATE_TEST_CASE("bulyan matches the reference", "[rules][bulyan]", float, double) {
  check_against_reference<TestType, ra::Bulyan>(
      [](Index n) {
        std::vector<ra::Bulyan> r;
        for (int f : f_values(n, {0, 1, 2, (n - 3) / 4}, [](Index f) { return 4 * f + 3; }))
          r.push_back(ra::Bulyan{f});
        return r;
      },
      [](const ref::Matrix& g, const ra::Bulyan& r) { return ref::bulyan(g, r.f); },
      [](const ra::Bulyan&, Index) { return Match::Rounded; });
}

TEMPLATE_TEST_CASE("sign vote matches the reference", "[rules][sign-vote]", float, double) {
  check_against_reference<TestType, ra::SignVote>(
      one<ra::SignVote>, [](const ref::Matrix& g, const ra::SignVote&) { return ref::sign_vote(g); },
      [](const ra::SignVote&, Index) { return Match::Bitwise; });
}

TEMPLATE_TEST_CASE("noisy median matches the reference", "[rules][noisy-median]", float, double) {
  using T = TestType;
  check_against_reference<T, ra::NoisyMedian>(
      [](Index) {
        return std::vector<ra::NoisyMedian>{{0.0, 1}, {0.5, 7}, {3.0, 12345678901234ULL}};
      },
      [](const ref::Matrix& g, const ra::NoisyMedian& r) {
        return ref::noisy_median<T>(g, r.b, r.seed);
      },
      [](const ra::NoisyMedian&, Index n) { return n % 2 ? Match::Bitwise : Match::Rounded; },
      [](const ref::Matrix& g, const ra::NoisyMedian& r) {
        return ref::noisy_input<T>(g, r.b, r.seed);
      });
}

TEMPLATE_TEST_CASE("noisy sign vote matches the reference", "[rules][noisy-sign-vote]", float,
                   double) {
  using T = TestType;
  check_against_reference<T, ra::NoisySignVote>(
      [](Index) {
        return std::vector<ra::NoisySignVote>{{0.0, 1}, {0.5, 7}, {3.0, 12345678901234ULL}};
      },
      [](const ref::Matrix& g, const ra::NoisySignVote& r) {
        return ref::noisy_sign_vote<T>(g, r.b, r.seed);
      },
      [](const ra::NoisySignVote&, Index) { return Match::Bitwise; });
}

// Krum returns one input row exactly. The row must be the reference's choice;
// when another row's reference score is within rounding of the best score
// (a near tie that summation order can flip), that row is accepted too.
TEMPLATE_TEST_CASE("krum returns the reference's row bitwise", "[rules][krum]", float, double) {
  using T = TestType;
  std::size_t cases = 0, near_ties = 0;
  for_each_input<T>([&](Kind kind, Index n, Index d, const ra::GradientMatrix<T>& g) {
    const ref::Matrix gd = ref::to_double(g);
    for (int f : f_values(n, {0, 1, (n - 3) / 2}, [](Index f) { return 2 * f + 3; })) {
      const std::vector<double> scores = ref::krum_scores(gd, f);
      const Index best = ref::rank(scores)[0];
      // distance sums may differ from the reference's by d * n rounding steps
      const double slack = 4.0 * double(d + n) * std::numeric_limits<double>::epsilon() *
                           std::fabs(scores[std::size_t(best)]);
      const ra::Krum rule{f};
      for (Form form : kForms) {
        const ra::Vector<T> got = run_form(g, rule, form);
        REQUIRE(got.size() == d);
        auto is_row = [&](Index i) {
          for (Index j = 0; j < d; ++j)
            if (!ra::testing::same_bits(got[j], g(i, j))) return false;
          return true;
        };
        bool ok = is_row(best);
        if (!ok) {
          for (Index i = 0; i < n && !ok; ++i)
            if (scores[std::size_t(i)] <= scores[std::size_t(best)] + slack && is_row(i)) {
              ok = true;
              ++near_ties;
            }
        }
        if (!ok)
          FAIL_CHECK(describe(kind, n, d, rule.spec(), form)
                     << ": not row " << best << " (reference score " << scores[std::size_t(best)]
                     << ")");
        ++cases;
      }
    }
  });
  CHECK(cases > 100);
  // near ties are possible only on random inputs and should be vanishingly rare
  CHECK(near_ties * 100 <= cases);
}
