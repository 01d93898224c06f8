// robustagg::mpi: robust all-reduce over MPI. Each rank holds one worker's
// gradient (one row of the n x d matrix, n = the communicator's size); every
// rank receives the aggregate.
//
//   robustagg::mpi::all_reduce(MPI_COMM_WORLD, gradient, rule, out, robustagg::mpi::Mode::sharded);
//
// Mode::sharded: MPI_Alltoallv gives each rank its column shard of every
//   worker's row (shard_range(d, n, rank)); the rank aggregates its shard with
//   aggregate_sharded, whose statistics are all-gathered and summed in rank
//   order (the same bits on every rank); MPI_Allgatherv returns the result.
// Mode::server: every rank sends its row to rank 0 point to point; rank 0
//   aggregates the n x d matrix and sends the result (or its error) to every
//   rank point to point. The papers' trust model: only rank 0 aggregates.
//
// Before any large transfer the ranks all-gather a small header (d, scalar
// type, mode, a hash of the rule's spec, whether the rule accepts n x d), so
// a bad configuration (f too large for the world size, different d or rules
// across ranks) throws the same robustagg::Error on every rank, never a hang.
// Include this header only where MPI is available: the rest of the library
// does not depend on MPI.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "aggregate.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "rule.hpp"
#include "sharded.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::mpi {

enum class Mode { sharded, server };

inline const char* mode_name(Mode m) { return m == Mode::sharded ? "sharded" : "server"; }

namespace detail {

template <class T>
MPI_Datatype datatype() {
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

inline void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) robustagg::detail::fail("robustagg::mpi::all_reduce: ", what, " failed (MPI error ", rc, ")");
}

/// FNV-1a of a string (rules compared across ranks by their spec).
inline std::uint64_t hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

struct Header {
  std::int64_t d;
  std::uint64_t spec_hash;
  std::int32_t scalar_size;
  std::int32_t mode;
  std::int32_t valid;  // rule.validate(n, d) passed on this rank
  std::int32_t pad;
};

/// Agrees on the configuration: throws the same Error on every rank when
/// anything differs across ranks or the rule refuses n x d.
template <class T>
void agree(MPI_Comm comm, Index d, const AnyRule& rule, Mode mode) {
  int n = 0, rank = 0;
  check(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  std::string why;
  Header h{};
  h.d = d;
  h.scalar_size = std::int32_t(sizeof(T));
  h.mode = std::int32_t(mode);
  h.valid = 1;
  std::string spec;
  try {
    spec = rule.spec();
    rule.validate(n, d);
  } catch (const std::exception& e) {
    h.valid = 0;
    why = e.what();
  }
  h.spec_hash = hash(spec);
  std::vector<Header> all(static_cast<std::size_t>(n));
  check(MPI_Allgather(&h, int(sizeof(Header)), MPI_BYTE, all.data(), int(sizeof(Header)), MPI_BYTE, comm),
        "MPI_Allgather");
  // Disagreements are named without this rank's own values, so that every
  // rank throws the same message.
  const char* who = "robustagg::mpi::all_reduce";
  for (int r = 1; r < n; ++r) {
    const Header& a = all[0];
    const Header& b = all[std::size_t(r)];
    if (b.d != a.d)
      robustagg::detail::fail(who, ": ranks hold gradients of different lengths: rank 0 has d = ", a.d,
                              ", rank ", r, " has d = ", b.d);
    if (b.scalar_size != a.scalar_size)
      robustagg::detail::fail(who, ": ranks use different scalar types (float and double)");
    if (b.mode != a.mode) robustagg::detail::fail(who, ": ranks use different modes");
    if (b.spec_hash != a.spec_hash)
      robustagg::detail::fail(who, ": rank ", r, " uses another rule than rank 0");
  }
  for (int r = 0; r < n; ++r)
    if (!all[std::size_t(r)].valid)
      robustagg::detail::fail(who, "(", spec, ", ", mode_name(mode), ") with one gradient per rank (", n, " ranks): ",
                              why.empty() ? std::string("the rule refuses this shape") : why);
}

template <class T>
void sharded(MPI_Comm comm, const T* gradient, Index d, const AnyRule& rule, T* out, Workspace& ws) {
  int n = 0, rank = 0;
  MPI_Comm_size(comm, &n);
  MPI_Comm_rank(comm, &rank);
  std::vector<int> counts(static_cast<std::size_t>(n)), displs(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    const auto r = shard_range(d, n, k);
    counts[std::size_t(k)] = int(r.second - r.first);
    displs[std::size_t(k)] = int(r.first);
  }
  const auto mine = shard_range(d, n, rank);
  const Index len = mine.second - mine.first;
  // Row i of the received n x len matrix is worker i's shard.
  std::vector<T> recv(std::size_t(n) * std::size_t(len));
  std::vector<int> rcounts(static_cast<std::size_t>(n), int(len)), rdispls(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) rdispls[std::size_t(k)] = int(Index(k) * len);
  check(MPI_Alltoallv(gradient, counts.data(), displs.data(), datatype<T>(), recv.data(),
                      rcounts.data(), rdispls.data(), datatype<T>(), comm),
        "MPI_Alltoallv");
  std::vector<double> gathered;
  const ShardReduce reduce = [&](double* v, Index count, ReduceOp op) {
    gathered.resize(std::size_t(n) * std::size_t(count));
    check(MPI_Allgather(v, int(count), MPI_DOUBLE, gathered.data(), int(count), MPI_DOUBLE, comm),
          "MPI_Allgather");
    // rank order: every rank adds the same values in the same order
    for (Index i = 0; i < count; ++i) {
      double s = gathered[std::size_t(i)];
      for (int k = 1; k < n; ++k) {
        const double x = gathered[std::size_t(k) * std::size_t(count) + std::size_t(i)];
        s = op == ReduceOp::sum ? s + x : std::max(s, x);
      }
      v[i] = s;
    }
  };
  std::vector<T> piece(std::size_t(std::max<Index>(len, 1)));
  aggregate_sharded(RowsView<T>::strided(recv.data(), n, len, len), rule, mine.first, d, piece.data(),
                    reduce, ws);
  check(MPI_Allgatherv(piece.data(), int(len), datatype<T>(), out, counts.data(), displs.data(),
                       datatype<T>(), comm),
        "MPI_Allgatherv");
}

template <class T>
void server(MPI_Comm comm, const T* gradient, Index d, const AnyRule& rule, T* out, Workspace& ws) {
  int n = 0, rank = 0;
  MPI_Comm_size(comm, &n);
  MPI_Comm_rank(comm, &rank);
  constexpr int kRowTag = 0x5241, kStatusTag = 0x5242, kResultTag = 0x5243;
  if (rank != 0) {
    check(MPI_Send(gradient, int(d), datatype<T>(), 0, kRowTag, comm), "MPI_Send");
    int length = 0;  // 0: the result follows; > 0: an error message of that length
    check(MPI_Recv(&length, 1, MPI_INT, 0, kStatusTag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
    if (length > 0) {
      std::string what(std::size_t(length), '\0');
      check(MPI_Recv(&what[0], length, MPI_CHAR, 0, kStatusTag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
      throw Error(what);
    }
    check(MPI_Recv(out, int(d), datatype<T>(), 0, kResultTag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
    return;
  }
  GradientMatrix<T> rows(Index(n), d);
  std::copy(gradient, gradient + d, rows.row(0).data());
  for (int k = 1; k < n; ++k)
    check(MPI_Recv(rows.row(k).data(), int(d), datatype<T>(), k, kRowTag, comm, MPI_STATUS_IGNORE),
          "MPI_Recv");
  std::string what;
  try {
    aggregate(RowsView<T>::strided(rows.data(), n, d, d), rule, out, ws);
  } catch (const std::exception& e) {
    what = e.what();
    if (what.empty()) what = "robustagg::mpi::all_reduce: the aggregation failed on rank 0";
  }
  const int length = int(what.size());
  for (int k = 1; k < n; ++k) {
    check(MPI_Send(&length, 1, MPI_INT, k, kStatusTag, comm), "MPI_Send");
    if (length > 0)
      check(MPI_Send(what.data(), length, MPI_CHAR, k, kStatusTag, comm), "MPI_Send");
    else
      check(MPI_Send(out, int(d), datatype<T>(), k, kResultTag, comm), "MPI_Send");
  }
  if (length > 0) throw Error(what);
}

}  // namespace detail

/// The aggregate of the n ranks' gradients (d values each) under `rule`,
/// written to out (d values) on every rank. Collective: every rank of comm
/// calls it with the same rule, mode and d. Throws robustagg::Error on every
/// rank for a configuration the ranks disagree on or the rule refuses.
template <class T>
void all_reduce(MPI_Comm comm, const T* gradient, Index d, const AnyRule& rule, T* out, Mode mode,
                Workspace& ws) {
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  detail::agree<T>(comm, d, rule, mode);
  if (mode == Mode::sharded)
    detail::sharded(comm, gradient, d, rule, out, ws);
  else
    detail::server(comm, gradient, d, rule, out, ws);
}

/// Eigen form: out is resized to the gradient's length.
template <class T>
void all_reduce(MPI_Comm comm, const Vector<T>& gradient, const AnyRule& rule, Vector<T>& out,
                Mode mode = Mode::sharded) {
  thread_local Workspace ws;
  if (out.size() != gradient.size()) out.resize(gradient.size());
  all_reduce(comm, gradient.data(), gradient.size(), rule, out.data(), mode, ws);
}

}  // namespace robustagg::mpi

ROBUSTAGG_FP_END
