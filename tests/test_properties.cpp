// Properties every robust rule promises: row-permutation invariance (up to
// tie order), translation equivariance, and with f hostile rows (huge, +-Inf,
// NaN, mixed) a finite output inside the honest rows' per-coordinate range.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <robustagg/robustagg.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reference/inputs.hpp"

namespace ra = robustagg;
using ra::Index;

namespace {

template <class T>
ra::GradientMatrix<T> random_rows(Index n, Index d, std::uint64_t seed) {
  return ra::testing::make_input<T>(ra::testing::Kind::Random, n, d, seed);
}

std::vector<Index> shuffled(Index n, std::uint64_t seed) {
  std::vector<Index> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), Index(0));
  std::mt19937_64 rng(seed);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

template <class T>
ra::GradientMatrix<T> permute(const ra::GradientMatrix<T>& g, const std::vector<Index>& p) {
  ra::GradientMatrix<T> out(g.rows(), g.cols());
  for (Index i = 0; i < g.rows(); ++i) out.row(i) = g.row(p[std::size_t(i)]);
  return out;
}

/// |a - b| <= ulps * eps(T) * scale, coordinate-wise (NaN never matches).
template <class T>
std::string close(const ra::Vector<T>& a, const ra::Vector<T>& b, double ulps,
                  const Eigen::VectorXd& scale) {
  std::ostringstream os;
  const double eps = std::numeric_limits<T>::epsilon();
  for (Index j = 0; j < a.size(); ++j)
    if (!(std::fabs(double(a[j]) - double(b[j])) <= ulps * eps * scale[j])) {
      os << "j=" << j << ": " << double(a[j]) << " vs " << double(b[j]);
      break;
    }
  return os.str();
}

}  // namespace

TEMPLATE_TEST_CASE("rules are invariant under row permutation", "[properties]", float, double) {
  using T = TestType;
  // Random inputs have no ties in values or scores, so tie order never matters.
  // (The noisy rules are not invariant: the noise belongs to the worker index.)
  int bulyan_cases = 0, bulyan_same = 0;
  for (Index n : {5, 8, 11, 16, 23})
    for (Index d : {1, 9, 100, 2049}) {
      CAPTURE(n, d);
      const auto g = random_rows<T>(n, d, std::uint64_t(n * 1000 + d));
      const std::vector<Index> perm = shuffled(n, std::uint64_t(d));
      const auto h = permute(g, perm);
      const auto scale = ra::testing::column_scale(g);
      const int f = int((n - 3) / 4);
      // order statistics and selections: bitwise
      CHECK(ra::aggregate(g, ra::Median{}) == ra::aggregate(h, ra::Median{}));
      CHECK(ra::aggregate(g, ra::SignVote{}) == ra::aggregate(h, ra::SignVote{}));
      CHECK(ra::aggregate(g, ra::Krum{f}) == ra::aggregate(h, ra::Krum{f}));
      CHECK(ra::aggregate(g, ra::Krum{int((n - 3) / 2)}) ==
            ra::aggregate(h, ra::Krum{int((n - 3) / 2)}));
      // averages: the same values summed in another order
      CHECK(close(ra::aggregate(g, ra::Mean{}), ra::aggregate(h, ra::Mean{}), 4, scale) == "");
      CHECK(close(ra::aggregate(g, ra::TrimmedMean{f}), ra::aggregate(h, ra::TrimmedMean{f}), 4,
                  scale) == "");
      CHECK(close(ra::aggregate(g, ra::MultiKrum{f}), ra::aggregate(h, ra::MultiKrum{f}), 4,
                  scale) == "");
      CHECK(close(ra::aggregate(g, ra::MultiKrum{f, 2}), ra::aggregate(h, ra::MultiKrum{f, 2}),
                  4, scale) == "");
      // Bulyan's last rounds use one neighbour, where two mutually nearest rows
      // tie exactly and the lower index wins: the picked set can depend on row
      // order. Where the reference picks the same workers in both orders, the
      // result must not change.
      const auto gd = ra::reference::to_double(g);
      const auto hd = ra::reference::to_double(h);
      std::vector<Index> picked_g = ra::reference::bulyan_rows(gd, f);
      std::vector<Index> picked_h = ra::reference::bulyan_rows(hd, f);
      for (Index& i : picked_h) i = perm[std::size_t(i)];
      std::sort(picked_g.begin(), picked_g.end());
      std::sort(picked_h.begin(), picked_h.end());
      if (picked_g == picked_h) {
        ++bulyan_same;
        CHECK(close(ra::aggregate(g, ra::Bulyan{f}), ra::aggregate(h, ra::Bulyan{f}), 4, scale) ==
              "");
      }
      ++bulyan_cases;
    }
  CHECK(bulyan_same * 2 >= bulyan_cases);
}

TEMPLATE_TEST_CASE("rules are translation equivariant", "[properties]", float, double) {
  using T = TestType;
  // Adding c to every row shifts the result by c, within rounding of x + c.
  for (Index n : {5, 7, 8, 15})
    for (Index d : {1, 8, 33, 1000}) {
      CAPTURE(n, d);
      const auto g = random_rows<T>(n, d, std::uint64_t(n * 7919 + d));
      std::mt19937_64 rng{std::uint64_t(d)};
      std::uniform_real_distribution<double> u(-20.0, 20.0);
      ra::Vector<T> c(d);
      for (Index j = 0; j < d; ++j) c[j] = T(u(rng));
      ra::GradientMatrix<T> h = g;
      h.rowwise() += c.transpose();
      Eigen::VectorXd scale = ra::testing::column_scale(h);
      scale += c.template cast<double>().cwiseAbs();
      const int f = int((n - 3) / 4);

      // Median, odd n: rounding is monotone, so the middle value of x + c is
      // fl(middle value + c) exactly.
      if (n % 2 == 1) {
        const ra::Vector<T> shifted = ra::aggregate(g, ra::Median{}) + c;
        CHECK(ra::aggregate(h, ra::Median{}) == shifted);
      } else {
        CHECK(close(ra::aggregate(h, ra::Median{}), ra::Vector<T>(ra::aggregate(g, ra::Median{}) + c),
                    8, scale) == "");
      }
      // Krum picks the same worker: its shifted row, bitwise.
      for (int kf : {0, int((n - 3) / 2)}) {
        const ra::Vector<T> k = ra::aggregate(g, ra::Krum{kf});
        Index picked = -1;
        for (Index i = 0; i < n; ++i)
          if (g.row(i).transpose() == k) picked = i;
        REQUIRE(picked >= 0);
        CHECK(ra::aggregate(h, ra::Krum{kf}) == h.row(picked).transpose());
      }
      auto shifted_close = [&](const auto& rule) {
        return close(ra::aggregate(h, rule), ra::Vector<T>(ra::aggregate(g, rule) + c), 8, scale);
      };
      CHECK(shifted_close(ra::Mean{}) == "");
      CHECK(shifted_close(ra::TrimmedMean{f}) == "");
      CHECK(shifted_close(ra::TrimmedMean{int((n - 1) / 2)}) == "");
      CHECK(shifted_close(ra::MultiKrum{f}) == "");
      CHECK(shifted_close(ra::MultiKrum{f, 1}) == "");
      CHECK(shifted_close(ra::Bulyan{f}) == "");
    }
}

namespace {

enum class Hostile { Huge, PlusInf, MinusInf, NaN, NegNaN, Mixed, Alternating };

const char* hostile_name(Hostile h) {
  switch (h) {
    case Hostile::Huge: return "1e30";
    case Hostile::PlusInf: return "+Inf";
    case Hostile::MinusInf: return "-Inf";
    case Hostile::NaN: return "NaN";
    case Hostile::NegNaN: return "-NaN";
    case Hostile::Mixed: return "mixed";
    case Hostile::Alternating: return "+-1e30";
  }
  return "?";
}

/// n rows, f of them hostile at random positions; returns the input and the
/// honest rows' per-coordinate range.
template <class T>
ra::GradientMatrix<T> with_hostile(Index n, Index d, Index f, Hostile kind, std::uint64_t seed,
                                   ra::Vector<T>& lo, ra::Vector<T>& hi) {
  ra::GradientMatrix<T> g = random_rows<T>(n, d, seed);
  const std::vector<Index> order = shuffled(n, seed + 1);
  std::vector<bool> hostile(std::size_t(n), false);
  for (Index k = 0; k < f; ++k) hostile[std::size_t(order[std::size_t(k)])] = true;
  lo = ra::Vector<T>::Constant(d, std::numeric_limits<T>::infinity());
  hi = -lo;
  for (Index i = 0; i < n; ++i)
    if (!hostile[std::size_t(i)]) {
      lo = lo.cwiseMin(g.row(i).transpose());
      hi = hi.cwiseMax(g.row(i).transpose());
    }
  const T inf = std::numeric_limits<T>::infinity();
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T pool[] = {T(1e30), T(-1e30), inf, -inf, nan, -nan};
  std::mt19937_64 rng(seed + 2);
  for (Index i = 0; i < n; ++i) {
    if (!hostile[std::size_t(i)]) continue;
    for (Index j = 0; j < d; ++j) {
      T v = 0;
      switch (kind) {
        case Hostile::Huge: v = T(1e30); break;
        case Hostile::PlusInf: v = inf; break;
        case Hostile::MinusInf: v = -inf; break;
        case Hostile::NaN: v = nan; break;
        case Hostile::NegNaN: v = -nan; break;
        case Hostile::Mixed: v = pool[rng() % 6]; break;
        case Hostile::Alternating: v = (j % 2) ? T(1e30) : T(-1e30); break;
      }
      g(i, j) = v;
    }
  }
  return g;
}

}  // namespace

TEMPLATE_TEST_CASE("with f hostile rows the output is finite and inside the honest range",
                   "[properties][hostile]", float, double) {
  using T = TestType;
  const std::vector<Hostile> kinds = {Hostile::Huge,   Hostile::PlusInf, Hostile::MinusInf,
                                      Hostile::NaN,    Hostile::NegNaN,  Hostile::Mixed,
                                      Hostile::Alternating};
  struct Case {
    std::string name;
    ra::AnyRule rule;
    Index min_n;
  };
  std::size_t checked = 0;
  for (int f : {1, 2, 3}) {
    const std::vector<Case> rules = {
        {"median", ra::Median{}, 2 * f + 1},
        {"trimmed-mean", ra::TrimmedMean{f}, 2 * f + 1},
        {"krum", ra::Krum{f}, 2 * f + 3},
        {"multi-krum", ra::MultiKrum{f}, 2 * f + 3},
        {"multi-krum m=1", ra::MultiKrum{f, 1}, 2 * f + 3},
        {"bulyan", ra::Bulyan{f}, 4 * f + 3},
    };
    for (const Case& c : rules)
      for (Index n : {c.min_n, c.min_n + 1, c.min_n + 6, 3 * c.min_n})
        for (Index d : {1, 8, 17, 300})
          for (Hostile kind : kinds) {
            ra::Vector<T> lo, hi;
            const std::uint64_t seed = std::uint64_t(f * 100000 + n * 1000 + d * 10 + int(kind));
            const auto g = with_hostile<T>(n, d, f, kind, seed, lo, hi);
            const ra::Vector<T> out = ra::aggregate(g, c.rule);
            // an average of honest values may round just past the range ends
            const T slack = T(4) * std::numeric_limits<T>::epsilon();
            for (Index j = 0; j < d; ++j) {
              const T tol = slack * std::max(std::fabs(lo[j]), std::fabs(hi[j]));
              if (!(std::isfinite(out[j]) && out[j] >= lo[j] - tol && out[j] <= hi[j] + tol)) {
                FAIL_CHECK(c.rule.spec() << " n=" << n << " d=" << d << " hostile "
                                         << hostile_name(kind) << ": out[" << j
                                         << "] = " << out[j] << " outside [" << lo[j] << ", "
                                         << hi[j] << "]");
                break;
              }
            }
            ++checked;
          }
  }
  CHECK(checked == 3 * 6 * 4 * 4 * 7);
}

TEST_CASE("mean is not robust: one hostile row moves it anywhere", "[properties][hostile]") {
  // the contrast the robust rules are tested against
  ra::GradientMatrix<double> g = ra::GradientMatrix<double>::Ones(5, 3);
  g(4, 0) = 1e30;
  g(4, 1) = std::numeric_limits<double>::quiet_NaN();
  g(4, 2) = std::numeric_limits<double>::infinity();
  const auto m = ra::aggregate(g, ra::Mean{});
  CHECK(m[0] > 1e29);
  CHECK(std::isnan(m[1]));
  CHECK(std::isinf(m[2]));
}
