// robustagg: DETOX (Rajput, Wang, Charles, Papailiopoulos, NeurIPS 2019).
//
// DETOX is two stages (stages.hpp) composed with a rule:
//   MajorityVote{r, tolerance}  groups of r consecutive rows -> one winner each
//   Buckets{k, inner, seed}     the winners in k buckets -> inner rule per bucket
//   outer rule                  across the k bucket vectors
// The stages serve other pipelines too: compose(MajorityVote{3}, Median{}) is
// a rule, and any rule of DETOX may itself be a stage chain
// ("detox(r=3, outer=nnm(f=1, then=median))").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "detail/format.hpp"
#include "detail/parallel.hpp"
#include "detail/rng.hpp"
#include "detail/kernels.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "mean.hpp"
#include "median.hpp"
#include "rule.hpp"
#include "stages.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detox {

/// The most votes q Byzantine nodes can capture with groups of r:
/// floor(q / ceil(r/2)) (each captured group needs a majority of its r).
inline Index effective_f(Index q, Index r) {
  if (q < 0 || r < 1) detail::fail("detox::effective_f(q=", q, ", r=", r, ") needs q >= 0, r >= 1");
  return q / ((r + 1) / 2);
}

}  // namespace detox

namespace detail {

// Workspace keys of the DETOX stages (both may share one workspace).
struct VoteWinners {};
struct BucketsRows {};
struct BucketsMeans {};

/// One pass over rows x and y: whether they are bitwise equal, and whether x
/// holds a NaN. SIMD (kernels.hpp), in blocks of 1024 values; it stops at the
/// first block where x has a NaN (such a row wins no vote, so `equal` no
/// longer matters and is reported false).
template <class T>
inline RowCompare compare_rows(const T* x, const T* y, Index d) {
  return kernels<T>().compare_rows(x, y, d);
}

/// The tolerance half of the vote's "same value": two finite rows with
/// max_j |x_j - y_j| <= tolerance * max(1, max_j |x_j|, max_j |y_j|).
template <class T>
inline bool replicas_close(const T* x, const T* y, Index d, double tolerance) {
  if (!(tolerance > 0.0)) return false;
  if (!all_finite(x, d) || !all_finite(y, d)) return false;
  double diff = 0.0, scale = 1.0;
  for (Index j = 0; j < d; ++j) {
    diff = std::max(diff, std::fabs(double(x[j]) - double(y[j])));
    scale = std::max(scale, std::max(std::fabs(double(x[j])), std::fabs(double(y[j]))));
  }
  return diff <= tolerance * scale;
}

/// "group 2" / "groups 0, 3" for messages.
inline std::string group_list(const std::vector<Index>& groups) {
  std::string s = groups.size() == 1 ? "group " : "groups ";
  for (std::size_t i = 0; i < groups.size(); ++i)
    s += (i ? ", " : "") + std::to_string(groups[i]);
  return s;
}

}  // namespace detail

/// Stage 1 of DETOX: rows [k*r, (k+1)*r) form group k. In each group the
/// first member (in row order) that agrees with at least floor(r/2)+1 members
/// of its group (itself included) wins and is output as is (a pointer to the
/// input row, no copy); two rows agree when they are bitwise equal
/// (detail::compare_rows) or, with tolerance > 0, within the relative
/// L-infinity tolerance (detail::replicas_close). A group without such a member is
/// dropped and reported. A row with a NaN agrees with nothing, so NaN replicas
/// never win. Winners keep group order.
struct MajorityVote {
  int r = 3;
  double tolerance = 0.0;

  std::string spec() const {
    std::string s = "majority-vote(r=" + std::to_string(r);
    if (tolerance != 0.0) s += ", tolerance=" + detail::format_number(tolerance);
    return s + ")";
  }
  Index rows_out(Index n) const { return r >= 1 ? n / r : 0; }
  Index min_rows_for(Index next) const { return Index(r) * std::max<Index>(next, 1); }

  void validate(Index n, Index d) const {
    validate_as([this] { return spec(); }, n, d);
  }

  /// The checks, with who() naming the rule in messages (DETOX reuses them).
  /// who() is called only on failure, so a passing check allocates nothing.
  template <class Who>
  void validate_as(const Who& who, Index n, Index d) const {
    if (r < 1 || r % 2 == 0) detail::fail(who(), ": r must be odd and >= 1, got r = ", r);
    if (!(tolerance >= 0.0) || !std::isfinite(tolerance))
      detail::fail(who(), ": tolerance must be finite and >= 0, got tolerance = ", tolerance);
    if (n < 1) detail::fail(who(), " needs at least one group of r = ", r, " gradients, got ", n);
    if (n % r != 0)
      detail::fail(who(), " needs the number of gradients to be a multiple of r = ", r, ", got ", n);
    if (d < 1) detail::fail(who(), " needs gradients with d >= 1 coordinates, got d = ", d);
  }

  /// The winner of the group whose first row is `base`, or nullptr.
  template <class T>
  const T* group_winner(const RowsView<T>& g, Index base) const {
    const Index d = g.cols();
    const Index majority = Index(r) / 2 + 1;
    for (Index a = 0; a < r; ++a) {
      // x's own vote counts unless x holds a NaN (then it agrees with
      // nothing either); the first comparison learns both in one pass.
      const T* x = g.row(base + a);
      Index votes = 0;
      if (r == 1) votes = detail::compare_rows(x, x, d).x_nan ? 0 : 1;
      bool self_counted = false;
      for (Index b = 0; b < r && votes < majority; ++b) {
        if (b == a) continue;
        const T* y = g.row(base + b);
        const detail::RowCompare c = detail::compare_rows(x, y, d);
        if (c.x_nan) break;
        if (!self_counted) {
          self_counted = true;
          ++votes;
        }
        if (c.equal || detail::replicas_close(x, y, d, tolerance)) ++votes;
      }
      if (votes >= majority) return x;
    }
    return nullptr;
  }

  /// The winners, as a row-pointer view into `g` (pointer array in `ws`).
  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index p = g.rows();
    const Index d = g.cols();
    const Index groups = p / r;
    const T** winners = ws.get<detail::Key<detail::VoteWinners, const T*>>(std::size_t(groups));
    report.emplace_back();
    StageReport& rep = report.back();
    rep.stage = "vote(r=" + std::to_string(r) + ")";  // short: no heap allocation
    rep.rows_in = p;
    // Groups are voted on independently, on the thread pool when the input
    // is large (the vote is a read of the rows: one thread does not reach the
    // memory bandwidth); the winners are then compacted in place in group
    // order, so the result does not depend on the thread count.
    detail::parallel_for(groups, detail::threads_for(p * d, groups), [&](Index k, int) {
      winners[k] = group_winner(g, k * r);
    });
    Index won = 0;
    for (Index k = 0; k < groups; ++k) {
      if (winners[k])
        winners[won++] = winners[k];
      else
        rep.dropped.push_back(k);
    }
    rep.rows_out = won;
    if (!rep.dropped.empty())
      rep.detail = std::to_string(rep.dropped.size()) + " of " + std::to_string(groups) +
                   " groups without a majority dropped (" + detail::group_list(rep.dropped) + ")";
    return RowsView<T>::from_rows(winners, won, d);
  }
};

/// Stage 2 of DETOX: the n input rows (in order, or permuted by a seeded
/// shuffle when `seed` is set) are cut into k contiguous buckets whose sizes
/// differ by at most one, the first n mod k buckets one larger; the inner rule
/// is applied to each bucket, giving k vectors (written into the workspace).
/// The shuffle is detail::seeded_shuffle (a Fisher-Yates permutation drawn
/// from the splitmix64 mix keyed by (seed, n)): the same permutation at every
/// call.
struct Buckets {
  int k = 1;
  AnyRule inner = Mean{};
  std::optional<std::uint64_t> seed;

  Buckets() = default;
  /// Buckets{k, inner, seed}, trailing ones optional.
  explicit Buckets(int k_, AnyRule inner_ = Mean{},
                   std::optional<std::uint64_t> seed_ = std::nullopt)
      : k(k_), inner(std::move(inner_)), seed(seed_) {}

  std::string spec() const {
    std::string s = "buckets(k=" + std::to_string(k) + ", inner=" +
                    (inner.empty() ? std::string("?") : inner.spec());
    if (seed) s += ", seed=" + std::to_string(*seed);
    return s + ")";
  }
  Index rows_out(Index n) const { return std::min<Index>(k, n); }
  /// Every bucket must satisfy the inner rule (the outer rule's need, at most
  /// k rows, is checked by validate).
  Index min_rows_for(Index /*next*/) const {
    return Index(k) * std::max<Index>(inner.empty() ? 1 : inner.min_rows(), 1);
  }

  /// Size of bucket b of k over n rows, and its first row.
  static Index bucket_size(Index n, Index k, Index b) { return n / k + (b < n % k ? 1 : 0); }
  static Index bucket_begin(Index n, Index k, Index b) { return b * (n / k) + std::min(b, n % k); }

  void validate(Index n, Index d) const {
    if (k < 1) detail::fail(spec(), ": k must be >= 1, got k = ", k);
    if (inner.empty()) detail::fail(spec(), ": the inner rule is empty");
    if (n < k) detail::fail(spec(), " needs at least k = ", k, " gradients, got ", n);
    try {
      inner.validate(n / k, d);
    } catch (const Error& e) {
      detail::fail(spec(), ": the smallest of ", k, " buckets of ", n, " gradients holds ", n / k,
                   ", but ", e.what());
    }
  }

  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index n = g.rows();
    const Index d = g.cols();
    const T** rows = ws.get<detail::Key<detail::BucketsRows, const T*>>(std::size_t(n));
    T* out = ws.get<detail::Key<detail::BucketsMeans, T>>(std::size_t(k * d));
    for (Index i = 0; i < n; ++i) rows[i] = g.row(i);
    if (seed) detail::seeded_shuffle(rows, n, *seed);
    report.emplace_back();
    report.back().stage = "buckets(k=" + std::to_string(k) + ")";
    report.back().rows_in = n;
    report.back().rows_out = k;
    Workspace& child = ws.child<detail::InnerRule>();
    for (Index b = 0; b < k; ++b) {
      const RowsView<T> bucket =
          RowsView<T>::from_rows(rows + bucket_begin(n, k, b), bucket_size(n, k, b), d);
      detail::run_nested(inner, bucket, out + b * d, child, report);
    }
    return RowsView<T>::strided(out, k, d, d);
  }
};

/// detox(r, buckets, inner, outer, tolerance, seed): the majority vote in
/// groups of r rows (MajorityVote), then, when buckets = k > 0, the g winners
/// in k buckets with `inner` applied to each (Buckets), then `outer` across
/// the k bucket vectors; buckets = 0 means no bucketing (outer runs on the
/// winners directly and `inner` is unused). Median-of-means is
/// detox(r, buckets=k, inner=mean, outer=median).
///
/// validate(n, d) checks what it can before the vote: r odd and >= 1, n a
/// multiple of r, buckets <= n / r, and the inner and outer rules' needs if
/// no group is dropped. run() throws robustagg::Error when the groups that
/// survive the vote are too few for the buckets or the outer rule.
struct Detox {
  int r = 3;
  int buckets = 0;
  AnyRule inner = Mean{};
  AnyRule outer = Median{};
  double tolerance = 0.0;
  std::optional<std::uint64_t> seed;

  Detox() = default;
  /// Detox{r, buckets, inner, outer, tolerance, seed}, trailing ones optional.
  explicit Detox(int r_, int buckets_ = 0, AnyRule inner_ = Mean{}, AnyRule outer_ = Median{},
                 double tolerance_ = 0.0, std::optional<std::uint64_t> seed_ = std::nullopt)
      : r(r_),
        buckets(buckets_),
        inner(std::move(inner_)),
        outer(std::move(outer_)),
        tolerance(tolerance_),
        seed(seed_) {}

  std::string spec() const {
    std::string s = "detox(r=" + std::to_string(r) + ", buckets=" + std::to_string(buckets) +
                    ", inner=" + (inner.empty() ? std::string("?") : inner.spec()) +
                    ", outer=" + (outer.empty() ? std::string("?") : outer.spec());
    if (tolerance != 0.0) s += ", tolerance=" + detail::format_number(tolerance);
    if (seed) s += ", seed=" + std::to_string(*seed);
    return s + ")";
  }

  MajorityVote vote() const { return MajorityVote{r, tolerance}; }
  Buckets bucketing() const { return Buckets(buckets, inner, seed); }

  Index min_rows() const {
    const Index rr = std::max(r, 1);
    const Index outer_min = outer.empty() ? 1 : outer.min_rows();
    if (buckets <= 0) return rr * outer_min;
    const Index inner_min = inner.empty() ? 1 : inner.min_rows();
    return rr * Index(buckets) * inner_min;
  }

  void validate(Index n, Index d) const {
    if (outer.empty()) detail::fail("detox: the outer rule is empty");
    if (inner.empty()) detail::fail("detox: the inner rule is empty");
    // The spec is built only for a message: validate runs on every call.
    vote().validate_as([this] { return spec(); }, n, d);
    if (buckets < 0) detail::fail(spec(), ": buckets must be >= 0 (0: no bucketing), got ", buckets);
    const Index g = n / r;
    if (buckets > g)
      detail::fail(spec(), ": buckets = ", buckets, " is more than the ", g, " groups (", n,
                   " gradients / r = ", r, ")");
    if (buckets > 0) {
      try {
        inner.validate(g / buckets, d);
      } catch (const Error& e) {
        detail::fail(spec(), ": with all ", g, " groups winning, the smallest of ", buckets,
                     " buckets holds ", g / buckets, " vectors, and ", e.what());
      }
    }
    const Index k = buckets > 0 ? Index(buckets) : g;
    try {
      outer.validate(k, d);
    } catch (const Error& e) {
      detail::fail(spec(), ": with all ", g, " groups winning, the outer rule gets ", k,
                   " vectors, and ", e.what());
    }
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    const Index groups = g.rows() / r;
    const RowsView<T> winners = vote().template apply<T>(g, ws, ws.report());
    const Index w = winners.rows();
    if (buckets > 0) {
      const Index inner_min = inner.min_rows();
      if (w < buckets || w / buckets < inner_min) {
        std::string why;
        if (w < buckets)
          why = std::to_string(buckets) + " buckets need at least " + std::to_string(buckets) +
                " vectors";
        else
          why = message_of(inner, w / buckets, g.cols(),
                           "the smallest bucket holds " + std::to_string(w / buckets) + " and ");
        post_vote_fail(ws, groups, w, why);
      }
      const RowsView<T> means = Buckets(buckets, inner, seed).template apply<T>(winners, ws, ws.report());
      detail::run_nested(outer, means, out, ws.child<detail::OuterRule>(), ws.report());
    } else {
      if (w < outer.min_rows()) post_vote_fail(ws, groups, w, message_of(outer, w, g.cols(), ""));
      detail::run_nested(outer, winners, out, ws.child<detail::OuterRule>(), ws.report());
    }
  }

 private:
  static std::string message_of(const AnyRule& rule, Index n, Index d, const std::string& prefix) {
    try {
      rule.validate(n, d);
    } catch (const Error& e) {
      return prefix + e.what();
    }
    return prefix + rule.spec() + " needs at least " + std::to_string(rule.min_rows()) +
           " vectors, got " + std::to_string(n);
  }

  [[noreturn]] void post_vote_fail(const Workspace& ws, Index groups, Index won,
                                   const std::string& why) const {
    const std::vector<Index>& dropped = ws.report().back().dropped;
    std::string which = dropped.empty() ? std::string() : ": " + detail::group_list(dropped);
    detail::fail(spec(), ": after the vote ", won, " of ", groups, " groups remain (",
                 groups - won, " dropped", which, "); ", why);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
