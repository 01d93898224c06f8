// The SIMD kernels (networks, coordinate engine, distance engine) against
// their plain scalar forms: sorting networks by the 0-1 principle, every
// coordinate kernel bitwise against the portable per-coordinate sort over d
// around the SIMD width W and n on both sides of the fixed/run-time/scalar
// network bounds, the distance engine against double distances (relative
// error), and the float-overflow path of the distance engine.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <vector>

#include "archs.hpp"

namespace ra = robustagg;
namespace rd = robustagg::detail;
using ra::Index;

namespace {

/// Applies a comparator list to plain integers (the network's definition).
void apply_scalar(int* v, const rd::Comparator* net, int count) {
  for (int c = 0; c < count; ++c) {
    const int a = v[net[c].lo], b = v[net[c].hi];
    if (net[c].kind & 1) v[net[c].lo] = std::min(a, b);
    if (net[c].kind & 2) v[net[c].hi] = std::max(a, b);
  }
}

/// True when the network sorts (or, for outputs [first, last), selects) every
/// 0-1 input of n wires: by the 0-1 principle, then every input.
bool zero_one_ok(int n, const rd::Comparator* net, int count, int first, int last) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (std::uint32_t bits = 0; bits < (1u << n); ++bits) {
    int ones = 0;
    for (int w = 0; w < n; ++w) ones += v[std::size_t(w)] = int((bits >> w) & 1u);
    apply_scalar(v.data(), net, count);
    for (int w = first; w < last; ++w)
      if (v[std::size_t(w)] != int(w >= n - ones)) return false;
  }
  return true;
}

template <class T>
T special(std::mt19937_64& rng) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const T options[] = {std::numeric_limits<T>::quiet_NaN(), -std::numeric_limits<T>::quiet_NaN(),
                       kInf, -kInf, T(0), -T(0), T(1), T(-1), std::numeric_limits<T>::max(),
                       std::numeric_limits<T>::denorm_min()};
  return options[rng() % (sizeof options / sizeof options[0])];
}

/// n x d: random normals, some small-integer ties, and (when `hostile`) some
/// NaN, +-Inf, signed zeros and extremes.
template <class T>
ra::GradientMatrix<T> make(Index n, Index d, std::uint64_t seed, bool hostile) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) {
      const auto r = rng() % 16;
      if (hostile && r == 0)
        g(i, j) = special<T>(rng);
      else if (r < 4)
        g(i, j) = T(int(rng() % 5) - 2);  // ties
      else
        g(i, j) = T(normal(rng));
    }
  return g;
}

/// Bitwise equality; any two NaNs count as equal (the sign and payload of a
/// NaN made by arithmetic, e.g. the midpoint of two NaNs, depend on operand
/// order, which the compiler may swap in the portable code).
template <class T>
bool same_bits(const T* a, const T* b, Index d, Index* where) {
  for (Index j = 0; j < d; ++j)
    if (std::memcmp(a + j, b + j, sizeof(T)) != 0 && !(std::isnan(a[j]) && std::isnan(b[j]))) {
      *where = j;
      return false;
    }
  return true;
}

template <class T, class Reduce>
std::vector<T> portable(const ra::GradientMatrix<T>& g, Reduce reduce) {
  ra::Workspace ws;
  std::vector<T> out(std::size_t(g.cols()));
  const auto view = ra::RowsView<T>::strided(g.data(), g.rows(), g.cols(), g.cols());
  rd::sorted_coordinates(view, out.data(), ws, rd::AsSent{}, reduce);
  return out;
}

const std::vector<Index> kRows = {1,  2,  3,  4,   5,   6,   7,   8,   9,   12,  15,   16,   17,   24,  25,
                                  31, 32, 33, 40, 51, 64, 101, 255, 256, 257, 300, 401, 512, 513, 1001, 4096, 4097};

template <class T>
std::vector<Index> dims(Index W) {
  return {1, W - 1, W, W + 1, 2 * W + 1, 255, 256, 257, 1000 + W / 2};
}

}  // namespace

TEST_CASE("Batcher networks sort and select every 0-1 input", "[kernels][networks]") {
  for (int n = 1; n <= 18; ++n) {
    std::vector<rd::Comparator> net(std::size_t(rd::batcher_size(n)) + 1);
    const int count = rd::batcher_network(n, net.data());
    INFO("n = " << n << ", comparators = " << count);
    CHECK(zero_one_ok(n, net.data(), count, 0, n));
    const int kept = rd::prune_network(net.data(), count, (n - 1) / 2, n / 2 + 1);
    CHECK(kept <= count);
    CHECK(zero_one_ok(n, net.data(), kept, (n - 1) / 2, n / 2 + 1));
  }
}

TEST_CASE("compile-time networks equal the run-time generator", "[kernels][networks]") {
  CHECK(rd::SortNetwork<15>::value.count == rd::batcher_size(15));
  CHECK(rd::SortNetwork<32>::value.count == rd::batcher_size(32));
  CHECK(rd::MedianNetwork<15>::value.count < rd::SortNetwork<15>::value.count);
  // A median network is a pruned sort network: n = 2 is one comparator of
  // which both outputs are needed (the two middle values).
  CHECK(rd::MedianNetwork<2>::value.count == 1);
  CHECK(rd::MedianNetwork<2>::value.c[0].kind == 3);
  CHECK(rd::MedianNetwork<3>::value.count == 3);
}

TEST_CASE("large run-time networks sort random permutations", "[kernels][networks]") {
  std::mt19937_64 rng(7);
  for (int n : {19, 33, 64, 100, 101, 200, 256, 257, 401, 1001, 1024, 4096}) {
    std::vector<rd::Comparator> net(std::size_t(rd::batcher_size(n)));
    const int count = rd::batcher_network(n, net.data());
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<int> v(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) v[std::size_t(i)] = int(rng() % 40);  // with ties
      std::vector<int> want = v;
      std::sort(want.begin(), want.end());
      apply_scalar(v.data(), net.data(), count);
      REQUIRE(v == want);
    }
  }
}

TEMPLATE_TEST_CASE("coordinate kernels equal the portable per-coordinate sort", "[kernels][coordinate]",
                   float, double) {
  using T = TestType;
  using K = rd::key_t<T>;
  robustagg_test::for_each_arch([&](const std::string& arch) {
  const Index W = robustagg_test::simd_width<T>();
  for (Index n : kRows) {
    for (Index d : dims<T>(W)) {
      if (n > 64 && d > 300) continue;  // keep the suite quick
      // Past 300 rows: the run-time network's SIMD batches and the tail only.
      if (n > 300 && d != 2 * W + 1) continue;
      for (bool hostile : {false, true}) {
        const auto g = make<T>(n, d, std::uint64_t(n * 1000003 + d * 7 + hostile), hostile);
        INFO("arch = " << arch << ", n = " << n << ", d = " << d << ", hostile = " << hostile << ", W = " << W);
        Index where = -1;

        auto med = ra::aggregate(g, ra::Median{});
        const auto med_ref = portable<T>(g, [](const K* k, Index m) { return rd::median_of_sorted<T>(k, m); });
        CHECK(same_bits(med.data(), med_ref.data(), d, &where));

        for (Index f : {Index(0), Index(1), (n - 1) / 4, (n - 1) / 2}) {
          if (2 * f + 1 > n) continue;
          auto tm = ra::aggregate(g, ra::TrimmedMean{int(f)});
          const auto tm_ref =
              portable<T>(g, [f](const K* k, Index m) { return rd::mean_of_sorted<T>(k, f, m - f); });
          INFO("trimmed-mean f = " << f);
          CHECK(same_bits(tm.data(), tm_ref.data(), d, &where));
        }

        // Bulyan's coordinate step on all n rows, for every beta it admits.
        for (Index fb = 0; 4 * fb + 3 <= n + 2 * fb && fb <= 6; ++fb) {
          const Index beta = n - 2 * fb;
          if (beta < 1) break;
          std::vector<T> out(static_cast<std::size_t>(d));
          ra::Workspace ws;
          rd::coordinate_sorted(ra::RowsView<T>::strided(g.data(), n, d, d), out.data(), ws,
                                rd::BulyanReducer{beta});
          const auto ref = portable<T>(g, [beta](const K* k, Index m) {
            return rd::mean_closest_to_median<T>(k, m, beta);
          });
          INFO("bulyan step beta = " << beta);
          CHECK(same_bits(out.data(), ref.data(), d, &where));
        }

        const ra::NoisyMedian nm{0.5, 11};
        auto noisy = ra::aggregate(g, nm);
        std::vector<T> noisy_ref(static_cast<std::size_t>(d));
        {
          ra::Workspace ws;
          rd::sorted_coordinates(ra::RowsView<T>::strided(g.data(), n, d, d), noisy_ref.data(), ws,
                                 rd::AddNoise{0.5, 11},
                                 [](const K* k, Index m) { return rd::median_of_sorted<T>(k, m); });
        }
        CHECK(same_bits(noisy.data(), noisy_ref.data(), d, &where));

        // Mean and sign vote: their definitions, summed in double.
        auto mean = ra::aggregate(g, ra::Mean{});
        auto sv = ra::aggregate(g, ra::SignVote{});
        for (Index j = 0; j < d; ++j) {
          double s = 0.0;
          int votes = 0;
          for (Index i = 0; i < n; ++i) {
            s += double(g(i, j));
            votes += int(g(i, j) > T(0)) - int(g(i, j) < T(0));
          }
          const T m = T(s / double(n));
          if (!(std::memcmp(&m, &mean[j], sizeof(T)) == 0 || (std::isnan(m) && std::isnan(mean[j])))) {
            FAIL_CHECK("mean differs at j = " << j << ": " << mean[j] << " vs " << m);
            break;
          }
          if (sv[j] != T((votes > 0) - (votes < 0))) {
            FAIL_CHECK("sign vote differs at j = " << j);
            break;
          }
        }
        if (where >= 0) FAIL_CHECK("first difference at j = " << where);
      }
    }
  }
  });
}

TEMPLATE_TEST_CASE("distance engine matches double distances", "[kernels][distances]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  for (Index n : {Index(2), Index(3), Index(9), Index(15), Index(17), Index(40)}) {
    for (Index d : {Index(1), Index(15), Index(17), Index(2047), Index(2049), Index(20000)}) {
      for (double centre : {0.0, 1e3, 1e6}) {
        // Nearly equal rows far from the origin: centre + 1e-3 * noise. The
        // differences are exact in T; the squares and sums are what is tested.
        ra::GradientMatrix<T> g(n, d);
        for (Index j = 0; j < d; ++j) {
          const double c = centre * (1.0 + 0.1 * normal(rng));
          for (Index i = 0; i < n; ++i) g(i, j) = T(c + (centre == 0.0 ? 1.0 : 1e-3 * centre * 1e-3) * normal(rng));
        }
        std::vector<double> D(std::size_t(n * n)), R(std::size_t(n * n));
        ra::Workspace ws;
        const auto view = ra::RowsView<T>::strided(g.data(), n, d, d);
        rd::pairwise_sq_distances(view, D.data(), ws);
        // Reference: exact differences of the stored values, double sums.
        double worst = 0.0;
        for (Index a = 0; a < n; ++a)
          for (Index b = 0; b < n; ++b) {
            double s = 0.0;
            for (Index j = 0; j < d; ++j) {
              const double t = double(g(a, j)) - double(g(b, j));
              s += t * t;
            }
            R[std::size_t(a * n + b)] = s;
            const double got = D[std::size_t(a * n + b)];
            if (a == b) {
              REQUIRE(got == 0.0);
            } else if (s > 0) {
              worst = std::max(worst, std::fabs(got - s) / s);
            } else {
              REQUIRE(got == 0.0);
            }
          }
        INFO("n = " << n << ", d = " << d << ", centre = " << centre);
        CHECK(worst <= tol);
      }
    }
  }
}

TEMPLATE_TEST_CASE("distance engine: non-finite rows are infinitely far", "[kernels][distances]", float,
                   double) {
  using T = TestType;
  const Index n = 6, d = 3000;
  auto g = make<T>(n, d, 5, false);
  g(2, 2999) = std::numeric_limits<T>::quiet_NaN();  // in the scalar tail of the last tile
  g(4, 5) = -std::numeric_limits<T>::infinity();
  std::vector<double> D(std::size_t(n * n));
  ra::Workspace ws;
  rd::pairwise_sq_distances(ra::RowsView<T>::strided(g.data(), n, d, d), D.data(), ws);
  for (Index a = 0; a < n; ++a)
    for (Index b = 0; b < n; ++b) {
      const double v = D[std::size_t(a * n + b)];
      if (a == b)
        CHECK(v == 0.0);
      else if (a == 2 || b == 2 || a == 4 || b == 4)
        CHECK(std::isinf(v));
      else
        CHECK(std::isfinite(v));
    }
}

TEST_CASE("Krum picks an honest row when float squares overflow", "[kernels][distances]") {
  // Honest rows ~1e19 apart: (1e19)^2 = 1e38 per coordinate, so a float sum
  // over a run overflows; the engine recomputes such runs in double. The
  // attacker sits at 1e38, farther from everyone than any honest row.
  const Index n = 7, d = 1000;
  const int f = 1;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  ra::GradientMatrix<float> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) g(i, j) = float(1e19 * u(rng));
  for (Index j = 0; j < d; ++j) g(3, j) = 1e38f;
  std::vector<double> D(std::size_t(n * n));
  ra::Workspace ws;
  rd::pairwise_sq_distances(ra::RowsView<float>::strided(g.data(), n, d, d), D.data(), ws);
  for (Index a = 0; a < n; ++a)
    for (Index b = 0; b < n; ++b) {
      if (a == b) continue;
      double s = 0.0;
      for (Index j = 0; j < d; ++j) {
        const double t = double(g(a, j)) - double(g(b, j));
        s += t * t;
      }
      CHECK(std::isfinite(D[std::size_t(a * n + b)]));
      CHECK(std::fabs(D[std::size_t(a * n + b)] - s) <= 1e-6 * s);
    }
  const ra::Vector<float> out = ra::aggregate(g, ra::Krum{f});
  bool honest = false;
  for (Index i = 0; i < n; ++i)
    if (i != 3 && out == g.row(i).transpose()) honest = true;
  CHECK(honest);
  const ra::Vector<float> mk = ra::aggregate(g, ra::MultiKrum{f, 2});
  CHECK(std::fabs(mk[0]) < 1e20f);
}

TEST_CASE("SIMD architecture is reported and can be forced", "[kernels]") {
  const std::string name = ra::simd_arch();
  CHECK(!name.empty());
  const std::vector<std::string> archs = ra::simd_archs();
  REQUIRE(!archs.empty());
  CHECK(name == archs.front());  // the best one by default
  for (const std::string& a : archs) {
    robustagg_test::ArchScope scope(a);
    CHECK(std::string(ra::simd_arch()) == a);
    CHECK(robustagg_test::simd_width<float>() == 2 * robustagg_test::simd_width<double>());
  }
  CHECK(std::string(ra::simd_arch()) == name);
  CHECK_THROWS_WITH(ra::set_simd_arch("avx9000"),
                    Catch::Contains("'avx9000' is not an architecture this build runs here"));
  CHECK(std::string(ra::simd_arch()) == name);
}

namespace {

/// The distance engine's sums by their definition (distances.hpp), one pair
/// at a time in plain scalar code: per chunk of tiles, per lane l of
/// kDistanceLanes<T>, each run of kDistanceRun * L coordinates from a tile's
/// start sums (x - y)^2 of its coordinates j = l mod L in T (a multiply, then
/// an add), and the run's sum is added into a double lane (for float, where
/// both rows are finite in the tile, a run is summed in double instead when
/// its float sum is not finite, or when either row has a tiny value
/// 0 < |x| < 2^-40 in the tile and some lane of the run is below 2^-100);
/// the tile's scalar tail (d mod L coordinates) is added in double
/// into lane 0; the chunk's lanes are summed in lane order, the chunks in
/// chunk order. A row with a non-finite value is at +Inf.
template <class T>
std::vector<double> defined_distances(const ra::GradientMatrix<T>& g) {
  constexpr Index L = rd::kDistanceLanes<T>;
  constexpr Index kRun = rd::kDistanceRun * L;
  const Index n = g.rows(), d = g.cols();
  const Index tile_len = rd::distance_tile(n, sizeof(T));
  const Index tiles = rd::tile_count(d, tile_len);
  const Index chunks = rd::distance_chunks(n, tiles);
  auto finite_in = [&](Index i, Index a, Index e) {
    for (Index j = a; j < e; ++j)
      if (!std::isfinite(g(i, j))) return false;
    return true;
  };
  auto tiny_in = [&](Index i, Index a, Index e) {
    if (!std::is_same_v<T, float>) return false;
    for (Index j = a; j < e; ++j)
      if (g(i, j) != T(0) && std::fabs(double(g(i, j))) < 0x1p-40) return true;
    return false;
  };
  std::vector<double> D(std::size_t(n * n), 0.0);
  for (Index x = 0; x < n; ++x)
    for (Index y = x + 1; y < n; ++y) {
      double total = 0.0;
      for (Index c = 0; c < chunks; ++c) {
        double lane[L] = {};
        for (Index t = c * tiles / chunks; t < (c + 1) * tiles / chunks; ++t) {
          const Index a = t * tile_len, e = std::min(d, a + tile_len);
          const Index v_end = a + (e - a) / L * L;
          const bool both = finite_in(x, a, e) && finite_in(y, a, e);
          const bool tiny = tiny_in(x, a, e) || tiny_in(y, a, e);
          for (Index r0 = a; r0 < v_end; r0 += kRun) {
            const Index r1 = std::min(v_end, r0 + kRun);
            T run[L] = {};
            for (Index j = r0; j < r1; ++j) {
              const T q = g(x, j) - g(y, j);
              const T sq = q * q;
              run[(j - r0) % L] = run[(j - r0) % L] + sq;
            }
            bool finite = true, small = false;
            for (Index l = 0; l < L; ++l) finite = finite && std::isfinite(run[l]);
            for (Index l = 0; l < L; ++l) small = small || double(run[l]) < 0x1p-100;
            for (Index l = 0; l < L; ++l) {
              if (std::is_same_v<T, float> && both && (!finite || (tiny && small))) {
                double s = 0.0;
                for (Index j = r0 + l; j < r1; j += L) {
                  const double q = double(g(x, j)) - double(g(y, j));
                  s += q * q;
                }
                lane[l] += s;
              } else {
                lane[l] += double(run[l]);
              }
            }
          }
          double tail = 0.0;
          for (Index j = v_end; j < e; ++j) {
            const double q = double(g(x, j)) - double(g(y, j));
            tail += q * q;
          }
          if (v_end < e) lane[0] += tail;
        }
        double s = 0.0;
        for (Index l = 0; l < L; ++l) s += lane[l];
        total += s;
      }
      if (!finite_in(x, 0, d) || !finite_in(y, 0, d)) total = std::numeric_limits<double>::infinity();
      D[std::size_t(x * n + y)] = D[std::size_t(y * n + x)] = total;
    }
  return D;
}

/// Adversarial distance inputs. 0: random with ties, +-0 and (hostile)
/// NaN/Inf/extremes (`make`); 1: nearly equal rows 1e6 from the origin;
/// 2: one huge row (1e19: its squared differences overflow float) among
/// normal rows; 3: denormals (and zeros) only.
template <class T>
ra::GradientMatrix<T> distance_input(int kind, Index n, Index d, std::uint64_t seed) {
  if (kind == 0) return make<T>(n, d, seed, seed % 2 == 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index j = 0; j < d; ++j) {
    const double c = 1e6 * (1.0 + 0.1 * normal(rng));
    for (Index i = 0; i < n; ++i) {
      if (kind == 1)
        g(i, j) = T(c + 1e-3 * normal(rng) * 1e3);  // rows within ~1 of each other, 1e6 out
      else if (kind == 2)
        g(i, j) = T(i == n / 2 ? 1e19 * normal(rng) : normal(rng));
      else
        g(i, j) = T(double(std::numeric_limits<T>::denorm_min()) * double(rng() % 64)) *
                  T(rng() % 2 ? 1 : -1);
    }
  }
  return g;
}

}  // namespace

TEMPLATE_TEST_CASE("distance engine equals its lane-by-lane definition bit for bit on every architecture",
                   "[kernels][distances]", float, double) {
  using T = TestType;
  constexpr Index L = rd::kDistanceLanes<T>;
  constexpr Index kRun = rd::kDistanceRun * L;
  // n: every register block edge (4 x 4, 2 x 2, 1 x 8 pairs), odd and even;
  // 70 (float) and 100 (double) take the large-n order (whole-tile sweeps,
  // panels of 64 / 32 rows of a 2048-coordinate tile).
  const std::vector<Index> rows = {2, 3, 4, 5, 6, 8, 9, 12, 13, 17, 33, std::is_same_v<T, float> ? 70 : 100};
  for (Index n : rows) {
    const Index tile = rd::distance_tile(n, sizeof(T));
    std::vector<Index> ds = {1, L - 1, L, L + 1, 2 * L + 1, kRun - 1, kRun + 1, 2 * kRun + L / 2, 3 * 512 + 5,
                             tile - 1, tile + L + 3};
    if (n <= 17) ds.push_back(3 * tile + 2 * kRun + 7);  // several tiles and chunks
    for (Index d : ds) {
      for (int kind = 0; kind < 4; ++kind) {
        if (n > 33 && kind != 0 && d > 3000) continue;  // keep the suite quick
        const auto g = distance_input<T>(kind, n, d, std::uint64_t(n * 7919 + d * 31 + kind));
        const std::vector<double> want = defined_distances(g);
        robustagg_test::for_each_arch([&](const std::string& arch) {
          std::vector<double> D(std::size_t(n * n), -1.0);
          ra::Workspace ws;
          rd::pairwise_sq_distances(ra::RowsView<T>::strided(g.data(), n, d, d), D.data(), ws);
          Index bad = -1;
          for (std::size_t p = 0; p < D.size(); ++p)
            if (std::memcmp(&D[p], &want[p], sizeof(double)) != 0) {
              bad = Index(p);
              break;
            }
          INFO("arch = " << arch << ", n = " << n << ", d = " << d << ", input kind " << kind);
          if (bad >= 0)
            FAIL_CHECK("pair (" << bad / n << ", " << bad % n << "): " << D[std::size_t(bad)] << " vs "
                                << want[std::size_t(bad)]);
        });
      }
    }
  }
}

TEMPLATE_TEST_CASE("distance engine: relative error <= 1e-6 on adversarial inputs at large n, every architecture",
                   "[kernels][distances]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  for (Index n : {Index(65), Index(101)}) {
    const Index d = 2 * rd::distance_tile(n, sizeof(T)) + 77;
    for (int kind = 1; kind < 4; ++kind) {
      const auto g = distance_input<T>(kind, n, d, std::uint64_t(n + 10 * kind));
      std::vector<double> R(std::size_t(n * n));
      ra::Workspace ws;
      rd::pairwise_sq_distances_scalar(ra::RowsView<T>::strided(g.data(), n, d, d), R.data(), ws);
      robustagg_test::for_each_arch([&](const std::string& arch) {
        std::vector<double> D(std::size_t(n * n));
        rd::pairwise_sq_distances(ra::RowsView<T>::strided(g.data(), n, d, d), D.data(), ws);
        double worst = 0.0;
        bool exact_zero = true;
        for (std::size_t p = 0; p < D.size(); ++p) {
          if (R[p] > 0)
            worst = std::max(worst, std::fabs(D[p] - R[p]) / R[p]);
          else
            exact_zero = exact_zero && D[p] == 0.0;
        }
        INFO("arch = " << arch << ", n = " << n << ", d = " << d << ", input kind " << kind);
        CHECK(worst <= tol);
        CHECK(exact_zero);
      });
    }
  }
}

TEMPLATE_TEST_CASE("coordinate kernels: rows at every misalignment give the portable result",
                   "[kernels][coordinate]", float, double) {
  // The coordinate engine starts its tiles at the first 64-byte boundary when
  // every row shares the same misalignment (coordinate.hpp: common_lead); the
  // results must not depend on where the rows start.
  using T = TestType;
  using K = rd::key_t<T>;
  const Index lanes = Index(64 / sizeof(T));
  robustagg_test::for_each_arch([&](const std::string& arch) {
    for (Index n : {Index(5), Index(15), Index(33), Index(300)}) {
      for (Index d : {lanes * 40, lanes * 40 + 3}) {  // rows equally misaligned, or not
        const auto g = make<T>(n, d, std::uint64_t(n * 31 + d), true);
        const auto med_ref = portable<T>(g, [](const K* k, Index m) { return rd::median_of_sorted<T>(k, m); });
        const Index f = (n - 1) / 4;
        const auto tm_ref = portable<T>(g, [f](const K* k, Index m) { return rd::mean_of_sorted<T>(k, f, m - f); });
        std::vector<T> buf(std::size_t(n * d + 2 * lanes));
        const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(buf.data());
        T* aligned = buf.data() + Index((64 - at % 64) % 64 / sizeof(T));  // a 64-byte boundary
        REQUIRE(reinterpret_cast<std::uintptr_t>(aligned) % 64 == 0);
        for (Index off = 0; off < lanes; ++off) {
          INFO("arch = " << arch << ", n = " << n << ", d = " << d << ", offset = " << off);
          T* base = aligned + off;
          for (Index i = 0; i < n; ++i)
            for (Index j = 0; j < d; ++j) base[i * d + j] = g(i, j);
          const auto view = ra::RowsView<T>::strided(base, n, d, d);
          ra::Workspace ws;
          std::vector<T> out(static_cast<std::size_t>(d));
          Index where = -1;
          ra::aggregate(view, ra::Median{}, out.data(), ws);
          CHECK(same_bits(out.data(), med_ref.data(), d, &where));
          ra::aggregate(view, ra::TrimmedMean{int(f)}, out.data(), ws);
          CHECK(same_bits(out.data(), tm_ref.data(), d, &where));
          if (where >= 0) FAIL_CHECK("first difference at j = " << where);
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("row primitives equal their plain loops bit for bit on every architecture",
                   "[kernels][rows]", float, double) {
  // rows.hpp's sq_distance_to, add_scaled(_diff), sum_squares and all_finite
  // against the *_scalar loops that define them: every length around the
  // lane counts (32 and 8) and register widths, misaligned starts, and
  // values with ties, +-0, subnormals, huge values, Inf and NaN.
  using T = TestType;
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  const T kInf = std::numeric_limits<T>::infinity(), kNaN = std::numeric_limits<T>::quiet_NaN();
  std::vector<Index> lengths;
  for (Index d = 0; d <= 70; ++d) lengths.push_back(d);
  for (Index d : {95, 96, 97, 127, 128, 129, 255, 1000, 4099}) lengths.push_back(d);
  std::size_t checks = 0;
  for (Index d : lengths)
    for (int kind = 0; kind < 5; ++kind)
      for (Index offset : {0, 1, 3}) {
        std::vector<T> xs(std::size_t(d + offset + 1));
        std::vector<double> zs(std::size_t(d + offset + 1)), acc0(std::size_t(d + 1));
        for (auto& v : xs) v = T(u(rng));
        for (auto& v : zs) v = u(rng);
        for (auto& v : acc0) v = u(rng);
        T* x = xs.data() + offset;
        const double* z = zs.data() + offset;
        if (d > 0) {
          const std::size_t at = std::size_t(rng() % std::uint64_t(d));
          switch (kind) {
            case 1: x[at] = T(-0.0); x[d - 1] = T(0.0); x[0] = T(1); break;  // zeros, ties
            case 2: x[at] = std::numeric_limits<T>::denorm_min(); x[d - 1] = -std::numeric_limits<T>::denorm_min(); break;
            case 3: x[at] = std::numeric_limits<T>::max() / T(4); break;      // squares overflow (double input)
            case 4: x[at] = (at % 2) ? kInf : kNaN; break;
            default: break;
          }
        }
        const double w = u(rng);
        const double want_dist = rd::sq_distance_to_scalar(x, z, d);
        const double want_sq = rd::sum_squares_scalar(x, d);
        const bool want_finite = rd::all_finite_scalar(x, d);
        std::vector<double> want_acc = acc0, want_acc_diff = acc0;
        rd::add_scaled_scalar(want_acc.data(), x, nullptr, w, d);
        rd::add_scaled_scalar(want_acc_diff.data(), x, z, w, d);
        robustagg_test::for_each_arch([&](const std::string& arch) {
          INFO("arch = " << arch << ", d = " << d << ", kind " << kind << ", offset " << offset);
          const double got_dist = rd::sq_distance_to(x, z, d);
          const double got_sq = rd::sum_squares(x, d);
          CHECK(std::memcmp(&got_dist, &want_dist, sizeof(double)) == 0);
          CHECK(std::memcmp(&got_sq, &want_sq, sizeof(double)) == 0);
          CHECK(rd::all_finite(x, d) == want_finite);
          std::vector<double> acc = acc0, acc_diff = acc0;
          rd::add_scaled(acc.data(), x, w, d);
          rd::add_scaled_diff(acc_diff.data(), x, z, w, d);
          CHECK(std::memcmp(acc.data(), want_acc.data(), acc.size() * sizeof(double)) == 0);
          CHECK(std::memcmp(acc_diff.data(), want_acc_diff.data(), acc.size() * sizeof(double)) == 0);
          ++checks;
        });
        // the definitions themselves, by hand on small cases
        if (d == 3 && kind == 0 && offset == 0) {
          double s = 0.0;
          for (Index j = 0; j < 3; ++j) s += (double(x[j]) - z[j]) * (double(x[j]) - z[j]);
          CHECK(want_dist == s);
        }
      }
  CHECK(checks >= lengths.size() * 15);
  // all_finite: an Inf or NaN anywhere, at every position of a 70-value row
  for (Index at = 0; at < 70; ++at)
    for (T bad : {kInf, -kInf, kNaN}) {
      std::vector<T> x(70, T(1));
      x[std::size_t(at)] = bad;
      robustagg_test::for_each_arch([&](const std::string& arch) {
        INFO("arch = " << arch << ", at = " << at);
        CHECK_FALSE(rd::all_finite(x.data(), 70));
      });
    }
}
