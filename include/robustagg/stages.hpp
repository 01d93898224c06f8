// robustagg: stages, and the composition of a stage with a rule.
//
// A rule maps a gradient matrix to a vector; a stage maps a matrix to a
// matrix (often a smaller one). A stage followed by a rule is a rule:
// compose(stage, rule) gives Composed<Stage, Rule>. DETOX's majority vote and
// buckets (detox.hpp) are stages; so are the pre-aggregation stages here:
//   Clip{c}            clip(c, then=RULE)           static norm clipping
//   Nnm{f}             nnm(f, then=RULE)            nearest-neighbour mixing
//   Arc{f}             arc(f, then=RULE)            adaptive robust clipping
//   Bucketing{s, seed} bucketing(s, seed=0, then=RULE)  means of random groups of s
//
// A stage models
//   std::string spec() const;
//   void validate(Index n, Index d) const;      // static checks, throws Error
//   Index rows_out(Index n) const;              // most rows it can output
//   Index min_rows_for(Index next) const;       // fewest rows in so that the
//                                               // output can have `next` rows
//   template <class T>
//   RowsView<T> apply(const RowsView<T>& g, Workspace& ws,
//                     std::vector<StageReport>& report) const;
// and optionally
//   std::string spec_then(const std::string& next) const;  // "nnm(f=2, then=<next>)"
// which makes Composed's spec() a parse_rule spec. apply() never modifies g:
// it returns a view of rows in `ws` (or of g's own rows, for rows it passes
// unchanged) that stays valid until `ws` is used again, and adds one entry to
// `report`.
//
// Shared conventions of the stages here: norms and means accumulate in
// double; a row with any non-finite value has norm +Inf and is at +Inf from
// every row; ties go to the lower index.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/checks.hpp"
#include "detail/distances.hpp"
#include "detail/format.hpp"
#include "detail/parallel.hpp"
#include "detail/rng.hpp"
#include "detail/rows.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "rule.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

namespace detail {

// Child workspaces (workspace.hpp): a Composed runs its stage in its
// workspace and its rule in child<OuterRule>; DETOX's buckets run their inner
// rule in child<InnerRule>.
struct InnerRule {};
struct OuterRule {};

// Workspace keys of the stages in this header: each stage its own.
struct ClipRows {};
struct ClipValues {};
struct ClipChanged {};
struct NnmDistances {};
struct NnmOrder {};
struct NnmRows {};
struct NnmValues {};
struct NnmFinite {};
struct ArcRows {};
struct ArcNorms {};
struct ArcSorted {};
struct ArcValues {};
struct ArcFinite {};
struct BucketingRows {};
struct BucketingValues {};

/// Moves the report entries of a nested workspace to the parent's report
/// (no allocation once the parent's vector has capacity).
inline void lift_report(Workspace& child, std::vector<StageReport>& report) {
  for (StageReport& s : child.report()) report.push_back(std::move(s));
  child.report().clear();
}

/// Runs `rule` in workspace `child`, its stage reports going to `report`.
template <class Rule, class T>
inline void run_nested(const Rule& rule, const RowsView<T>& g, T* out, Workspace& child,
                       std::vector<StageReport>& report) {
  child.report().clear();
  rule.template run<T>(g, out, child);
  lift_report(child, report);
}

/// The seeded permutation of DETOX's buckets and of bucketing(s, seed): a
/// Fisher-Yates shuffle of items[0, n) driven by the splitmix64 mix
/// (detail::mix64): key = mix64(mix64(seed) ^ n); for i = n-1 down to 1, swap
/// items[i] and items[mix64(key ^ i) mod (i + 1)]. The same permutation at
/// every call with the same (seed, n), on every platform.
template <class U>
inline void seeded_shuffle(U* items, Index n, std::uint64_t seed) {
  const std::uint64_t key = mix64(mix64(seed) ^ std::uint64_t(n));
  for (Index i = n - 1; i > 0; --i) {
    const Index j = Index(mix64(key ^ std::uint64_t(i)) % std::uint64_t(i + 1));
    std::swap(items[i], items[j]);
  }
}

/// Euclidean norm of a row in double; +Inf when the row holds a non-finite
/// value. A finite row whose sum of squares overflows is rescaled by its
/// largest |value| (the norm is then +Inf only if it exceeds the double range).
template <class T>
inline double row_norm(const T* x, Index d, bool* finite = nullptr) {
  const double s = sum_squares(x, d);  // kNormLanes partial sums, in lane order (rows.hpp)
  if (finite) *finite = true;
  if (std::isfinite(s)) return std::sqrt(s);
  if (!all_finite(x, d)) {
    if (finite) *finite = false;
    return std::numeric_limits<double>::infinity();
  }
  double m = 0.0;
  for (Index k = 0; k < d; ++k) m = std::max(m, std::fabs(double(x[k])));
  double r = 0.0;
  for (Index k = 0; k < d; ++k) r += (double(x[k]) / m) * (double(x[k]) / m);
  return m * std::sqrt(r);
}

/// out = x * (target / ||x||) computed in double, for a finite row with
/// ||x|| > target >= 0 (norm the row's row_norm, possibly +Inf by overflow).
template <class T>
inline void scale_row_to(const T* x, Index d, double norm, double target, T* out) {
  double factor;
  if (std::isfinite(norm)) {
    factor = target / norm;
  } else {  // the norm overflowed: target / (m * r) as (target / m) / r
    double m = 0.0;
    for (Index k = 0; k < d; ++k) m = std::max(m, std::fabs(double(x[k])));
    double r = 0.0;
    for (Index k = 0; k < d; ++k) r += (double(x[k]) / m) * (double(x[k]) / m);
    factor = target / m / std::sqrt(r);
  }
  for (Index j = 0; j < d; ++j) out[j] = T(double(x[j]) * factor);
}

/// out[j] = (sum over the k rows, in the order given, of rows[r][j]) / k, in
/// double. Single-threaded: callers parallelise over output rows.
template <class T>
inline void mean_of_rows(const T* const* rows, Index k, Index d, T* out) {
  if (d > 0) kernels<T>().mean(rows, k, 0, d, out);  // the mean kernel: the same sums
}

template <class S, class = void>
struct has_spec_then : std::false_type {};
template <class S>
struct has_spec_then<S, std::void_t<decltype(std::declval<const S&>().spec_then(std::string()))>>
    : std::true_type {};

/// e.what() without a leading "<prefix>: " (a nested Composed's own spec).
inline std::string strip_prefix(const std::string& what, const std::string& prefix) {
  if (what.size() > prefix.size() + 2 && what.compare(0, prefix.size(), prefix) == 0 &&
      what.compare(prefix.size(), 2, ": ") == 0)
    return what.substr(prefix.size() + 2);
  return what;
}

/// A fresh report entry for a stage (short names: no heap allocation).
inline StageReport& new_report(std::vector<StageReport>& report, const char* name, Index n,
                               Index rows_out) {
  report.emplace_back();
  StageReport& r = report.back();
  r.stage = name;
  r.rows_in = n;
  r.rows_out = rows_out;
  return r;
}

/// "nnm(f=2)" without allocating for small f (fits the short-string buffer).
inline void set_stage_name(StageReport& r, const char* name, const char* key, long value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s(%s=%ld)", name, key, value);
  r.stage = buf;
}

/// The rule a stage spec names with then= (parse_rule's stage builders):
/// a missing then= is an error naming the stage.
template <class Args, class Nested>
AnyRule stage_then(Args& args, const Nested& nested, const std::string& stage) {
  if (!args.has("then"))
    fail(stage, " needs then=RULE, the rule that runs on the stage's output, e.g. ",
         stage.substr(0, stage.size() - 1), ", then=median)");
  return args.get_rule("then", nested);
}

/// The parallel split of a row-by-row stage: `work` values in all.
inline int stage_threads(Index work, Index rows) { return threads_for(work, rows); }

}  // namespace detail

/// clip(c): every row x becomes x * min(1, c / ||x||) (Euclidean norm in
/// double; a zero row is unchanged). A row with a non-finite value passes
/// unchanged. Rows of norm <= c are passed without a copy. Requires c > 0.
/// The report entry "clip" counts the clipped rows in `changed`.
struct Clip {
  double c = 1.0;

  std::string spec() const { return "clip(c=" + detail::format_number(c) + ")"; }
  std::string spec_then(const std::string& next) const {
    return "clip(c=" + detail::format_number(c) + ", then=" + next + ")";
  }
  Index rows_out(Index n) const { return n; }
  Index min_rows_for(Index next) const { return std::max<Index>(next, 1); }
  void validate(Index n, Index d) const {
    if (!(c > 0.0) || !std::isfinite(c))
      detail::fail(spec(), ": c must be finite and > 0, got c = ", c);
    detail::check_shape(*this, n, d, 1, "");
  }

  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index n = g.rows(), d = g.cols();
    const T** rows = ws.get<detail::Key<detail::ClipRows, const T*>>(std::size_t(n));
    T* values = ws.get<detail::Key<detail::ClipValues, T>>(std::size_t(n * d));
    unsigned char* clipped = ws.get<detail::Key<detail::ClipChanged, unsigned char>>(std::size_t(n));
    detail::parallel_for(n, detail::stage_threads(n * d, n), [&](Index i, int) {
      const T* x = g.row(i);
      bool finite = true;
      const double norm = detail::row_norm(x, d, &finite);
      clipped[i] = 0;
      rows[i] = x;
      if (finite && norm > c) {
        detail::scale_row_to(x, d, norm, c, values + i * d);
        rows[i] = values + i * d;
        clipped[i] = 1;
      }
    });
    StageReport& rep = detail::new_report(report, "clip", n, n);
    for (Index i = 0; i < n; ++i) rep.changed += clipped[i];
    return RowsView<T>::from_rows(rows, n, d);
  }
};

/// nnm(f) (nearest-neighbour mixing, Allouah et al., AISTATS 2023): row i
/// becomes the mean of the n - f rows closest to it (squared distances from
/// detail::pairwise_sq_distances), itself included and counted first, then
/// finite rows by (distance, index), then non-finite rows by index: a finite
/// row never takes a non-finite neighbour while n - f finite rows exist. A
/// row with a non-finite value passes unchanged. Means in double, summed in
/// that neighbour order, tile by tile over the coordinates (one read of the
/// input for all n means). Requires n >= 2f+1.
struct Nnm {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "nnm(f=" + detail::f_text(f) + ")"; }
  std::string spec_then(const std::string& next) const {
    return "nnm(f=" + detail::f_text(f) + ", then=" + next + ")";
  }
  Index rows_out(Index n) const { return n; }
  Index min_rows_for(Index next) const { return std::max<Index>(2 * Index(f) + 1, next); }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, 2 * Index(f) + 1, "2f+1");
  }

  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index n = g.rows(), d = g.cols();
    const Index k = n - f;
    double* D = ws.get<detail::Key<detail::NnmDistances, double>>(std::size_t(n * n));
    Index* order = ws.get<detail::Key<detail::NnmOrder, Index>>(std::size_t(n * n));
    const T** rows = ws.get<detail::Key<detail::NnmRows, const T*>>(std::size_t(n + n * k));
    T* values = ws.get<detail::Key<detail::NnmValues, T>>(std::size_t(n * d));
    unsigned char* finite = ws.get<detail::Key<detail::NnmFinite, unsigned char>>(std::size_t(n));
    detail::pairwise_sq_distances(g, D, ws);
    for (Index i = 0; i < n; ++i) finite[i] = detail::all_finite(g.row(i), d);
    const T** nbr = rows + n;  // k neighbour pointers per row
    for (Index i = 0; i < n; ++i) {
      rows[i] = g.row(i);
      if (!finite[i]) continue;
      Index* o = order + i * n;
      Index m = 0;
      for (Index j = 0; j < n; ++j)
        if (j != i) o[m++] = j;
      const double* Di = D + i * n;
      std::sort(o, o + m, [Di, finite](Index a, Index b) {
        if (finite[a] != finite[b]) return finite[a] > finite[b];
        if (Di[a] != Di[b]) return Di[a] < Di[b];
        return a < b;
      });
      nbr[i * k] = g.row(i);
      for (Index s = 1; s < k; ++s) nbr[i * k + s] = g.row(o[s - 1]);
      rows[i] = values + i * d;
    }
    // Coordinate tiles (fixed, independent of the thread count): a tile of
    // every row stays in cache while all n means of that tile are summed, so
    // the input is read from memory once instead of n times.
    constexpr Index kTile = 512;
    const Index tiles = (d + kTile - 1) / kTile;
    // Each mean is the mean kernel's: the k rows summed in order in double.
    const auto mean = detail::kernels<T>().mean;
    detail::parallel_for(tiles, detail::stage_threads(n * d, tiles), [&](Index t, int) {
      const Index j0 = t * kTile, j1 = std::min(d, j0 + kTile);
      for (Index i = 0; i < n; ++i)
        if (finite[i]) mean(nbr + i * k, k, j0, j1, values + i * d);
    });
    StageReport& rep = detail::new_report(report, "", n, n);
    detail::set_stage_name(rep, "nnm", "f", f);
    return RowsView<T>::from_rows(rows, n, d);
  }
};

/// arc(f) (adaptive robust clipping, Allouah et al. 2024):
/// k = floor(2f(n - f) / n); when k > 0, C = the (n - k)-th smallest row norm
/// (1-based, norms in double, a non-finite row's norm +Inf), and every finite
/// row of norm > C is scaled to norm C. Non-finite rows pass unchanged, and
/// so do rows of norm <= C (without a copy). Requires n >= 2f+1. The report
/// entry counts the clipped rows in `changed`.
struct Arc {
  int f = detail::kUnsetF;  // required: the number of Byzantine workers tolerated

  std::string spec() const { return "arc(f=" + detail::f_text(f) + ")"; }
  std::string spec_then(const std::string& next) const {
    return "arc(f=" + detail::f_text(f) + ", then=" + next + ")";
  }
  Index rows_out(Index n) const { return n; }
  Index min_rows_for(Index next) const { return std::max<Index>(2 * Index(f) + 1, next); }
  void validate(Index n, Index d) const {
    detail::check_f(*this, f);
    detail::check_shape(*this, n, d, 2 * Index(f) + 1, "2f+1");
  }
  /// The number of rows ARC clips for n rows: floor(2f(n - f) / n).
  Index clipped_count(Index n) const { return 2 * Index(f) * (n - Index(f)) / n; }

  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index n = g.rows(), d = g.cols();
    const Index k = clipped_count(n);
    const T** rows = ws.get<detail::Key<detail::ArcRows, const T*>>(std::size_t(n));
    double* norms = ws.get<detail::Key<detail::ArcNorms, double>>(std::size_t(n));
    double* sorted = ws.get<detail::Key<detail::ArcSorted, double>>(std::size_t(n));
    for (Index i = 0; i < n; ++i) rows[i] = g.row(i);
    StageReport& rep = detail::new_report(report, "", n, n);
    detail::set_stage_name(rep, "arc", "f", f);
    if (k <= 0) return RowsView<T>::from_rows(rows, n, d);
    T* values = ws.get<detail::Key<detail::ArcValues, T>>(std::size_t(n * d));
    const int threads = detail::stage_threads(n * d, n);
    unsigned char* finite = ws.get<detail::Key<detail::ArcFinite, unsigned char>>(std::size_t(n));
    detail::parallel_for(n, threads, [&](Index i, int) {
      bool ok = true;
      norms[i] = detail::row_norm(g.row(i), d, &ok);
      finite[i] = ok;
    });
    std::copy(norms, norms + n, sorted);
    std::nth_element(sorted, sorted + (n - k - 1), sorted + n);
    const double C = sorted[n - k - 1];
    detail::parallel_for(n, threads, [&](Index i, int) {
      const T* x = g.row(i);
      if (finite[i] && norms[i] > C) {
        detail::scale_row_to(x, d, norms[i], C, values + i * d);
        rows[i] = values + i * d;
      }
    });
    for (Index i = 0; i < n; ++i) rep.changed += rows[i] != g.row(i);
    return RowsView<T>::from_rows(rows, n, d);
  }
};

/// bucketing(s, seed) (Karimireddy, He, Jaggi, ICLR 2022): the rows are
/// permuted by detail::seeded_shuffle(seed) (the same permutation at every
/// call for the same n; vary the seed between steps for fresh buckets), cut
/// into ceil(n/s) groups of s consecutive permuted rows (the last one smaller
/// when s does not divide n), and each group is replaced by its mean (in
/// double, summed in permuted order). Not NaN-safe by itself: a group with a
/// non-finite row has a non-finite mean, which the rule that follows must
/// handle. Requires s >= 1.
struct Bucketing {
  int s = 1;
  std::uint64_t seed = 0;

  std::string spec() const {
    std::string t = "bucketing(s=" + std::to_string(s);
    if (seed) t += ", seed=" + std::to_string(seed);
    return t + ")";
  }
  std::string spec_then(const std::string& next) const {
    std::string t = spec();
    t.pop_back();
    return t + ", then=" + next + ")";
  }
  Index rows_out(Index n) const { return s >= 1 ? n / s + (n % s != 0 ? 1 : 0) : 0; }
  /// s (next - 1) + 1, saturating at the largest Index.
  Index min_rows_for(Index next) const {
    const Index step = std::max(s, 1), groups = std::max<Index>(next, 1) - 1;
    if (groups > (std::numeric_limits<Index>::max() - 1) / step)
      return std::numeric_limits<Index>::max();
    return step * groups + 1;
  }
  void validate(Index n, Index d) const {
    if (s < 1) detail::fail(spec(), ": s must be >= 1, got s = ", s);
    detail::check_shape(*this, n, d, 1, "");
  }

  template <class T>
  RowsView<T> apply(const RowsView<T>& g, Workspace& ws, std::vector<StageReport>& report) const {
    const Index n = g.rows(), d = g.cols();
    const Index groups = rows_out(n);
    const T** perm = ws.get<detail::Key<detail::BucketingRows, const T*>>(std::size_t(n));
    T* values = ws.get<detail::Key<detail::BucketingValues, T>>(std::size_t(groups * d));
    for (Index i = 0; i < n; ++i) perm[i] = g.row(i);
    detail::seeded_shuffle(perm, n, seed);
    detail::parallel_for(groups, detail::stage_threads(n * d, groups), [&](Index b, int) {
      const Index lo = b * s, hi = std::min(n, lo + s);
      detail::mean_of_rows(perm + lo, hi - lo, d, values + b * d);
    });
    StageReport& rep = detail::new_report(report, "", n, groups);
    detail::set_stage_name(rep, "bucketing", "s", s);
    return RowsView<T>::strided(values, groups, d, d);
  }
};

/// A stage followed by a rule: a rule. Its stage writes into `ws`, the rule
/// runs in ws.child<detail::OuterRule>(), and the stage's report and the rule's (if any) go to
/// ws.report(). spec() is a parse_rule spec for the stages that have
/// spec_then ("nnm(f=2, then=krum(f=2))"); for the others (DETOX's vote) it
/// is for humans ("majority-vote(r=3) | median").
///
/// validate(n, d) checks the stage on n rows and the rule on the rows the
/// stage outputs; a failure names the whole chain once, then the first
/// requirement not met: "nnm(f=2, then=krum(f=2)): krum(f=2) needs n >= 2f+3
/// = 7 gradients, got 5".
template <class Stage, class Rule>
struct Composed {
  Stage stage;
  Rule rule;

  std::string spec() const {
    if constexpr (detail::has_spec_then<Stage>::value)
      return stage.spec_then(rule.spec());
    else
      return stage.spec() + " | " + rule.spec();
  }
  Index min_rows() const { return stage.min_rows_for(rule.min_rows()); }
  void validate(Index n, Index d) const {
    if constexpr (detail::has_spec_then<Stage>::value) {
      Index m = 0;
      try {
        stage.validate(n, d);
        m = stage.rows_out(n);
      } catch (const Error& e) {
        detail::fail(spec(), ": ", e.what());
      }
      try {
        rule.validate(m, d);
      } catch (const Error& e) {
        const std::string why = detail::strip_prefix(e.what(), rule.spec());
        if (m == n) detail::fail(spec(), ": ", why);
        detail::fail(spec(), ": ", stage.spec(), " outputs ", m, " rows from ", n, ", and ", why);
      }
    } else {
      stage.validate(n, d);
      const Index m = stage.rows_out(n);
      try {
        rule.validate(m, d);
      } catch (const Error& e) {
        detail::fail(spec(), ": ", stage.spec(), " outputs at most ", m, " of the ", n,
                     " gradients, and ", e.what());
      }
    }
  }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    const RowsView<T> v = stage.template apply<T>(g, ws, ws.report());
    if (v.rows() < rule.min_rows()) {
      std::string why;
      try {
        rule.validate(v.rows(), v.cols());
      } catch (const Error& e) {
        why = e.what();
      }
      detail::fail(spec(), ": after ", stage.spec(), " ", v.rows(), " of ", stage.rows_out(g.rows()),
                   " rows remain; ", why.empty() ? rule.spec() + " needs more" : why);
    }
    detail::run_nested(rule, v, out, ws.child<detail::OuterRule>(), ws.report());
  }
};

/// compose(MajorityVote{3}, Median{}), compose(Nnm{2}, Krum{2}) are rules.
template <class Stage, class Rule>
Composed<Stage, Rule> compose(Stage stage, Rule rule) {
  return Composed<Stage, Rule>{std::move(stage), std::move(rule)};
}

}  // namespace robustagg

ROBUSTAGG_FP_END
