// The noisy rules (Chen et al., NeurIPS 2020): b = 0 is the plain rule, the
// noise is reproducible from the seed and is N(0, 1), and a large b moves the
// noisy median of a skewed input toward the mean by the amount the
// definition predicts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <robustagg/robustagg.hpp>
#include <vector>

#include "reference/inputs.hpp"

namespace ra = robustagg;
using ra::Index;

namespace {

template <class T>
bool same_values(const ra::Vector<T>& a, const ra::Vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (Index j = 0; j < a.size(); ++j)
    if (!(a[j] == b[j] || (std::isnan(a[j]) && std::isnan(b[j])))) return false;
  return true;
}

template <class T>
bool same_bits(const ra::Vector<T>& a, const ra::Vector<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(T)) == 0;
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

/// P(median of x_i + b * xi_i <= t) for odd n: at least (n+1)/2 of the n
/// independent values are <= t (Poisson-binomial, by dynamic programming).
double noisy_median_cdf(const std::vector<double>& x, double b, double t) {
  const std::size_t n = x.size();
  std::vector<double> p(n + 1, 0.0);  // p[k] = P(exactly k values <= t)
  p[0] = 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double q = normal_cdf((t - x[i]) / b);
    for (std::size_t k = i + 1; k > 0; --k) p[k] = p[k] * (1 - q) + p[k - 1] * q;
    p[0] *= 1 - q;
  }
  double s = 0.0;
  for (std::size_t k = (n + 1) / 2; k <= n; ++k) s += p[k];
  return s;
}

/// Mean and variance of the noisy median by quadrature of its CDF F:
/// E[M] = int_0^inf (1 - F) - int_-inf^0 F,  E[M^2] = int 2|t| (tail on t's side).
void noisy_median_moments(const std::vector<double>& x, double b, double& mean, double& var) {
  const double lo = -12.0 * b - 2.0, hi = 12.0 * b + 3.0, h = b / 2000.0;
  double m1 = 0.0, m2 = 0.0;
  for (double t = lo + h / 2; t < hi; t += h) {  // midpoint rule
    const double F = noisy_median_cdf(x, b, t);
    const double tail = t >= 0 ? 1.0 - F : F;
    m1 += (t >= 0 ? tail : -tail) * h;
    m2 += 2.0 * std::fabs(t) * tail * h;
  }
  mean = m1;
  var = m2 - m1 * m1;
}

}  // namespace

TEMPLATE_TEST_CASE("b = 0 is the plain rule", "[noisy]", float, double) {
  using T = TestType;
  for (auto kind : ra::testing::all_kinds())
    for (Index n : {1, 4, 7})
      for (Index d : {1, 9, 300}) {
        INFO(ra::testing::kind_name(kind) << " n=" << n << " d=" << d);
        const auto g = ra::testing::make_input<T>(kind, n, d, 11);
        // b = 0 sends x itself (detail::perturbed), so the bits are the plain rule's
        CHECK(same_bits(ra::aggregate(g, ra::NoisyMedian{0.0, 5}), ra::aggregate(g, ra::Median{})));
        CHECK(same_bits(ra::aggregate(g, ra::NoisySignVote{0.0, 5}),
                        ra::aggregate(g, ra::SignVote{})));
      }
}

TEMPLATE_TEST_CASE("same seed, same bits; another seed, other noise", "[noisy]", float, double) {
  using T = TestType;
  const Index n = 7, d = 1000;
  const auto g = ra::testing::make_input<T>(ra::testing::Kind::Random, n, d, 12);
  const auto a = ra::aggregate(g, ra::NoisyMedian{1.0, 42});
  CHECK(same_bits(a, ra::aggregate(g, ra::NoisyMedian{1.0, 42})));
  const auto c = ra::aggregate(g, ra::NoisyMedian{1.0, 43});
  Index differ = 0;
  for (Index j = 0; j < d; ++j) differ += a[j] != c[j];
  CHECK(differ > d * 9 / 10);  // a continuous quantity: equal only by accident
  const auto s = ra::aggregate(g, ra::NoisySignVote{1.0, 42});
  CHECK(same_bits(s, ra::aggregate(g, ra::NoisySignVote{1.0, 42})));
  const auto s2 = ra::aggregate(g, ra::NoisySignVote{1.0, 43});
  CHECK_FALSE(same_bits(s, s2));
  // the noise belongs to (seed, worker, coordinate), not to the tiling or d:
  // the first 300 coordinates alone give the same result
  const ra::GradientMatrix<T> head = g.leftCols(300);
  CHECK(same_bits(ra::Vector<T>(a.head(300)), ra::aggregate(head, ra::NoisyMedian{1.0, 42})));
}

TEMPLATE_TEST_CASE("a large b moves the noisy median of a skewed input toward the mean",
                   "[noisy]", float, double) {
  using T = TestType;
  // Every coordinate holds the five values 0 0 0 1 1: median 0, mean 0.4.
  const std::vector<double> x = {0, 0, 0, 1, 1};
  const Index n = 5, d = 20000;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i) g.row(i).setConstant(T(x[std::size_t(i)]));
  const double b = 2.0;
  // The expectation and variance of one coordinate's noisy median follow from
  // the definition (quadrature of its CDF), independently of the library.
  double expect = 0, var = 0;
  noisy_median_moments(x, b, expect, var);
  // The definition's prediction: with b = 2 the noisy median is centred close
  // to the mean (odd symmetry makes the bias O(spread^3 / b^2)), not at the median.
  CHECK(std::fabs(expect - 0.4) < 0.05);
  CHECK(var > 0.5 * 0.28 * b * b);  // about b^2 Var(median of 5 N(0,1)) = 0.287 b^2
  // The library: the average over d coordinates (independent noise) of the
  // noisy median estimates the expectation with standard error sqrt(var / d).
  const ra::Vector<T> out = ra::aggregate(g, ra::NoisyMedian{b, 2024});
  const double avg = out.template cast<double>().mean();
  const double se = std::sqrt(var / double(d));
  CAPTURE(expect, var, avg, se);
  CHECK(std::fabs(avg - expect) < 5.0 * se);
  // so it sits much closer to the mean 0.4 than to the median 0
  CHECK(std::fabs(avg - 0.4) < 0.1);
  // and b = 0 stays at the median
  CHECK(ra::aggregate(g, ra::NoisyMedian{0.0, 2024}).cwiseAbs().maxCoeff() == T(0));
}

TEST_CASE("the noise is N(0, 1): moments of detail::gaussian over 1e5 draws", "[noisy]") {
  // Bounds are 5 standard errors of each statistic for N = 1e5 draws.
  const int N = 100000;
  double s1 = 0, s2 = 0, pair = 0, cross = 0;
  int beyond2 = 0;
  for (int k = 0; k < N; ++k) {
    // draws over workers and coordinates, with a seed
    const double z = ra::detail::gaussian(12345, std::uint64_t(k / 500), std::uint64_t(k % 500));
    s1 += z;
    s2 += z * z;
    beyond2 += std::fabs(z) > 2.0;
  }
  const double mean = s1 / N, var = s2 / N - mean * mean;
  CHECK(std::fabs(mean) < 5.0 / std::sqrt(double(N)));      // sd of the mean: 1/sqrt(N)
  CHECK(std::fabs(var - 1.0) < 5.0 * std::sqrt(2.0 / N));  // sd of the variance: sqrt(2/N)
  const double p2 = 0.0455002638963584;                     // P(|Z| > 2)
  CHECK(std::fabs(double(beyond2) / N - p2) < 5.0 * std::sqrt(p2 * (1 - p2) / N));
  // coordinates j and j + 16 (j % 64 < 16 or 32 <= j % 64 < 48) share a
  // Box-Muller draw (cosine and sine): uncorrelated; neighbouring workers and
  // seeds: uncorrelated. (The 2^24-draw tests are in test_noise_generator.cpp.)
  const int P = N / 2;
  for (int c = 0; c < P; ++c) {
    const std::uint64_t j = std::uint64_t(64 * (c / 32) + c % 16 + (c % 32 >= 16 ? 32 : 0));
    pair += ra::detail::gaussian(7, 3, j) * ra::detail::gaussian(7, 3, j + 16);
    cross += ra::detail::gaussian(7, std::uint64_t(c), 5) *
             ra::detail::gaussian(7, std::uint64_t(c + 1), 5);
  }
  CHECK(std::fabs(pair / P) < 5.0 / std::sqrt(double(P)));
  CHECK(std::fabs(cross / P) < 5.0 / std::sqrt(double(P)));
  double seeds = 0;
  for (int c = 0; c < P; ++c)
    seeds += ra::detail::gaussian(1, 0, std::uint64_t(c)) * ra::detail::gaussian(2, 0, std::uint64_t(c));
  CHECK(std::fabs(seeds / P) < 5.0 / std::sqrt(double(P)));
  // a pure function of its key
  CHECK(ra::detail::gaussian(9, 8, 7) == ra::detail::gaussian(9, 8, 7));
}
