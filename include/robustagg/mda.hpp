// robustagg: MDA, minimum-diameter averaging (El Mhamdi, Guerraoui, Rouault,
// "Distributed Momentum for Byzantine-resilient Stochastic Gradient Descent",
// ICLR 2021; after Rousseeuw's minimum volume ellipsoid).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/distances.hpp"
#include "detail/subsets.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Workspace keys (workspace.hpp) of this header.
struct MdaSubsetRows {};
struct MdaSubsetDistances {};
struct MdaSubsetBits {};
struct MdaSubsetValues {};
struct MdaSubsetBest {};



/// The exact search of MDA: the m-subset of [0, n) with the smallest diameter
/// max_{a,b in S} D_ab, ties to the lexicographically smallest sorted index
/// tuple (what an exhaustive search in lexicographic order keeps).
///
/// A subset has diameter <= tau exactly when no pair in it is "far" (D_ab >
/// tau), i.e. when the other n - m = f rows cover every far pair (a vertex
/// cover of the far graph). So:
///   1. the smallest diameter tau* is the smallest pairwise distance tau for
///      which the far graph has a vertex cover of at most f rows (binary
///      search over the sorted distances);
///   2. the lexicographically first subset of diameter tau* is built one row
///      at a time: the smallest candidate k whose compatible later rows can
///      still complete the subset (the same cover test on them).
/// The cover test branches on a row v of largest far-degree (v in the cover,
/// or all its far neighbours), forces v when its degree exceeds the budget,
/// and stops when the far pairs outnumber budget * largest degree; a graph of
/// degree <= 1 is decided by counting its pairs. Each test visits at most
/// about phi^(b+2) nodes (phi = 1.618, b <= f the budget), each a pass over
/// the rows' bit sets: mda_search_work() bounds the whole search.
/// Rows are sets of 64-bit words; a distance that is not <= tau (NaN too)
/// makes a far pair. Scratch: mda_search_words(n, f) words, n (n - 1) / 2 doubles.
inline Index bit_words(Index n) { return (n + 63) / 64; }

inline std::size_t mda_search_words(Index n, Index f) {
  return std::size_t((n + 3 + (f + 2)) * bit_words(n));
}

/// An upper bound of the search's elementary steps (64-bit word operations):
/// (log2(pairs) + 2 + n) cover tests, each of at most phi^(f+2) nodes of
/// n * words(n) steps. Saturates at 1e300.
inline double mda_search_work(Index n, Index f) {
  const double pairs = std::max(1.0, double(n) * double(n - 1) / 2.0);
  const double tests = std::ceil(std::log2(pairs)) + 2.0 + double(n);
  const double nodes = std::pow(1.6180339887498949, double(f + 2));
  return std::min(1e300, tests * nodes * double(n) * double(bit_words(n)));
}

/// "<spec> could take more than ..." when MDA's worst case exceeds kMaxMdaWork.
inline void check_mda_work(const std::string& spec, Index n, Index f) {
  const double work = mda_search_work(n, f);
  if (work > kMaxMdaWork)
    fail(spec, " could take too long: its exact search for n = ", n, ", f = ", f,
         " may need up to ", work, " steps > ", kMaxMdaWork,
         " (robustagg::kMaxMdaWork, about 10 s); use a smaller f or fewer gradients");
}

class DiameterSearch {
 public:
  DiameterSearch(const double* D, Index n, Index m, std::uint64_t* words, double* values)
      : D_(D), n_(n), m_(m), W_(bit_words(n)), far_(words), set_a_(words + n * W_),
        set_b_(set_a_ + W_), active_(set_b_ + W_), stack_(active_ + W_), values_(values) {}

  /// Writes the subset, sorted, to best[0, m); returns its diameter.
  double run(Index* best) {
    const Index n = n_, m = m_;
    if (m <= 1 || n <= 1) {
      for (Index a = 0; a < m; ++a) best[a] = a;
      return 0.0;
    }
    // 1. the smallest feasible threshold among the sorted distinct distances
    Index count = 0;
    for (Index a = 0; a < n; ++a)
      for (Index b = a + 1; b < n; ++b) {
        const double v = D_[a * n + b];
        values_[count++] = v == v ? v : std::numeric_limits<double>::infinity();
      }
    std::sort(values_, values_ + count);
    count = Index(std::unique(values_, values_ + count) - values_);
    Index lo = 0, hi = count - 1;  // values_[hi] is feasible: no pair is far
    while (lo < hi) {
      const Index mid = lo + (hi - lo) / 2;
      build(values_[mid]);
      fill_all(set_a_);
      if (feasible(set_a_, m))
        hi = mid;
      else
        lo = mid + 1;
    }
    const double tau = values_[lo];
    build(tau);
    // 2. the lexicographically first subset of diameter <= tau
    fill_all(set_a_);
    for (Index p = 0; p < m; ++p) {
      const Index need = m - p - 1;
      bool placed = false;
      for (Index k = 0; k < n && !placed; ++k) {
        if (!test(set_a_, k)) continue;
        // the rows after k that are not far from k
        const std::uint64_t* fk = far_ + k * W_;
        for (Index w = 0; w < W_; ++w) {
          std::uint64_t after = ~std::uint64_t(0);
          if (w < k / 64)
            after = 0;
          else if (w == k / 64)
            after = (k % 64 == 63) ? 0 : (~std::uint64_t(0) << (k % 64 + 1));
          set_b_[w] = set_a_[w] & ~fk[w] & after;
        }
        if (feasible(set_b_, need)) {
          best[p] = k;
          std::copy(set_b_, set_b_ + W_, set_a_);
          placed = true;
        }
      }
      if (!placed) {  // cannot happen: set_a_ can complete the subset
        for (Index a = 0; a < m; ++a) best[a] = a;
        return std::numeric_limits<double>::infinity();
      }
    }
    return tau;
  }

 private:
  static Index popcount(std::uint64_t x) {
#if defined(__GNUC__) && defined(__POPCNT__)
    return Index(__builtin_popcountll(x));
#else  // without the instruction: a few shifts and adds, no library call
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return Index((x * 0x0101010101010101u) >> 56);
#endif
  }
  static Index lowest_bit(std::uint64_t x) {  // x != 0
#if defined(__GNUC__)
    return Index(__builtin_ctzll(x));
#else
    Index c = 0;
    for (; !(x & 1u); x >>= 1) ++c;
    return c;
#endif
  }
  bool test(const std::uint64_t* s, Index v) const { return (s[v / 64] >> (v % 64)) & 1u; }
  void fill_all(std::uint64_t* s) const {
    for (Index w = 0; w < W_; ++w) s[w] = 0;
    for (Index v = 0; v < n_; ++v) s[v / 64] |= std::uint64_t(1) << (v % 64);
  }
  /// far_ row a: bit b set when a != b and not D_ab <= tau; active_: the
  /// rows with a far pair.
  void build(double tau) {
    for (Index w = 0; w < W_; ++w) active_[w] = 0;
    for (Index a = 0; a < n_; ++a) {
      std::uint64_t* row = far_ + a * W_;
      for (Index w = 0; w < W_; ++w) row[w] = 0;
      const double* Da = D_ + a * n_;
      bool any = false;
      for (Index b = 0; b < n_; ++b)
        if (b != a && !(Da[b] <= tau)) {
          row[b / 64] |= std::uint64_t(1) << (b % 64);
          any = true;
        }
      if (any) active_[a / 64] |= std::uint64_t(1) << (a % 64);
    }
  }
  /// Whether the rows of s hold `need` rows with no far pair among them.
  bool feasible(const std::uint64_t* s, Index need) {
    Index size = 0;
    for (Index w = 0; w < W_; ++w) size += popcount(s[w]);
    if (size < need) return false;
    return cover(s, size - need, 0);
  }
  /// Whether the far pairs among the rows of s have a vertex cover of at most
  /// `budget` rows.
  bool cover(const std::uint64_t* s, Index budget, Index level) {
    Index top = -1, top_degree = 0, degrees = 0;
    for (Index w = 0; w < W_; ++w)
      for (std::uint64_t bits = s[w] & active_[w]; bits; bits &= bits - 1) {
        const Index v = w * 64 + lowest_bit(bits);
        const std::uint64_t* fv = far_ + v * W_;
        Index deg = 0;
        for (Index u = 0; u < W_; ++u) deg += popcount(fv[u] & s[u]);
        degrees += deg;
        if (deg > top_degree) {
          top_degree = deg;
          top = v;
        }
      }
    if (top_degree == 0) return true;
    const Index pairs = degrees / 2;
    if (budget == 0 || pairs > budget * top_degree) return false;
    if (top_degree == 1) return pairs <= budget;
    std::uint64_t* t = stack_ + level * W_;
    // top in the cover (forced when its far neighbours outnumber the budget)
    std::copy(s, s + W_, t);
    t[top / 64] &= ~(std::uint64_t(1) << (top % 64));
    if (cover(t, budget - 1, level + 1)) return true;
    if (top_degree > budget) return false;
    // top kept: all its far neighbours in the cover
    const std::uint64_t* ft = far_ + top * W_;
    for (Index w = 0; w < W_; ++w) t[w] = s[w] & ~ft[w];
    return cover(t, budget - top_degree, level + 1);
  }

  const double* D_;
  Index n_, m_, W_;
  std::uint64_t* far_;    // n x W: the far graph
  std::uint64_t* set_a_;  // the rows that may still join the subset
  std::uint64_t* set_b_;
  std::uint64_t* active_;  // the rows with a far pair
  std::uint64_t* stack_;  // (f + 2) x W: one set per level of the cover search
  double* values_;        // the n (n - 1) / 2 distances, sorted
};

/// The mean (double, rows in index order) of rows idx[0, m) of g.
template <class T>
void mean_of_rows(const RowsView<T>& g, const Index* idx, Index m, T* out, Workspace& ws) {
  const T** rows = ws.get<detail::Key<detail::MdaSubsetRows, const T*>>(std::size_t(m));
  for (Index a = 0; a < m; ++a) rows[a] = g.row(idx[a]);
  mean_rows(RowsView<T>::from_rows(rows, m, g.cols()), out, ws);
}

}  // namespace detail

/// mda(f): the subset S of n - f rows with the smallest diameter
/// max_{i,j in S} ||x_i - x_j||^2 (ties: the lexicographically smallest
/// sorted index tuple); the result is the mean of S (double, index order).
/// A row holding a non-finite value is at infinite distance from every row,
/// so it is in S only when more than f rows are non-finite. Requires
/// n >= 2f+1 and a worst-case search cost mda_search_work(n, f) <=
/// kMaxMdaWork (else an Error at validate). Cost: one distance pass, an exact
/// search on the n x n matrix (DiameterSearch: a binary search over the
/// distances with a vertex-cover test; usually well under a millisecond for
/// n <= 100), then one mean.
struct Mda {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "mda(f=" + detail::f_text(f) + ")"; }
  Index min_rows() const { return 2 * Index(f) + 1; }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, min_rows(), "2f+1");
    if (detail::mda_search_work(n, f) > kMaxMdaWork) detail::check_mda_work(spec(), n, f);
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    using namespace detail;
    const Index n = g.rows(), m = n - Index(f);
    double* D = ws.get<detail::Key<detail::MdaSubsetDistances, double>>(std::size_t(n * n));
    std::uint64_t* bits =
        ws.get<detail::Key<detail::MdaSubsetBits, std::uint64_t>>(mda_search_words(n, Index(f)));
    double* values =
        ws.get<detail::Key<detail::MdaSubsetValues, double>>(std::size_t(n * (n - 1) / 2 + 1));
    Index* best = ws.get<detail::Key<detail::MdaSubsetBest, Index>>(std::size_t(m));
    pairwise_sq_distances(g, D, ws);
    DiameterSearch(D, n, m, bits, values).run(best);
    mean_of_rows(g, best, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
