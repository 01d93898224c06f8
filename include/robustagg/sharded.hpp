// robustagg: sharded (two-phase) aggregation. The n x d gradient matrix is cut
// into column shards, one per process (or per thread); every shard runs the
// same rule on its own columns and the shards exchange only small statistics.
//
//   ShardReduce reduce = ...;  // sums (or takes the max of) doubles across shards
//   aggregate_sharded(shard_rows, rule, offset, d, out_shard, reduce, ws);
//
// Every rule of the catalogue decomposes this way:
// - coordinate-wise rules (mean, median, trimmed mean, Meamed, sign votes,
//   noisy rules, bucketing) need no statistics: each shard's result is the
//   full aggregate's columns, bit for bit (the noise is drawn per global
//   coordinate offset + j);
// - distance-based rules (Krum, Multi-Krum, Bulyan, MDA, MoNNA, SMEA, CAF,
//   NNM) need the n x n squared distances, CGE, clip and ARC the n row norms:
//   phase 1 computes the shard's partial sums (double), `reduce` sums them,
//   phase 2 selects or weights rows from the sums and applies that to the
//   shard's columns;
// - iterative rules (geometric median, centered clipping) sum n distances per
//   iteration the same way (one reduce per iteration);
// - DETOX's vote reduces per-shard equality and NaN flags of the rows of each
//   group (two rows are equal only if every shard says so).
// Every row carries a non-finite flag in the first statistics, summed across
// shards, so a row with a NaN or Inf in any shard is treated as the
// single-process rules treat it (docs/rules.md, "Non-finite values").
//
// Contract: every shard calls aggregate_sharded with the same rule, n and d;
// `reduce` is then called the same number of times, with the same counts and
// operations, on every shard (control flow depends only on reduced values),
// and must give every shard the same bits (sum in a fixed shard order, e.g.
// gather the partials and add them in rank order). Results: coordinate-wise
// rules bitwise the single-process aggregate; the others select the same rows
// (the partial sums round differently from the single-process distance
// engine, so exact ties can only differ where the distances themselves are
// inexact) and agree within the numerical contract (relative 1e-6).
#pragma once

#include <functional>
#include <string>

#include "detail/sharded_impl.hpp"
#include "gradients.hpp"
#include "rule.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// Combines `count` doubles element-wise across all shards, in place: the
/// sum, or the maximum. Every shard must get the same bits.
using ShardReduce = std::function<void(double* values, Index count, ReduceOp op)>;

/// Runs `rule` on one column shard: `shard` holds the n workers' values of the
/// global columns [offset, offset + shard.cols()) of an n x d matrix, and out
/// receives the aggregate's values of those columns. `reduce` is called with
/// the shard's partial statistics (none for coordinate-wise rules). Throws
/// robustagg::Error for a rule that fails validate(n, d) (on every shard
/// alike), an offset outside [0, d], or a rule with no sharded form (a rule
/// type outside the catalogue). A centered clipping's warm start is not
/// applied (the `start` option is).
template <class T>
void aggregate_sharded(const RowsView<T>& shard, const AnyRule& rule, Index offset, Index d,
                       T* out, const ShardReduce& reduce, Workspace& ws) {
  if (offset < 0 || shard.cols() < 0 || offset + shard.cols() > d)
    detail::fail("aggregate_sharded: the shard [", offset, ", ", offset + shard.cols(),
                 ") is outside the columns [0, ", d, ")");
  if (shard.cols() > 0 && shard.rows() > 0) {
    if (!shard.has_rows()) detail::fail("aggregate_sharded: the shard's rows pointer is null");
    if (!out) detail::fail("aggregate_sharded: the output pointer is null");
  }
  if (!reduce) detail::fail("aggregate_sharded: no reduce function");
  rule.validate(shard.rows(), d);
  ws.report().clear();
  detail::sharded::Context ctx{&reduce, offset, d};
  // Strided (column-major) shards are gathered once into contiguous rows.
  detail::sharded::run_rule(rule, detail::contiguous_rows(shard, ws), out, ctx, ws);
}

/// Eigen form: the shard is a n x (columns) block of rows (any expression).
template <class Derived>
void aggregate_sharded(const Eigen::MatrixBase<Derived>& shard, const AnyRule& rule, Index offset,
                       Index d, Vector<typename Derived::Scalar>& out, const ShardReduce& reduce,
                       Workspace& ws) {
  using T = typename Derived::Scalar;
  detail::with_rows_view(shard, [&](const RowsView<T>& view) {
    if (out.size() != view.cols()) out.resize(view.cols());
    aggregate_sharded(view, rule, offset, d, out.data(), reduce, ws);
  });
}

/// True when `rule` needs no statistics across shards (it is coordinate-wise:
/// aggregate_sharded never calls reduce for it).
inline bool is_coordinate_wise(const AnyRule& rule) { return detail::sharded::coordinate_wise(rule); }

/// The shard of d columns that part `k` of `parts` owns: [begin, end), sizes
/// differing by at most one, the first d mod parts shards one larger.
inline std::pair<Index, Index> shard_range(Index d, Index parts, Index k) {
  if (parts < 1 || k < 0 || k >= parts)
    detail::fail("shard_range(d=", d, ", parts=", parts, ", k=", k, ") needs 0 <= k < parts");
  const Index base = d / parts, extra = d % parts;
  const Index begin = k * base + std::min(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

}  // namespace robustagg

ROBUSTAGG_FP_END
