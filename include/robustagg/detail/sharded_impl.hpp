// robustagg::detail::sharded: the per-rule two-phase forms behind
// aggregate_sharded (sharded.hpp). Each function runs on one column shard;
// statistics that sum over shards go through ctx.reduce. The rules' own
// helpers (krum_score, bulyan_select, the subset searches, weighted_step, the
// coordinate engine) do the per-shard work, so a shard's columns go through
// the same per-coordinate operations as in the single-process rule.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "../bulyan.hpp"
#include "../caf.hpp"
#include "../centered_clipping.hpp"
#include "../cge.hpp"
#include "../detox.hpp"
#include "../errors.hpp"
#include "../geometric_median.hpp"
#include "../gradients.hpp"
#include "../krum.hpp"
#include "../mda.hpp"
#include "../meamed.hpp"
#include "../mean.hpp"
#include "../median.hpp"
#include "../monna.hpp"
#include "../noisy.hpp"
#include "../rule.hpp"
#include "../sign_vote.hpp"
#include "../smea.hpp"
#include "../stages.hpp"
#include "../trimmed_mean.hpp"
#include "../workspace.hpp"
#include "distances.hpp"
#include "row_pass.hpp"
#include "rows.hpp"
#include "subsets.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

/// How aggregate_sharded's statistics combine across shards.
enum class ReduceOp { sum, max };

namespace detail::sharded {

// Workspace keys of the sharded forms.
struct StatBuffer {};
struct Distances {};
struct Finite {};
struct Norms {};
struct Factors {};
struct Scratch {};
struct Order {};
struct RowPtrs {};
struct Values {};
struct Weights {};
struct CentreA {};
struct CentreB {};
struct Kept {};
struct Gram {};
struct Bits {};
struct Vectors {};
struct Then {};
struct Inner {};
struct Outer {};

struct Context {
  const std::function<void(double*, Index, ReduceOp)>* reduce;
  Index offset;  // global index of the shard's first column
  Index d;       // global number of columns
  void operator()(double* v, Index count, ReduceOp op) const { (*reduce)(v, count, op); }
};

template <class T>
void run_rule(const AnyRule& rule, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws);

/// The n x n squared distances (D[i][i] = 0, +Inf to and from a row with a
/// non-finite value in any shard) and the rows' finiteness, from one reduce of
/// n(n-1)/2 + n sums.
template <class T>
void distances(const RowsView<T>& g, double* D, unsigned char* finite, const Context& ctx,
               Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  const Index pairs = n * (n - 1) / 2;
  double* buf = ws.get<Key<StatBuffer, double>>(std::size_t(pairs + n));
  if (ds > 0)
    pairwise_sq_distances(g, D, ws);
  else
    std::fill(D, D + n * n, 0.0);
  for (Index i = 0; i < n; ++i) buf[pairs + i] = all_finite(g.row(i), ds) ? 0.0 : 1.0;
  for (Index i = 0, p = 0; i < n; ++i)
    for (Index k = i + 1; k < n; ++k, ++p)
      buf[p] = buf[pairs + i] != 0.0 || buf[pairs + k] != 0.0 ? 0.0 : D[i * n + k];
  ctx(buf, pairs + n, ReduceOp::sum);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i) finite[i] = buf[pairs + i] == 0.0;
  for (Index i = 0, p = 0; i < n; ++i) {
    D[i * n + i] = 0.0;
    for (Index k = i + 1; k < n; ++k, ++p) {
      const double s = finite[i] && finite[k] ? buf[p] : kInf;
      D[i * n + k] = s;
      D[k * n + i] = s;
    }
  }
}

/// The rows' finiteness only: one reduce of n sums.
template <class T>
void finite_flags(const RowsView<T>& g, unsigned char* finite, const Context& ctx, Workspace& ws) {
  const Index n = g.rows();
  double* buf = ws.get<Key<StatBuffer, double>>(std::size_t(n));
  for (Index i = 0; i < n; ++i) buf[i] = all_finite(g.row(i), g.cols()) ? 0.0 : 1.0;
  ctx(buf, n, ReduceOp::sum);
  for (Index i = 0; i < n; ++i) finite[i] = buf[i] == 0.0;
}

/// Row norms as detail::row_norm defines them (double; +Inf for a row with a
/// non-finite value, finite[i] = 0 then): the sums of squares are reduced;
/// a finite row whose sum overflows is rescaled by its largest |value| (two
/// more reduces, made only when such a row exists). scale[i] is the factor
/// scale_row_to uses for a target of 1: 1 / norm, or 1 / m / sqrt(r) for a
/// rescaled row.
template <class T>
void norms(const RowsView<T>& g, double* norm, double* inv, unsigned char* finite,
           const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  double* buf = ws.get<Key<StatBuffer, double>>(std::size_t(2 * n));
  for (Index i = 0; i < n; ++i) {
    const T* x = g.row(i);
    const double s = sum_squares(x, ds);  // row_norm's sum, the same bits
    const bool ok = all_finite(x, ds);
    buf[i] = ok ? s : 0.0;
    buf[n + i] = ok ? 0.0 : 1.0;
  }
  ctx(buf, 2 * n, ReduceOp::sum);
  bool overflow = false;
  for (Index i = 0; i < n; ++i) {
    finite[i] = buf[n + i] == 0.0;
    norm[i] = finite[i] ? std::sqrt(buf[i]) : std::numeric_limits<double>::infinity();
    inv[i] = 1.0 / norm[i];
    overflow = overflow || (finite[i] && !std::isfinite(buf[i]));
  }
  if (!overflow) return;
  // Rescue: m = max |x|, r = sum (x/m)^2 over every shard, norm = m sqrt(r).
  double* m = ws.get<Key<Scratch, double>>(std::size_t(n));
  for (Index i = 0; i < n; ++i) {
    double v = 0.0;
    if (finite[i] && !std::isfinite(norm[i]))
      for (Index k = 0; k < ds; ++k) v = std::max(v, std::fabs(double(g.row(i)[k])));
    m[i] = v;
  }
  ctx(m, n, ReduceOp::max);
  for (Index i = 0; i < n; ++i) {
    double r = 0.0;
    if (finite[i] && !std::isfinite(norm[i]))
      for (Index k = 0; k < ds; ++k) {
        const double y = double(g.row(i)[k]) / m[i];
        r += y * y;
      }
    buf[i] = r;
  }
  ctx(buf, n, ReduceOp::sum);
  for (Index i = 0; i < n; ++i)
    if (finite[i] && !std::isfinite(norm[i])) {
      norm[i] = m[i] * std::sqrt(buf[i]);
      inv[i] = 1.0 / m[i] / std::sqrt(buf[i]);
    }
}

/// Shard of x * (target * inv) in double, as scale_row_to writes it.
template <class T>
void scale_shard(const T* x, Index ds, double norm, double inv, double target, T* out) {
  const double factor = std::isfinite(norm) ? target / norm : target * inv;
  for (Index j = 0; j < ds; ++j) out[j] = T(double(x[j]) * factor);
}

// ---------------------------------------------------------------------------
// Coordinate-wise rules.

/// The noise of row i at global coordinate offset + j.
struct ShiftedNoise {
  AddNoise noise;
  Index offset;
  template <class T>
  T operator()(Index i, Index j, T x) const {
    return noise(i, j + offset, x);
  }
  template <class T>
  void block(Index i, Index j0, const T* src, T* dst, Index count) const {
    noise.block(i, j0 + offset, src, dst, count);
  }
};

template <class T>
void noisy_median(const NoisyMedian& r, const RowsView<T>& g, T* out, const Context& ctx,
                  Workspace& ws) {
  if (g.cols() == 0) return;
  if (r.b == 0.0) return coordinate_median(g, out, ws, AsSent{});
  coordinate_median(g, out, ws, ShiftedNoise{AddNoise{r.b, r.seed}, ctx.offset});
}

template <class T>
void noisy_sign_vote(const NoisySignVote& r, const RowsView<T>& g, T* out, const Context& ctx,
                     Workspace& ws) {
  if (g.cols() == 0) return;
  if (r.b == 0.0) return sign_vote_rows(g, out, ws);
  noisy_sign_vote_rows(g, out, ws, ShiftedNoise{AddNoise{r.b, r.seed}, ctx.offset});
}

// ---------------------------------------------------------------------------
// Distance-based rules: distances reduced once, then the rule's selection.

template <class T>
void krum(const Krum& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows();
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  double* scores = ws.get<Key<Norms, double>>(std::size_t(n));
  double* scratch = ws.get<Key<Scratch, double>>(std::size_t(n));
  distances(g, D, fin, ctx, ws);
  for (Index i = 0; i < n; ++i) scores[i] = krum_score(D, n, i, n - r.f - 2, nullptr, scratch);
  Index best = 0;
  for (Index i = 1; i < n; ++i)
    if (scores[i] < scores[best]) best = i;
  std::copy(g.row(best), g.row(best) + g.cols(), out);
}

template <class T>
void multi_krum(const MultiKrum& r, const RowsView<T>& g, T* out, const Context& ctx,
                Workspace& ws) {
  const Index n = g.rows(), k = r.selected(n);
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  double* scores = ws.get<Key<Norms, double>>(std::size_t(n));
  double* scratch = ws.get<Key<Scratch, double>>(std::size_t(n));
  distances(g, D, fin, ctx, ws);
  for (Index i = 0; i < n; ++i) scores[i] = krum_score(D, n, i, n - r.f - 2, nullptr, scratch);
  const Index* order = rank_by_score(scores, n, ws);
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(k));
  for (Index s = 0; s < k; ++s) rows[s] = g.row(order[s]);
  if (g.cols() > 0) mean_rows(RowsView<T>::from_rows(rows, k, g.cols()), out, ws);
}

template <class T>
void bulyan(const Bulyan& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), theta = n - 2 * Index(r.f), beta = theta - 2 * Index(r.f);
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  Index* index = ws.get<Key<Order, Index>>(std::size_t(theta));
  const T** picked = ws.get<Key<RowPtrs, const T*>>(std::size_t(theta));
  distances(g, D, fin, ctx, ws);
  bulyan_select(D, n, Index(r.f), theta, index, ws);
  for (Index k = 0; k < theta; ++k) picked[k] = g.row(index[k]);
  if (g.cols() > 0)
    coordinate_sorted(RowsView<T>::from_rows(picked, theta, g.cols()), out, ws, BulyanReducer{beta});
}

template <class T>
void mda(const Mda& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), m = n - Index(r.f);
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  Index* best = ws.get<Key<Order, Index>>(std::size_t(2 * m));
  std::uint64_t* bits = ws.get<Key<Bits, std::uint64_t>>(mda_search_words(n, Index(r.f)));
  double* values = ws.get<Key<Values, double>>(std::size_t(n * (n - 1) / 2 + 1));
  distances(g, D, fin, ctx, ws);
  DiameterSearch(D, n, m, bits, values, best + m).run(best);
  if (g.cols() > 0) mean_of_rows(g, best, m, out, ws);
}

/// MoNNA: each shard's squared distances to its part of row t (rows.hpp's
/// sums, as Monna::run), reduced with the rows' finiteness: one reduce of 2n.
template <class T>
void monna(const Monna& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols(), m = n - Index(r.f), t = r.trusted;
  double* buf = ws.get<Key<StatBuffer, double>>(std::size_t(2 * n));
  double* z = ws.get<Key<CentreA, double>>(std::size_t(ds));
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  Index* order = ws.get<Key<Order, Index>>(std::size_t(n));
  to_double(z, g.row(t), ds);
  for (Index i = 0; i < n; ++i) rows[i] = g.row(i);
  if (ds > 0)
    sq_distances_to(rows, n, z, ds, buf, ws);
  else
    std::fill(buf, buf + n, 0.0);
  for (Index i = 0; i < n; ++i) buf[n + i] = all_finite(g.row(i), ds) ? 0.0 : 1.0;
  ctx(buf, 2 * n, ReduceOp::sum);
  if (buf[n + t] != 0.0) {
    std::fill(out, out + ds, std::numeric_limits<T>::quiet_NaN());
    return;
  }
  for (Index i = 0; i < n; ++i)
    buf[i] = buf[n + i] != 0.0 ? std::numeric_limits<double>::infinity() : finite_or_inf(buf[i]);
  monna_select(buf, n, t, m, order);
  if (ds > 0) mean_of_rows(g, order, m, out, ws);
}

template <class T>
void smea(const Smea& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), m = n - Index(r.f);
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  Index* best = ws.get<Key<Order, Index>>(std::size_t(m));
  distances(g, D, fin, ctx, ws);
  smea_search(D, n, m, best, ws);
  if (g.cols() > 0) mean_of_rows(g, best, m, out, ws);
}

template <class T>
void caf(const Caf& rule, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  const Index f = rule.f;
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* ok = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  distances(g, D, ok, ctx, ws);
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  Index* idx = ws.get<Key<Order, Index>>(std::size_t(n));
  Index m = 0;
  for (Index i = 0; i < n; ++i)
    if (ok[i]) {
      rows[m] = g.row(i);
      idx[m++] = i;
    }
  if (m == 0) {
    std::fill(out, out + ds, std::numeric_limits<T>::quiet_NaN());
    return;
  }
  // The weight loop of Caf::run, on the reduced distances.
  double* c = ws.get<Key<Weights, double>>(std::size_t(m));
  double* kept = ws.get<Key<Kept, double>>(std::size_t(m));
  std::fill(c, c + m, 1.0);
  std::fill(kept, kept + m, 1.0);
  double total = double(m);
  if (total > double(n - 2 * f)) {
    double* K = ws.get<Key<Gram, double>>(std::size_t(m * m));
    double* M = ws.get<Key<Vectors, double>>(std::size_t(2 * m * m));
    double* V = M + m * m;
    double* scratch = ws.get<Key<Scratch, double>>(std::size_t(4 * m));
    double* r = scratch;
    double* p = scratch + m;
    double* root = scratch + 2 * m;
    double* tau = scratch + 3 * m;
    double best = std::numeric_limits<double>::infinity();
    while (total > double(n - 2 * f)) {
      for (Index a = 0; a < m; ++a) {
        p[a] = c[a] / total;
        root[a] = std::sqrt(p[a]);
      }
      centred_gram(D, n, idx, m, p, K, r);
      for (Index a = 0; a < m; ++a)
        for (Index b = 0; b < m; ++b) M[a * m + b] = root[a] * root[b] * K[a * m + b];
      jacobi_eigen(M, m, V);
      const Index top = top_diagonal(M, m);
      const double lambda = M[top * (m + 1)];
      if (!std::isfinite(lambda)) break;
      if (lambda < best) {
        best = lambda;
        std::copy(c, c + m, kept);
      }
      double tau_max = 0.0;
      Index arg = -1;
      for (Index a = 0; a < m; ++a) {
        if (!(c[a] > 0.0)) continue;
        double t = 0.0;
        for (Index b = 0; b < m; ++b) t += K[a * m + b] * root[b] * V[b * m + top];
        tau[a] = lambda > 0.0 ? t * t / lambda : 0.0;
        if (arg < 0 || tau[a] > tau_max) {
          tau_max = tau[a];
          arg = a;
        }
      }
      if (!(tau_max > 0.0)) break;
      total = 0.0;
      for (Index a = 0; a < m; ++a) {
        if (c[a] > 0.0) c[a] = a == arg ? 0.0 : c[a] * (1.0 - tau[a] / tau_max);
        total += c[a];
      }
    }
  }
  if (ds == 0) return;
  double kept_total = 0.0;
  for (Index a = 0; a < m; ++a) kept_total += kept[a];
  double* z = ws.get<Key<CentreA, double>>(std::size_t(ds));
  WeightedStep step;
  step.weights = kept;
  step.divisor = kept_total;
  weighted_step(rows, m, ds, step, z, nullptr, nullptr, nullptr, ws);
  from_double(out, z, ds);
}

template <class T>
void cge(const Cge& r, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), m = n - Index(r.f);
  double* nrm = ws.get<Key<Norms, double>>(std::size_t(2 * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  Index* order = ws.get<Key<Order, Index>>(std::size_t(n));
  norms(g, nrm, nrm + n, fin, ctx, ws);
  std::iota(order, order + n, Index(0));
  std::sort(order, order + n, [nrm, fin](Index a, Index b) {
    if (fin[a] != fin[b]) return fin[a] > fin[b];
    if (nrm[a] != nrm[b]) return nrm[a] < nrm[b];
    return a < b;
  });
  std::sort(order, order + m);
  if (g.cols() > 0) mean_of_rows(g, order, m, out, ws);
}

// ---------------------------------------------------------------------------
// Iterative rules: one reduce of the rows' distances per iteration.

template <class T>
void geometric_median(const GeometricMedian& r, const RowsView<T>& g, T* out, const Context& ctx,
                      Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  unsigned char* ok = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  finite_flags(g, ok, ctx, ws);
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  Index m = 0;
  for (Index i = 0; i < n; ++i)
    if (ok[i]) rows[m++] = g.row(i);
  if (m == 0) {
    std::fill(out, out + ds, std::numeric_limits<T>::quiet_NaN());
    return;
  }
  double* stats = ws.get<Key<StatBuffer, double>>(std::size_t(m + 2));
  double* w = ws.get<Key<Weights, double>>(std::size_t(m));
  double* z = ws.get<Key<CentreA, double>>(std::size_t(ds));
  double* z_next = ws.get<Key<CentreB, double>>(std::size_t(ds));
  if (ds > 0) {
    coordinate_median(RowsView<T>::from_rows(rows, m, ds), out, ws, AsSent{});
    to_double(z, out, ds);
    sq_distances_to(rows, m, z, ds, stats, ws);
  } else {
    std::fill(stats, stats + m, 0.0);
  }
  ctx(stats, m, ReduceOp::sum);
  for (int t = 0; t < r.iterations; ++t) {
    double total = 0.0;
    for (Index i = 0; i < m; ++i) {
      w[i] = 1.0 / std::max(r.nu, std::sqrt(stats[i]));
      total += w[i];
    }
    if (!(total > 0.0)) break;
    for (Index i = 0; i < m; ++i) w[i] /= total;
    const bool last = t + 1 == r.iterations;
    WeightedStep step;
    step.weights = w;
    step.divisor = 1.0;
    double old_norm = 0.0, delta = 0.0;
    if (ds > 0) delta = weighted_step(rows, m, ds, step, z_next, z, &old_norm, last ? nullptr : stats, ws);
    if (last || ds == 0) std::fill(stats, stats + m, 0.0);
    std::swap(z, z_next);
    stats[m] = delta;
    stats[m + 1] = old_norm;
    ctx(stats, m + 2, ReduceOp::sum);
    if (std::sqrt(stats[m]) <= r.tolerance * std::max(1.0, std::sqrt(stats[m + 1]))) break;
  }
  if (ds > 0) from_double(out, z, ds);
}

template <class T>
void centered_clipping(const CenteredClipping& r, const RowsView<T>& g, T* out,
                       const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  unsigned char* ok = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  finite_flags(g, ok, ctx, ws);
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  Index m = 0;
  for (Index i = 0; i < n; ++i)
    if (ok[i]) rows[m++] = g.row(i);
  double* v = ws.get<Key<CentreA, double>>(std::size_t(ds));
  double* v_next = ws.get<Key<CentreB, double>>(std::size_t(ds));
  if (r.start == CenteredClipping::Start::zero) {
    std::fill(v, v + ds, 0.0);
  } else {
    if (m == 0) {
      std::fill(out, out + ds, std::numeric_limits<T>::quiet_NaN());
      return;
    }
    if (ds > 0) {
      if (r.start == CenteredClipping::Start::mean)
        mean_rows(RowsView<T>::from_rows(rows, m, ds), out, ws);
      else
        coordinate_median(RowsView<T>::from_rows(rows, m, ds), out, ws, AsSent{});
      to_double(v, out, ds);
    }
  }
  if (m == 0) {
    from_double(out, v, ds);
    return;
  }
  double* dist = ws.get<Key<StatBuffer, double>>(std::size_t(m));
  double* c = ws.get<Key<Weights, double>>(std::size_t(m));
  if (ds > 0)
    sq_distances_to(rows, m, v, ds, dist, ws);
  else
    std::fill(dist, dist + m, 0.0);
  ctx(dist, m, ReduceOp::sum);
  for (int l = 0; l < r.iterations; ++l) {
    for (Index i = 0; i < m; ++i) {
      const double rr = std::sqrt(dist[i]);
      c[i] = rr == 0.0 ? 1.0 : std::min(1.0, r.tau / rr);
    }
    const bool last = l + 1 == r.iterations;
    WeightedStep step;
    step.weights = c;
    step.center = v;
    step.base = v;
    step.divisor = double(n);
    if (ds > 0) weighted_step(rows, m, ds, step, v_next, nullptr, nullptr, last ? nullptr : dist, ws);
    std::swap(v, v_next);
    if (!last) {
      if (ds == 0) std::fill(dist, dist + m, 0.0);
      ctx(dist, m, ReduceOp::sum);
    }
  }
  from_double(out, v, ds);
}

// ---------------------------------------------------------------------------
// Stages: each maps the shard's rows to new rows, then the next rule runs
// sharded on them.

template <class T>
RowsView<T> clip(const Clip& st, const RowsView<T>& g, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols();
  double* nrm = ws.get<Key<Norms, double>>(std::size_t(2 * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  T* values = ws.get<Key<Values, T>>(std::size_t(n * ds));
  norms(g, nrm, nrm + n, fin, ctx, ws);
  for (Index i = 0; i < n; ++i) {
    rows[i] = g.row(i);
    if (fin[i] && nrm[i] > st.c) {
      scale_shard(g.row(i), ds, nrm[i], nrm[n + i], st.c, values + i * ds);
      rows[i] = values + i * ds;
    }
  }
  return RowsView<T>::from_rows(rows, n, ds);
}

template <class T>
RowsView<T> arc(const Arc& st, const RowsView<T>& g, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols(), k = st.clipped_count(n);
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  for (Index i = 0; i < n; ++i) rows[i] = g.row(i);
  if (k <= 0) return RowsView<T>::from_rows(rows, n, ds);
  double* nrm = ws.get<Key<Norms, double>>(std::size_t(3 * n));
  unsigned char* fin = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  T* values = ws.get<Key<Values, T>>(std::size_t(n * ds));
  norms(g, nrm, nrm + n, fin, ctx, ws);
  double* sorted = nrm + 2 * n;
  std::copy(nrm, nrm + n, sorted);
  std::nth_element(sorted, sorted + (n - k - 1), sorted + n);
  const double C = sorted[n - k - 1];
  for (Index i = 0; i < n; ++i)
    if (fin[i] && nrm[i] > C) {
      scale_shard(g.row(i), ds, nrm[i], nrm[n + i], C, values + i * ds);
      rows[i] = values + i * ds;
    }
  return RowsView<T>::from_rows(rows, n, ds);
}

template <class T>
RowsView<T> nnm(const Nnm& st, const RowsView<T>& g, const Context& ctx, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols(), k = n - st.f;
  double* D = ws.get<Key<Distances, double>>(std::size_t(n * n));
  unsigned char* finite = ws.get<Key<Finite, unsigned char>>(std::size_t(n));
  Index* order = ws.get<Key<Order, Index>>(std::size_t(n));
  const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(n + k));
  T* values = ws.get<Key<Values, T>>(std::size_t(n * ds));
  distances(g, D, finite, ctx, ws);
  const T** nbr = rows + n;
  for (Index i = 0; i < n; ++i) {
    rows[i] = g.row(i);
    if (!finite[i]) continue;
    Index m = 0;
    for (Index j = 0; j < n; ++j)
      if (j != i) order[m++] = j;
    const double* Di = D + i * n;
    std::sort(order, order + m, [Di, finite](Index a, Index b) {
      if (finite[a] != finite[b]) return finite[a] > finite[b];
      if (Di[a] != Di[b]) return Di[a] < Di[b];
      return a < b;
    });
    nbr[0] = g.row(i);
    for (Index s = 1; s < k; ++s) nbr[s] = g.row(order[s - 1]);
    // Nnm::apply's per-coordinate sum: double, in neighbour order, / k.
    T* o = values + i * ds;
    for (Index j = 0; j < ds; ++j) {
      double a = 0.0;
      for (Index s = 0; s < k; ++s) a += double(nbr[s][j]);
      o[j] = T(a / double(k));
    }
    rows[i] = o;
  }
  return RowsView<T>::from_rows(rows, n, ds);
}

template <class T>
RowsView<T> bucketing(const Bucketing& st, const RowsView<T>& g, Workspace& ws) {
  const Index n = g.rows(), ds = g.cols(), groups = st.rows_out(n);
  const T** perm = ws.get<Key<RowPtrs, const T*>>(std::size_t(n));
  T* values = ws.get<Key<Values, T>>(std::size_t(std::max<Index>(groups * ds, 1)));
  for (Index i = 0; i < n; ++i) perm[i] = g.row(i);
  seeded_shuffle(perm, n, st.seed);
  for (Index b = 0; b < groups; ++b) {
    const Index lo = b * st.s, hi = std::min(n, lo + st.s);
    if (ds > 0) mean_of_rows(perm + lo, hi - lo, ds, values + b * ds);
  }
  return RowsView<T>::strided(values, groups, ds, ds);
}

/// DETOX's vote on a shard: per row a NaN flag, per ordered pair of a group
/// an inequality flag (sums: equal only if equal in every shard); with a
/// tolerance also each pair's largest |x - y|, each row's largest |x| (maxima)
/// and a non-finite flag. Then MajorityVote::group_winner's count.
template <class T>
RowsView<T> vote(const MajorityVote& v, const RowsView<T>& g, const Context& ctx, Workspace& ws) {
  const Index p = g.rows(), ds = g.cols(), r = v.r, groups = p / r;
  const bool tol = v.tolerance > 0.0;
  const Index pairs = groups * r * r;
  // layout: [nan (p) | unequal (pairs) | nonfinite (p)] sums, [diff (pairs) | scale (p)] maxima
  double* sums = ws.get<Key<StatBuffer, double>>(std::size_t(2 * p + pairs));
  double* maxima = ws.get<Key<Scratch, double>>(std::size_t(p + pairs));
  double* nan = sums;
  double* unequal = sums + p;
  double* nonfinite = sums + p + pairs;
  double* diff = maxima;
  double* scale = maxima + pairs;
  for (Index i = 0; i < p; ++i) {
    const T* x = g.row(i);
    bool has_nan = false;
    for (Index j = 0; j < ds && !has_nan; ++j) has_nan = std::isnan(x[j]);
    nan[i] = has_nan ? 1.0 : 0.0;
    if (tol) {
      nonfinite[i] = all_finite(x, ds) ? 0.0 : 1.0;
      double s = 0.0;
      for (Index j = 0; j < ds; ++j) s = std::max(s, std::fabs(double(x[j])));
      scale[i] = s;
    }
  }
  for (Index gk = 0; gk < groups; ++gk)
    for (Index a = 0; a < r; ++a)
      for (Index b = 0; b < r; ++b) {
        const Index q = gk * r * r + a * r + b;
        const T* x = g.row(gk * r + a);
        const T* y = g.row(gk * r + b);
        // An empty shard (d < ranks) may have null rows: nothing to compare.
        unequal[q] = ds == 0 || std::memcmp(x, y, std::size_t(ds) * sizeof(T)) == 0 ? 0.0 : 1.0;
        if (tol) {
          double m = 0.0;
          for (Index j = 0; j < ds; ++j) m = std::max(m, std::fabs(double(x[j]) - double(y[j])));
          diff[q] = m;
        }
      }
  if (tol) {
    ctx(sums, 2 * p + pairs, ReduceOp::sum);
    ctx(maxima, p + pairs, ReduceOp::max);
  } else {
    ctx(sums, p + pairs, ReduceOp::sum);
  }
  const T** winners = ws.get<Key<Order, const T*>>(std::size_t(groups));
  const Index majority = r / 2 + 1;
  Index won = 0;
  for (Index gk = 0; gk < groups; ++gk) {
    for (Index a = 0; a < r; ++a) {
      const Index i = gk * r + a;
      Index votes = 0;
      if (nan[i] == 0.0) {
        votes = 1;  // its own
        for (Index b = 0; b < r && votes < majority; ++b) {
          if (b == a) continue;
          const Index q = gk * r * r + a * r + b, k = gk * r + b;
          bool same = unequal[q] == 0.0;
          if (!same && tol && nonfinite[i] == 0.0 && nonfinite[k] == 0.0)
            same = diff[q] <= v.tolerance * std::max(1.0, std::max(scale[i], scale[k]));
          if (same) ++votes;
        }
      }
      if (votes >= majority) {
        winners[won++] = g.row(i);
        break;
      }
    }
  }
  return RowsView<T>::from_rows(winners, won, ds);
}

template <class T>
void detox(const Detox& dx, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index groups = g.rows() / dx.r;
  const RowsView<T> w = vote(dx.vote(), g, ctx, ws);
  const Index won = w.rows();
  auto fail_after_vote = [&](const std::string& why) {
    fail(dx.spec(), ": after the vote ", won, " of ", groups, " groups remain (", groups - won,
         " dropped); ", why);
  };
  if (dx.buckets > 0) {
    const Index k = dx.buckets;
    if (won < k || won / k < dx.inner.min_rows())
      fail_after_vote(won < k ? std::to_string(k) + " buckets need at least " + std::to_string(k) +
                                    " vectors"
                              : dx.inner.spec() + " needs " + std::to_string(dx.inner.min_rows()) +
                                    " vectors per bucket, the smallest holds " +
                                    std::to_string(won / k));
    const Index ds = g.cols();
    const T** rows = ws.get<Key<RowPtrs, const T*>>(std::size_t(won));
    T* means = ws.get<Key<Values, T>>(std::size_t(std::max<Index>(k * ds, 1)));
    for (Index i = 0; i < won; ++i) rows[i] = w.row(i);
    if (dx.seed) seeded_shuffle(rows, won, *dx.seed);
    Workspace& child = ws.child<Inner>();
    for (Index b = 0; b < k; ++b) {
      const RowsView<T> bucket = RowsView<T>::from_rows(rows + Buckets::bucket_begin(won, k, b),
                                                        Buckets::bucket_size(won, k, b), ds);
      run_rule(dx.inner, bucket, means + b * ds, ctx, child);
    }
    run_rule(dx.outer, RowsView<T>::strided(means, k, ds, ds), out, ctx, ws.child<Outer>());
  } else {
    if (won < dx.outer.min_rows())
      fail_after_vote(dx.outer.spec() + " needs " + std::to_string(dx.outer.min_rows()) +
                      " vectors, got " + std::to_string(won));
    run_rule(dx.outer, w, out, ctx, ws.child<Outer>());
  }
}

// ---------------------------------------------------------------------------
// Dispatch.

inline bool coordinate_wise(const AnyRule& rule) {
  if (rule.target<Mean>() || rule.target<Median>() || rule.target<TrimmedMean>() ||
      rule.target<Meamed>() || rule.target<SignVote>() || rule.target<NoisyMedian>() ||
      rule.target<NoisySignVote>())
    return true;
  if (const auto* c = rule.target<Composed<Bucketing, AnyRule>>()) return coordinate_wise(c->rule);
  return false;
}

template <class T>
void run_rule(const AnyRule& rule, const RowsView<T>& g, T* out, const Context& ctx, Workspace& ws) {
  const Index ds = g.cols();
  if (rule.target<Mean>() || rule.target<Median>() || rule.target<TrimmedMean>() ||
      rule.target<Meamed>() || rule.target<SignVote>()) {
    if (ds > 0) rule.run(g, out, ws);  // per coordinate: the shard's columns are the result's
    return;
  }
  if (const auto* r = rule.target<NoisyMedian>()) return noisy_median(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<NoisySignVote>()) return noisy_sign_vote(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Krum>()) return krum(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<MultiKrum>()) return multi_krum(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Bulyan>()) return bulyan(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Mda>()) return mda(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Monna>()) return monna(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Smea>()) return smea(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Caf>()) return caf(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Cge>()) return cge(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<GeometricMedian>()) return geometric_median(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<CenteredClipping>()) return centered_clipping(*r, g, out, ctx, ws);
  if (const auto* r = rule.target<Detox>()) return detox(*r, g, out, ctx, ws);
  if (const auto* c = rule.target<Composed<Clip, AnyRule>>())
    return run_rule(c->rule, clip(c->stage, g, ctx, ws), out, ctx, ws.child<Then>());
  if (const auto* c = rule.target<Composed<Arc, AnyRule>>())
    return run_rule(c->rule, arc(c->stage, g, ctx, ws), out, ctx, ws.child<Then>());
  if (const auto* c = rule.target<Composed<Nnm, AnyRule>>())
    return run_rule(c->rule, nnm(c->stage, g, ctx, ws), out, ctx, ws.child<Then>());
  if (const auto* c = rule.target<Composed<Bucketing, AnyRule>>())
    return run_rule(c->rule, bucketing(c->stage, g, ws), out, ctx, ws.child<Then>());
  if (const auto* c = rule.target<Composed<MajorityVote, AnyRule>>()) {
    const RowsView<T> w = vote(c->stage, g, ctx, ws);
    if (w.rows() < c->rule.min_rows())
      fail(c->spec(), ": after the vote ", w.rows(), " of ", g.rows() / c->stage.r,
           " groups remain; ", c->rule.spec(), " needs ", c->rule.min_rows());
    return run_rule(c->rule, w, out, ctx, ws.child<Then>());
  }
  fail("aggregate_sharded: ", rule.spec(),
       " has no sharded form (the rules and stages of rule_catalog() have one)");
}

}  // namespace detail::sharded
}  // namespace robustagg

ROBUSTAGG_FP_END
