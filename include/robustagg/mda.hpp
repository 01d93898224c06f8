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
/// First the plain depth-first search over the subsets in lexicographic order
/// (a partial subset is cut once its diameter reaches the best one), stopped
/// after 4 n^2 + 10^4 distance lookups: with one or two rows left out it
/// usually finishes well within them. Otherwise:
///
/// A subset has diameter <= tau exactly when no pair in it is "far" (D_ab >
/// tau), i.e. when the other n - m = f rows cover every far pair (a vertex
/// cover of the far graph). So:
///   1. the smallest diameter tau* is the smallest pairwise distance tau for
///      which the far graph has a vertex cover of at most f rows (binary
///      search over the sorted distances between a lower bound, the smallest
///      (m-1)-th nearest distance of a row, and an upper bound, the diameter
///      of that row's neighbourhood within it);
///   2. the lexicographically first subset of diameter tau* is built one row
///      at a time: the smallest candidate k whose compatible later rows can
///      still complete the subset (the same cover test on them; none is
///      needed when k, the smallest candidate, is far from no candidate).
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

/// An upper bound of the search's elementary steps (64-bit word operations
/// or distance lookups): the bounded depth-first try and the bracket (5 n^2),
/// then (log2(pairs) + 2 + n) cover tests, each of at most phi^(f+2) nodes of
/// n * words(n) steps. Saturates at 1e300.
inline double mda_search_work(Index n, Index f) {
  const double pairs = std::max(1.0, double(n) * double(n - 1) / 2.0);
  const double tests = std::ceil(std::log2(pairs)) + 2.0 + double(n);
  const double nodes = std::pow(1.6180339887498949, double(f + 2));
  return std::min(1e300, 5.0 * double(n) * double(n) +
                             tests * nodes * double(n) * double(bit_words(n)));
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
  /// D: n x n; words: mda_search_words(n, n - m); values: n (n - 1) / 2 + 1
  /// doubles; current: m indices.
  DiameterSearch(const double* D, Index n, Index m, std::uint64_t* words, double* values,
                 Index* current)
      : D_(D), n_(n), m_(m), W_(bit_words(n)), far_(words), set_a_(words + n * W_),
        set_b_(set_a_ + W_), active_(set_b_ + W_), stack_(active_ + W_), values_(values),
        current_(current) {}

  /// Writes the subset, sorted, to best[0, m); returns its diameter.
  /// depth_first_first = false skips step 0 (the tests run both paths).
  double run(Index* best, bool depth_first_first = true) {
    const Index n = n_, m = m_;
    if (m <= 1 || n <= 1) {
      for (Index a = 0; a < m; ++a) best[a] = a;
      return 0.0;
    }
    // 0. the plain depth-first search in lexicographic order, while it is
    //    cheap (few rows left out: it often ends within n^2 steps)
    double diameter = 0.0;
    if (depth_first_first && depth_first(best, &diameter)) return diameter;
    // 1. the smallest feasible threshold among the sorted distinct distances
    //    in [low, high]: every subset's diameter is at least low (a row of S
    //    has m - 1 others of S within it), and high is the diameter of a set
    //    of at least m rows
    const double high = bracket(&diameter);
    const double low = diameter;
    Index count = 0;
    for (Index a = 0; a < n; ++a)
      for (Index b = a + 1; b < n; ++b) {
        const double v = finite_or_inf(D_[a * n + b]);
        if (v >= low && v <= high) values_[count++] = v;
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
      bool first = true;  // k is the smallest row of set_a_
      for (Index k = 0; k < n && !placed; ++k) {
        if (!test(set_a_, k)) continue;
        // the rows after k that are not far from k
        const std::uint64_t* fk = far_ + k * W_;
        bool far_from_none = true;
        for (Index w = 0; w < W_; ++w) far_from_none = far_from_none && !(set_a_[w] & fk[w]);
        if (first && far_from_none) {
          // the smallest row, far from no other row of set_a_: some subset of
          // set_a_ completes the search's subset (set_a_ can), and with k
          // removed from it the rest still fits after k
          best[p] = k;
          set_a_[k / 64] &= ~(std::uint64_t(1) << (k % 64));
          placed = true;
          break;
        }
        first = false;
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

  /// The depth-first search over the m-subsets in lexicographic order that
  /// cuts a partial subset once its diameter reaches the best one (so the
  /// first subset of smallest diameter is kept), stopped after about 4 n^2 +
  /// 10^4 distance lookups: true (best, *diameter set) when it finished.
  bool depth_first(Index* best, double* diameter) {
    steps_ = 4 * n_ * n_ + 10000;
    found_ = false;
    best_ = best;
    best_diameter_ = std::numeric_limits<double>::infinity();
    if (!go(0, 0, 0.0)) return false;
    *diameter = best_diameter_;
    return true;
  }
  bool go(Index depth, Index next, double diam) {
    if (depth == m_) {
      std::copy(current_, current_ + m_, best_);
      best_diameter_ = diam;
      found_ = true;
      return true;
    }
    for (Index k = next; k <= n_ - (m_ - depth); ++k) {
      steps_ -= depth + 1;
      if (steps_ < 0) return false;
      double dk = diam;
      const double* Dk = D_ + k * n_;
      for (Index a = 0; a < depth; ++a) dk = std::max(dk, finite_or_inf(Dk[current_[a]]));
      if (found_ && !(dk < best_diameter_)) continue;
      current_[depth] = k;
      if (!go(depth + 1, k + 1, dk)) return false;
    }
    return true;
  }

  /// Returns an upper bound of the smallest diameter and stores a lower bound
  /// in *low: low = min over rows i of the (m - 1)-th smallest distance from
  /// i; the upper bound is the diameter of row i* (the minimiser) with every
  /// row within low of it (at least m rows, so some m of them have a diameter
  /// no larger). Uses values_ as scratch.
  double bracket(double* low) {
    const Index n = n_, m = m_;
    double best_low = std::numeric_limits<double>::infinity();
    Index centre = 0;
    for (Index i = 0; i < n; ++i) {
      Index c = 0;
      for (Index j = 0; j < n; ++j)
        if (j != i) values_[c++] = finite_or_inf(D_[i * n + j]);
      std::nth_element(values_, values_ + (m - 2), values_ + c);
      if (values_[m - 2] < best_low || i == 0) {
        best_low = values_[m - 2];
        centre = i;
      }
    }
    double high = 0.0;
    const double* Dc = D_ + centre * n;
    for (Index a = 0; a < n; ++a) {
      if (a != centre && !(finite_or_inf(Dc[a]) <= best_low)) continue;
      for (Index b = a + 1; b < n; ++b)
        if (b == centre || finite_or_inf(Dc[b]) <= best_low)
          high = std::max(high, finite_or_inf(D_[a * n + b]));
    }
    *low = best_low;
    return high;
  }

  bool test(const std::uint64_t* s, Index v) const { return (s[v / 64] >> (v % 64)) & 1u; }
  void fill_all(std::uint64_t* s) const {
    for (Index w = 0; w < W_; ++w) s[w] = 0;
    for (Index v = 0; v < n_; ++v) s[v / 64] |= std::uint64_t(1) << (v % 64);
  }
  /// far_ row a: bit b set when a != b and not D_ab <= tau; active_: the
  /// rows with a far pair.
  void build(double tau) {
    const bool everything_near = tau == std::numeric_limits<double>::infinity();
    for (Index w = 0; w < W_; ++w) active_[w] = 0;
    for (Index a = 0; a < n_; ++a) {
      std::uint64_t* row = far_ + a * W_;
      const double* Da = D_ + a * n_;
      std::uint64_t any = 0;
      for (Index w = 0; w < W_; ++w) {
        std::uint64_t bits = 0;
        if (!everything_near) {
          const Index b0 = w * 64, len = std::min<Index>(64, n_ - b0);
          // branch-free: not (v <= tau) is far, NaN included (as +Inf)
          for (Index bb = 0; bb < len; ++bb)
            bits |= std::uint64_t(!(Da[b0 + bb] <= tau)) << bb;
        }
        row[w] = bits;
      }
      row[a / 64] &= ~(std::uint64_t(1) << (a % 64));
      for (Index w = 0; w < W_; ++w) any |= row[w];
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
  double* values_;        // the candidate distances, sorted
  Index* current_;        // m: the depth-first search's partial subset
  Index* best_ = nullptr;
  Index steps_ = 0;
  bool found_ = false;
  double best_diameter_ = 0.0;
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
    Index* best = ws.get<detail::Key<detail::MdaSubsetBest, Index>>(std::size_t(2 * m));
    pairwise_sq_distances(g, D, ws);
    DiameterSearch(D, n, m, bits, values, best + m).run(best);
    mean_of_rows(g, best, m, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
