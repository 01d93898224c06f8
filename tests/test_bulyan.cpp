// Bulyan's step 1 (detail::bulyan_select: each row's distances sorted once,
// rounds walk the sorted lists) against its definition, the per-round loop of
// detail::krum_score over the remaining rows: the same picked rows in the
// same order and the same winning score, bit for bit, on distance matrices
// with ties, zeros and infinite rows, n odd and even, several f; and on the
// distances of real inputs of every test family.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <robustagg/robustagg.hpp>
#include <vector>

#include "reference/inputs.hpp"

namespace ra = robustagg;
namespace rd = robustagg::detail;
using ra::Index;

namespace {

struct Selection {
  std::vector<Index> picked;
  std::vector<double> scores;
};

/// The definition: every round, krum_score of each remaining row among the
/// remaining rows with max(1, n' - f - 2) neighbours; the lowest score wins,
/// ties to the lowest index.
Selection reference_select(const std::vector<double>& D, Index n, Index f) {
  const Index theta = n - 2 * f;
  std::vector<unsigned char> alive(static_cast<std::size_t>(n), 1);
  std::vector<double> scratch(static_cast<std::size_t>(n));
  Selection out;
  for (Index round = 0; round < theta; ++round) {
    const Index neighbours = std::max<Index>(1, n - round - f - 2);
    Index best = -1;
    double best_score = 0.0;
    for (Index i = 0; i < n; ++i) {
      if (!alive[std::size_t(i)]) continue;
      const double s = rd::krum_score(D.data(), n, i, neighbours, alive.data(), scratch.data());
      if (best < 0 || s < best_score) {
        best = i;
        best_score = s;
      }
    }
    alive[std::size_t(best)] = 0;
    out.picked.push_back(best);
    out.scores.push_back(best_score);
  }
  return out;
}

Selection fast_select(const std::vector<double>& D, Index n, Index f, ra::Workspace& ws) {
  const Index theta = n - 2 * f;
  Selection out;
  out.picked.assign(std::size_t(theta), -1);
  out.scores.assign(std::size_t(theta), -1.0);
  rd::bulyan_select(D.data(), n, f, theta, out.picked.data(), ws, out.scores.data());
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

/// A symmetric n x n distance matrix, zero diagonal. style 0: small integers
/// (many exact ties, some zeros: duplicated rows); 1: random doubles;
/// 2: sums of a few powers of two (ties of sums). Rows in `bad` are at +Inf.
std::vector<double> random_distances(Index n, int style, const std::vector<Index>& bad,
                                     std::mt19937_64& rng) {
  std::vector<double> D(std::size_t(n * n), 0.0);
  std::uniform_real_distribution<double> u(0.0, 10.0);
  for (Index i = 0; i < n; ++i)
    for (Index k = i + 1; k < n; ++k) {
      double v = 0.0;
      if (style == 0)
        v = double(rng() % 4);
      else if (style == 1)
        v = u(rng);
      else
        v = std::ldexp(1.0, int(rng() % 5)) + std::ldexp(1.0, -int(rng() % 3));
      D[std::size_t(i * n + k)] = D[std::size_t(k * n + i)] = v;
    }
  const double inf = std::numeric_limits<double>::infinity();
  for (Index b : bad)
    for (Index j = 0; j < n; ++j)
      if (j != b) D[std::size_t(b * n + j)] = D[std::size_t(j * n + b)] = inf;
  return D;
}

}  // namespace

TEST_CASE("Bulyan's sorted-list selection equals the per-round Krum scores", "[bulyan][distances]") {
  std::mt19937_64 rng(12);
  ra::Workspace ws;  // reused across shapes, as a training loop would
  for (Index n : {Index(3), Index(4), Index(7), Index(8), Index(11), Index(12), Index(19), Index(20),
                  Index(33), Index(64), Index(101)}) {
    for (Index f = 0; 4 * f + 3 <= n; f = f == 0 ? 1 : f * 2 + 1) {
      for (int style = 0; style < 3; ++style) {
        for (int bad_count : {0, 1, int(f), int(f) + 1, int(n / 2)}) {
          std::vector<Index> bad;
          for (int b = 0; b < bad_count; ++b) bad.push_back(Index(rng() % std::uint64_t(n)));
          const std::vector<double> D = random_distances(n, style, bad, rng);
          const Selection want = reference_select(D, n, f);
          const Selection got = fast_select(D, n, f, ws);
          INFO("n = " << n << ", f = " << f << ", style = " << style << ", bad rows = " << bad_count);
          CHECK(got.picked == want.picked);
          CHECK(same_bits(got.scores, want.scores));
        }
      }
    }
  }
}

TEST_CASE("Bulyan's selection with every row at +Inf, and with one row left", "[bulyan][distances]") {
  ra::Workspace ws;
  for (Index n : {Index(3), Index(4), Index(9)}) {
    std::vector<Index> all;
    for (Index i = 0; i < n; ++i) all.push_back(i);
    std::mt19937_64 rng(1);
    const std::vector<double> D = random_distances(n, 0, all, rng);
    for (Index f = 0; 4 * f + 3 <= n; ++f) {
      const Selection want = reference_select(D, n, f);
      const Selection got = fast_select(D, n, f, ws);
      INFO("n = " << n << ", f = " << f);
      CHECK(got.picked == want.picked);  // lowest indices first: all scores are +Inf (or 0 last)
      CHECK(same_bits(got.scores, want.scores));
    }
  }
}

TEMPLATE_TEST_CASE("Bulyan's selection on the distances of every input family", "[bulyan][distances]", float,
                   double) {
  using T = TestType;
  ra::Workspace ws;
  for (Index n : {Index(7), Index(10), Index(15), Index(24), Index(41)}) {
    for (ra::testing::Kind kind : ra::testing::all_kinds()) {
      const Index d = 37;
      const ra::GradientMatrix<T> g = ra::testing::make_input<T>(kind, n, d, ra::testing::case_seed(kind, n, d, 3));
      std::vector<double> D(std::size_t(n * n));
      rd::pairwise_sq_distances_scalar(ra::RowsView<T>::strided(g.data(), n, d, d), D.data(), ws);
      for (Index f = 0; 4 * f + 3 <= n; ++f) {
        const Selection want = reference_select(D, n, f);
        const Selection got = fast_select(D, n, f, ws);
        INFO("n = " << n << ", f = " << f << ", input " << ra::testing::kind_name(kind));
        CHECK(got.picked == want.picked);
        CHECK(same_bits(got.scores, want.scores));
      }
    }
  }
}
