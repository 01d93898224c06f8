// Column-major and other strided input: read in place by the coordinate-wise
// rules, gathered once for the others; every rule gives bitwise the result of
// the same values in row-major layout, in every form and every layout Eigen
// and the raw API offer. The gather kernel (SIMD transpose of column-major
// blocks) is checked against the plain loop over the SIMD and block edges.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

#include "archs.hpp"
#include "sanitized.hpp"

namespace ra = robustagg;
using ra::Index;

namespace {

template <class T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

/// Values with ties, signed zeros, NaN and infinities among normal values;
/// groups of 3 rows replicate (DETOX majorities).
template <class T>
ra::GradientMatrix<T> mixed_input(Index n, Index d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> pick(0, 9);
  const T specials[] = {T(0), -T(0), T(1), T(-1), T(2), T(0.5)};
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) {
      const int p = pick(rng);
      g(i, j) = p < 6 ? specials[p] : T((1.0 + 0.1 * double(i)) * normal(rng));
    }
  for (Index i = 0; i + 3 < n; ++i)
    if (i % 3) g.row(i) = g.row(i - i % 3);
  if (n > 5 && d > 17) {
    g(4, 17) = std::numeric_limits<T>::quiet_NaN();
    g(n - 1, d / 2) = std::numeric_limits<T>::infinity();
    g(n - 2, d - 1) = -std::numeric_limits<T>::infinity();
  }
  return g;
}

template <class T>
bool same_bits(const ra::Vector<T>& a, const ra::Vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(T) * std::size_t(a.size())) == 0;
}

const std::vector<std::string> kSpecs = {
    "mean", "median", "trimmed-mean(f=3)", "meamed(f=3)", "sign-vote",
    "noisy-median(b=0.3, seed=5)", "noisy-sign-vote(b=0.3, seed=5)",
    "krum(f=3)", "multi-krum(f=3, m=5)", "bulyan(f=3)",
    "geometric-median(iterations=4)", "centered-clipping(tau=10, iterations=3)",
    "mda(f=2)", "monna(f=3, trusted=2)", "caf(f=3)", "smea(f=2)",
    "cge(f=3)", "centered-clipping(tau=10, iterations=3, start=mean)",
    "clip(c=50, then=median)", "nnm(f=2, then=krum(f=2))", "arc(f=3, then=meamed(f=3))",
    "bucketing(s=2, seed=7, then=median)", "detox(r=3, outer=median)",
    "detox(r=3, buckets=2, inner=median, outer=mean, seed=3)",
};

/// For each spec: the row-major result (the reference) against column-major
/// input in every Eigen form and the raw strided view.
template <class T>
void check_layouts(Index n, Index d, const std::vector<std::string>& specs) {
  const ra::GradientMatrix<T> rm = mixed_input<T>(n, d, unsigned(n * 7 + d));
  const ColMajor<T> cm = rm;
  // A column-major block of a larger matrix (outer stride n + 5, offset).
  ColMajor<T> big = ColMajor<T>::Constant(n + 5, d + 2, T(1e30));
  big.block(3, 1, n, d) = rm;
  const auto block = big.block(3, 1, n, d);
  // A general strided map: inner stride 2 between coordinates, rows 2d + 3 apart.
  std::vector<T> buf(std::size_t(n * (2 * d + 3)), T(7));
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) buf[std::size_t(i * (2 * d + 3) + 2 * j)] = rm(i, j);
  using Strided = Eigen::Map<const ra::GradientMatrix<T>, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  const Strided strided(buf.data(), n, d, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(2 * d + 3, 2));
  for (const std::string& spec : specs) {
    if (spec.rfind("detox", 0) == 0 && n % 3 != 0) continue;
    INFO(spec << " n = " << n << " d = " << d);
    const ra::AnyRule rule = ra::parse_rule(spec);
    ra::Workspace ws_ref;
    ra::Vector<T> expect;
    ra::aggregate(rm, rule, expect, ws_ref);
    ra::Workspace ws;
    ra::Vector<T> out;
    ra::aggregate(cm, rule, out, ws);
    CHECK(same_bits(out, expect));
    ra::aggregate(block, rule, out, ws);  // the same workspace, another layout
    CHECK(same_bits(out, expect));
    ra::aggregate(strided, rule, out, ws);
    CHECK(same_bits(out, expect));
    CHECK(same_bits(ra::aggregate(cm, rule), expect));            // value form
    CHECK(same_bits(ra::aggregate(cm.transpose().transpose(), rule), expect));
    ra::Aggregator<> agg(rule);
    CHECK(same_bits(agg(cm), expect));
    std::vector<T> raw(static_cast<std::size_t>(d));
    ra::aggregate(ra::RowsView<T>::strided(cm.data(), n, d, 1, n), rule, raw.data(), ws);
    CHECK(std::memcmp(raw.data(), expect.data(), sizeof(T) * std::size_t(d)) == 0);
  }
}

}  // namespace

TEST_CASE("a column-major matrix is viewed in place, with its strides", "[layout]") {
  ColMajor<float> cm(4, 6);
  const auto check = [](const ra::RowsView<float>& v, const float* base, Index rs, Index cs) {
    CHECK(v.base() == base);
    CHECK(v.row_stride() == rs);
    CHECK(v.col_stride() == cs);
    CHECK_FALSE(v.contiguous());
  };
  ra::detail::with_rows_view(cm, [&](const ra::RowsView<float>& v) { check(v, cm.data(), 1, 4); });
  ColMajor<float> big(9, 9);
  ra::detail::with_rows_view(big.block(2, 3, 4, 5),
                             [&](const ra::RowsView<float>& v) { check(v, &big(2, 3), 1, 9); });
  ra::GradientMatrix<float> rm(4, 6);
  ra::detail::with_rows_view(rm, [&](const ra::RowsView<float>& v) {
    CHECK(v.base() == rm.data());
    CHECK(v.contiguous());
  });
  // The transpose of a column-major d x n matrix is n x d row-major: contiguous.
  ColMajor<float> dn(6, 4);
  ra::detail::with_rows_view(dn.transpose(), [&](const ra::RowsView<float>& v) {
    CHECK(v.base() == dn.data());
    CHECK(v.contiguous());
    CHECK(v.rows() == 4);
  });
}

TEST_CASE("the layout grid covers every rule of the catalogue", "[layout]") {
  for (const ra::RuleInfo& info : ra::rule_catalog()) {
    INFO(info.name);
    bool found = false;
    for (const std::string& spec : kSpecs) {
      const std::size_t at = spec.find(info.name);
      // the name as a whole word: at the start or after '=', followed by '(' or the end
      found = found || (at != std::string::npos && (at == 0 || spec[at - 1] == '=') &&
                        (at + info.name.size() == spec.size() || spec[at + info.name.size()] == '('));
    }
    CHECK(found);
  }
}

TEMPLATE_TEST_CASE("the gather kernel equals the plain loop over SIMD and block edges", "[layout][kernels]",
                   float, double) {
  using T = TestType;
  robustagg_test::for_each_arch([](const std::string& arch) {
    const Index W = robustagg_test::simd_width<T>();
    for (Index n : {Index(1), Index(2), Index(3), W - 1, W, W + 1, Index(15), Index(17), 2 * W + 3, Index(101)}) {
      if (n < 1) continue;
      struct Layout {
        Index rs, cs;
      };
      for (const Layout lay : {Layout{1, n}, Layout{1, n + 3}, Layout{3, 3 * n + 1}, Layout{n + 2, 1}}) {
        for (Index d : {Index(1), W, 3 * W + 5}) {
          const Index extent = (n - 1) * lay.rs + (d - 1) * lay.cs + 1;
          // Exactly `extent` values: a load past it fails under AddressSanitizer.
          std::vector<T> src(static_cast<std::size_t>(extent));
          for (std::size_t k = 0; k < src.size(); ++k) src[k] = T(double(k) * 0.5 - 3.0);
          for (Index j0 : {Index(0), Index(1), d / 2}) {
            const Index count = d - j0;
            const Index ld = count + 3;
            std::vector<T> got(std::size_t(n * ld), T(-99)), want(got);
            ra::detail::kernels<T>().gather(src.data(), n, lay.rs, lay.cs, j0, count, extent, got.data(), ld);
            for (Index i = 0; i < n; ++i)
              for (Index jj = 0; jj < count; ++jj)
                want[std::size_t(i * ld + jj)] = src[std::size_t(i * lay.rs + (j0 + jj) * lay.cs)];
            INFO(arch << " n = " << n << " d = " << d << " j0 = " << j0 << " strides " << lay.rs << ", " << lay.cs);
            CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0);
          }
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("every rule gives bitwise the row-major result on column-major and strided input",
                   "[layout]", float, double) {
  using T = TestType;
  robustagg_test::for_each_arch([](const std::string& arch) {
    INFO(arch);
    for (Index n : {Index(15), Index(16), Index(17)}) check_layouts<T>(n, 3 * 256 + 19, kSpecs);
    check_layouts<T>(15, 1, {"mean", "median", "krum(f=3)"});
    check_layouts<T>(33, 40000 + 7, {"mean", "median", "trimmed-mean(f=5)", "sign-vote",
                                     "noisy-sign-vote(b=0.3, seed=5)", "krum(f=5)", "clip(c=50, then=median)"});
  });
}

TEMPLATE_TEST_CASE("column-major input is bitwise the same from 1 to 64 threads", "[layout][threads]", float,
                   double) {
  using T = TestType;
  struct Guard {
    ~Guard() { ra::set_num_threads(0); }
  } guard;
  const Index n = 15, d = robustagg_test::kSanitized ? (Index(1) << 18) + 5 : (Index(1) << 20) + 5;
  const ra::GradientMatrix<T> rm = mixed_input<T>(n, d, 11);
  const ColMajor<T> cm = rm;
  for (const std::string spec : {"mean", "median", "trimmed-mean(f=3)", "sign-vote", "noisy-median(b=0.3, seed=5)",
                                 "noisy-sign-vote(b=0.3, seed=5)", "krum(f=3)", "clip(c=50, then=median)"}) {
    INFO(spec);
    const ra::AnyRule rule = ra::parse_rule(spec);
    ra::set_num_threads(1);
    const ra::Vector<T> expect = ra::aggregate(rm, rule);
    for (int threads : {2, 3, 17, 64}) {
      INFO("threads = " << threads);
      ra::set_num_threads(threads);
      CHECK(same_bits(ra::aggregate(cm, rule), expect));
    }
  }
}
