// The Gaussian generator of detail/rng.hpp and its SIMD form
// detail/noise_kernel.hpp: Threefry-4x32-20 against Random123's known-answer
// vectors, the documented coordinate layout, the normal transform against a
// double-precision libm evaluation of the same uniforms, the SIMD kernel bit
// for bit against the scalar definition (every count 0..70, odd/even offsets,
// unaligned pointers, in place, float and double, b = 0, non-finite values),
// and the distribution on 2^24 draws (2^22 under a sanitizer, sanitized.hpp;
// every bound scales with the number of draws): moments, Kolmogorov-Smirnov distance to
// N(0, 1), tails, correlations between neighbouring coordinates, the
// Box-Muller partners, workers and seeds; determinism and independence of how
// the coordinates are split into calls.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <robustagg/detail/noise_kernel.hpp>
#include <robustagg/detail/rng.hpp>
#include <vector>

#include "sanitized.hpp"

namespace rd = robustagg::detail;
using Index = std::ptrdiff_t;

namespace {

/// Coordinates per worker of the statistical tests: 2^22 (2^20 under a sanitizer).
constexpr Index kStatCoords = Index(1) << (robustagg_test::kSanitized ? 20 : 22);

using ScalarOps = rd::ScalarNoiseOps<>;

std::uint64_t next(std::uint64_t& s) { return rd::mix64(s++); }

/// Threefry-4x32-20 of a full 4-word counter and key (the test's view).
void threefry(const std::uint32_t ctr[4], const std::uint32_t key[4], std::uint32_t out[4]) {
  const std::uint32_t ks[5] = {key[0], key[1], key[2], key[3],
                               0x1BD11BDAu ^ key[0] ^ key[1] ^ key[2] ^ key[3]};
  std::uint32_t x[1][4] = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  rd::threefry4x32<ScalarOps>(x, ks);
  for (int w = 0; w < 4; ++w) out[w] = x[0][w];
}

/// The normal of coordinate j as documented in rng.hpp, assembled by hand
/// from the block cipher and the transform.
float documented(std::uint64_t seed, std::uint64_t worker, std::uint64_t j) {
  const std::uint64_t c = 16 * (j / 64) + j % 16;
  const unsigned o = unsigned(j / 16 % 4);
  const std::uint32_t ctr[4] = {std::uint32_t(c), std::uint32_t(c >> 32), 0, 0};
  const std::uint32_t key[4] = {std::uint32_t(seed), std::uint32_t(seed >> 32),
                                std::uint32_t(worker), std::uint32_t(worker >> 32)};
  std::uint32_t w[4];
  threefry(ctr, key, w);
  float zc, zs;
  rd::box_muller<ScalarOps>(w[o < 2 ? 0 : 2], w[o < 2 ? 1 : 3], zc, zs);
  return o % 2 == 0 ? zc : zs;
}

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

/// Pearson correlation of x[k] and y[k].
double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    mx += x[k];
    my += y[k];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) * (x[k] - mx);
    syy += (y[k] - my) * (y[k] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

/// z(seed, worker, j) for j in [0, d), by the SIMD kernel on zeros with b = 1
/// (0 + 1 * z = z; a -0 becomes +0, which no statistic sees).
std::vector<float> draws(std::uint64_t seed, std::uint64_t worker, Index d) {
  std::vector<float> z(std::size_t(d), 0.0f);
  rd::add_noise<xsimd::default_arch, float>(z.data(), z.data(), d, 1.0, seed, worker, 0);
  return z;
}

template <class Arch, class T>
void check_kernel_against_scalar(const char* arch) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::uint64_t offsets[] = {0,
                                   1,
                                   2,
                                   15,
                                   16,
                                   17,
                                   63,
                                   64,
                                   65,
                                   127,
                                   1000001,
                                   (std::uint64_t(1) << 34) - 37,  // the counter's low word wraps
                                   (std::uint64_t(1) << 63) - 101,
                                   ~std::uint64_t(0) - 300};
  std::uint64_t rs = 99;
  std::vector<T> src(400), dst(400), ref(400);
  Index mismatches = 0;
  for (double b : {0.0, 1.0, 0.1, 3.7e-3, 250.0})
    for (std::uint64_t j0 : offsets)
      for (Index count = 0; count <= 270; count += (count < 70 ? 1 : 100))
        for (Index shift : {0, 1, 3}) {
          const std::uint64_t seed = next(rs), worker = next(rs) % 5;
          for (Index k = 0; k < 400; ++k) {
            const std::uint64_t r = next(rs);
            src[std::size_t(k)] = T(double(std::int64_t(r)) * 0x1p-63 * 10.0);
          }
          src[std::size_t(shift)] = T(-0.0);
          src[std::size_t(shift + 2)] = T(nan);
          src[std::size_t(shift + 5)] = T(-inf);
          src[std::size_t(shift + 40)] = T(1e30);
          for (Index k = 0; k < count; ++k)
            ref[std::size_t(k)] =
                rd::perturbed<T>(src[std::size_t(shift + k)], b, seed, worker, j0 + std::uint64_t(k));
          // out of place, unaligned by `shift` elements
          rd::add_noise<Arch, T>(src.data() + shift, dst.data() + shift, count, b, seed, worker, j0);
          for (Index k = 0; k < count; ++k)
            mismatches += !same_bits(dst[std::size_t(shift + k)], ref[std::size_t(k)]);
          // in place
          std::vector<T> buf(src);
          rd::add_noise<Arch, T>(buf.data() + shift, buf.data() + shift, count, b, seed, worker, j0);
          for (Index k = 0; k < count; ++k)
            mismatches += !same_bits(buf[std::size_t(shift + k)], ref[std::size_t(k)]);
          // nothing outside [shift, shift + count) is written
          for (Index k = 0; k < shift; ++k) mismatches += !same_bits(buf[std::size_t(k)], src[std::size_t(k)]);
          for (Index k = shift + count; k < 400; ++k)
            mismatches += !same_bits(buf[std::size_t(k)], src[std::size_t(k)]);
          if (b == 0.0)  // x itself, bit for bit (-0 and NaN included)
            for (Index k = 0; k < count; ++k)
              mismatches += !same_bits(buf[std::size_t(shift + k)], src[std::size_t(shift + k)]);
        }
  INFO(arch);
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("Threefry-4x32-20 matches Random123's known-answer vectors", "[noise]") {
  // Random123 examples/kat_vectors, "threefry4x32 20": counter, key, result.
  struct Kat {
    std::uint32_t ctr[4], key[4], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0, 0, 0}, {0x9c6ca96a, 0xe17eae66, 0xfc10ecd4, 0x5256a7d8}},
      {{~0u, ~0u, ~0u, ~0u}, {~0u, ~0u, ~0u, ~0u}, {0x2a881696, 0x57012287, 0xf6c7446e, 0xa16a6732}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89},
       {0x59cd1dbb, 0xb8879579, 0x86b5d00c, 0xac8b6d84}}};
  for (const Kat& k : kats) {
    std::uint32_t out[4];
    threefry(k.ctr, k.key, out);
    for (int w = 0; w < 4; ++w) CHECK(out[w] == k.out[w]);
  }
}

TEST_CASE("gaussian follows the documented key, counter and layout", "[noise]") {
  std::uint64_t rs = 5;
  for (int t = 0; t < 2000; ++t) {
    const std::uint64_t seed = next(rs), worker = t % 3 == 0 ? next(rs) : std::uint64_t(t % 7);
    const std::uint64_t j = t % 2 ? next(rs) : std::uint64_t(t) * 7;
    const float z = documented(seed, worker, j);
    CHECK(same_bits(rd::gaussian(seed, worker, j), double(z)));
    CHECK(same_bits(rd::gaussian_float(rd::noise_key(seed, worker), j), z));
  }
  // a pure function of its key
  CHECK(rd::gaussian(9, 8, 7) == rd::gaussian(9, 8, 7));
}

TEST_CASE("the normal transform is the Box-Muller map of its uniforms to ~1e-7", "[noise]") {
  // The exact transform of the same quantised uniforms, in double with libm:
  // u1 = (float(a >> 1) + 0.5f) * 2^-31 (as the definition rounds it), angle
  // 2 pi (b >> 5) / 2^27.
  std::uint64_t rs = 17;
  double worst_c = 0, worst_s = 0, worst_r2 = 0;
  for (int t = 0; t < 1000000; ++t) {
    const std::uint64_t h = next(rs);
    std::uint32_t a = std::uint32_t(h), b = std::uint32_t(h >> 32);
    if (t < 64) a = t < 32 ? std::uint32_t(t) : ~std::uint32_t(t - 32);  // the extremes of u1
    float zc, zs;
    rd::box_muller<ScalarOps>(a, b, zc, zs);
    const float u1 = (float(std::int32_t(a >> 1)) + 0.5f) * 0x1p-31f;
    const double r = std::sqrt(-2.0 * std::log(double(u1)));
    const double th = 6.283185307179586476925286766559 * double(b >> 5) * 0x1p-27;
    const double ec = std::fabs(double(zc) - r * std::cos(th)) / std::max(r, 1.0);
    const double es = std::fabs(double(zs) - r * std::sin(th)) / std::max(r, 1.0);
    worst_c = std::max(worst_c, ec);
    worst_s = std::max(worst_s, es);
    // the radius alone, relative: zc^2 + zs^2 = r^2
    if (r > 1e-3) {
      const double r2 = double(zc) * double(zc) + double(zs) * double(zs);
      worst_r2 = std::max(worst_r2, std::fabs(r2 - r * r) / (r * r));
    }
  }
  CAPTURE(worst_c, worst_s, worst_r2);
  CHECK(worst_c < 1e-6);
  CHECK(worst_s < 1e-6);
  CHECK(worst_r2 < 2e-6);
  // u1 = 2^-32 (a = 0): the largest radius, sqrt(64 ln 2) = 6.6604
  float zc, zs;
  rd::box_muller<ScalarOps>(0u, 0u, zc, zs);
  CHECK(std::fabs(zc - 6.6604369) < 1e-5);
  CHECK(zs == 0.0f);
}

TEST_CASE("add_noise is the scalar definition bit for bit", "[noise]") {
  check_kernel_against_scalar<xsimd::default_arch, float>(xsimd::default_arch::name());
  check_kernel_against_scalar<xsimd::default_arch, double>(xsimd::default_arch::name());
#if XSIMD_WITH_SSE2
  check_kernel_against_scalar<xsimd::sse2, float>("sse2");
  check_kernel_against_scalar<xsimd::sse2, double>("sse2");
#endif
#if XSIMD_WITH_AVX2
  check_kernel_against_scalar<xsimd::avx2, float>("avx2");
  check_kernel_against_scalar<xsimd::avx2, double>("avx2");
#endif
  // noise_block(s): the 64 (128) normals of whole blocks
  const rd::NoiseKey key = rd::noise_key(3, 4);
  alignas(64) float z[128];
  Index bad = 0;
  for (std::uint64_t block : {std::uint64_t(0), std::uint64_t(1), std::uint64_t(12345),
                              (std::uint64_t(1) << 28) - 1, ~std::uint64_t(0) >> 6}) {
    rd::noise_block<xsimd::default_arch>(key, block, z);
    for (std::uint64_t k = 0; k < 64; ++k) bad += !same_bits(z[k], rd::gaussian_float(key, 64 * block + k));
    if (block + 1 != 0 && block < (~std::uint64_t(0) >> 6)) {
      rd::noise_blocks<xsimd::default_arch, 2>(key, block, z);
      for (std::uint64_t k = 0; k < 128; ++k)
        bad += !same_bits(z[k], rd::gaussian_float(key, 64 * block + k));
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("the noise does not depend on how the coordinates are split into calls", "[noise]") {
  const Index d = 100000;
  std::vector<float> whole(std::size_t(d), 1.0f), pieces(std::size_t(d), 1.0f), again(std::size_t(d), 1.0f);
  rd::add_noise<xsimd::default_arch, float>(whole.data(), whole.data(), d, 0.5, 77, 2, 0);
  rd::add_noise<xsimd::default_arch, float>(again.data(), again.data(), d, 0.5, 77, 2, 0);
  std::uint64_t rs = 1;
  for (Index j = 0; j < d;) {
    const Index len = std::min(d - j, Index(next(rs) % 300));
    rd::add_noise<xsimd::default_arch, float>(pieces.data() + j, pieces.data() + j, len, 0.5, 77, 2,
                                              std::uint64_t(j));
    j += len;
  }
  CHECK(std::memcmp(whole.data(), pieces.data(), std::size_t(d) * sizeof(float)) == 0);
  CHECK(std::memcmp(whole.data(), again.data(), std::size_t(d) * sizeof(float)) == 0);
}

TEST_CASE("the noise is N(0, 1) on 2^24 draws: moments, KS distance, tails", "[noise]") {
  // 4 workers x 2^22 coordinates (kStatCoords). Bounds: 6 standard errors of
  // each statistic under N(0, 1) for N draws (mean 1/sqrt(N), variance
  // sqrt(2/N), skewness sqrt(6/N), excess kurtosis sqrt(24/N), a tail count its
  // binomial sd).
  const Index d = kStatCoords;
  const int workers = 4;
  std::vector<float> all;
  all.reserve(std::size_t(d) * workers);
  for (int w = 0; w < workers; ++w) {
    const auto z = draws(2024, std::uint64_t(w), d);
    all.insert(all.end(), z.begin(), z.end());
  }
  const double N = double(all.size());
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  double beyond3 = 0, beyond4 = 0, biggest = 0;
  for (float v : all) {
    const double z = v;
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
    beyond3 += std::fabs(z) > 3.0;
    beyond4 += std::fabs(z) > 4.0;
    biggest = std::max(biggest, std::fabs(z));
  }
  const double mean = s1 / N;
  const double m2 = s2 / N - mean * mean;
  const double m3 = s3 / N - 3 * mean * s2 / N + 2 * mean * mean * mean;
  const double m4 = s4 / N - 4 * mean * s3 / N + 6 * mean * mean * s2 / N - 3 * mean * mean * mean * mean;
  const double skew = m3 / std::pow(m2, 1.5), kurt = m4 / (m2 * m2) - 3.0;
  CAPTURE(N, mean, m2, skew, kurt);
  CHECK(std::fabs(mean) < 6.0 / std::sqrt(N));
  CHECK(std::fabs(m2 - 1.0) < 6.0 * std::sqrt(2.0 / N));
  CHECK(std::fabs(skew) < 6.0 * std::sqrt(6.0 / N));
  CHECK(std::fabs(kurt) < 6.0 * std::sqrt(24.0 / N));
  const double p3 = 0.0026997960632601866, p4 = 6.334248366623996e-05;  // P(|Z| > 3), P(|Z| > 4)
  CAPTURE(beyond3 / N, beyond4 / N, biggest);
  CHECK(std::fabs(beyond3 - N * p3) < 6.0 * std::sqrt(N * p3 * (1 - p3)));
  CHECK(std::fabs(beyond4 - N * p4) < 6.0 * std::sqrt(N * p4 * (1 - p4)));
  CHECK(biggest <= 6.67);  // r <= sqrt(64 ln 2)
  // Kolmogorov-Smirnov: D = sup |F_N - Phi| against the 0.1% critical value
  // sqrt(ln(2 / 0.001) / 2) / sqrt(N) = 1.9495 / sqrt(N) (4.8e-4 at N = 2^24).
  std::sort(all.begin(), all.end());
  double D = 0;
  for (std::size_t k = 0; k < all.size();) {
    std::size_t e = k;
    while (e < all.size() && all[e] == all[k]) ++e;  // ties: one jump
    const double F = normal_cdf(double(all[k]));
    D = std::max(D, std::max(std::fabs(double(e) / N - F), std::fabs(double(k) / N - F)));
    k = e;
  }
  const double critical = std::sqrt(std::log(2.0 / 0.001) / 2.0) / std::sqrt(N);
  CAPTURE(D, critical);
  CHECK(D < critical);
}

TEST_CASE("no correlation between coordinates, Box-Muller partners, workers, seeds", "[noise]") {
  // Pearson correlations over M pairs: sd 1/sqrt(M) when independent; bound 6 sd.
  const Index d = kStatCoords;
  const auto a = draws(31, 0, d);
  const auto lagged = [&](const std::vector<float>& z, Index lag, bool squares) {
    std::vector<double> x, y;
    x.reserve(z.size());
    y.reserve(z.size());
    for (std::size_t k = 0; k + std::size_t(lag) < z.size(); ++k) {
      const double u = z[k], v = z[k + std::size_t(lag)];
      x.push_back(squares ? u * u : u);
      y.push_back(squares ? v * v : v);
    }
    return correlation(x, y);
  };
  const double bound = 6.0 / std::sqrt(double(d));
  // lag 1: neighbours; 16: the sine of the same Box-Muller draw (independent,
  // so even the squares are uncorrelated); 32: the other draw of the same
  // counter; 64: the same lane of the next block
  for (Index lag : {1, 2, 16, 32, 48, 64}) {
    INFO("lag " << lag);
    CHECK(std::fabs(lagged(a, lag, false)) < bound);
    CHECK(std::fabs(lagged(a, lag, true)) < bound);
  }
  const auto pair_corr = [&](const std::vector<float>& x, const std::vector<float>& y) {
    return correlation(std::vector<double>(x.begin(), x.end()), std::vector<double>(y.begin(), y.end()));
  };
  const auto w1 = draws(31, 1, d);
  const auto s1 = draws(32, 0, d);
  const auto hi = draws(31 + (std::uint64_t(1) << 32), 0, d);  // the seed's high word
  const auto wbig = draws(31, std::uint64_t(1) << 32, d);      // the worker's high word
  CHECK(std::fabs(pair_corr(a, w1)) < bound);
  CHECK(std::fabs(pair_corr(a, s1)) < bound);
  CHECK(std::fabs(pair_corr(a, hi)) < bound);
  CHECK(std::fabs(pair_corr(a, wbig)) < bound);
  CHECK(std::fabs(pair_corr(w1, s1)) < bound);
}
