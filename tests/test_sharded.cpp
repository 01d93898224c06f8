// aggregate_sharded (sharded.hpp): the columns split into 1, 2, 3 and 7
// shards, each shard run on its own thread with its own copy of its columns,
// the statistics summed across shards by a simulated all-reduce (in shard
// order). The reference is the single-process aggregate of the whole matrix:
// bitwise for the coordinate-wise rules and for the rules that select rows on
// inputs whose distances are exact; within 1e-6 relative for the rest.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <robustagg/aggregate.hpp>
#include <robustagg/sharded.hpp>
#include <robustagg/spec.hpp>

#include "reference/inputs.hpp"

namespace ra = robustagg;
using ra::Index;
using ra::testing::Kind;

namespace {

/// An all-reduce among `parts` threads: each waits for the others, the
/// values are combined in shard order, every shard gets the same bits. It
/// records every call (count and operation) so tests can check that all
/// shards made the same calls.
class SimulatedAllReduce {
 public:
  explicit SimulatedAllReduce(int parts) : parts_(parts), slots_(std::size_t(parts)), calls_(std::size_t(parts)) {}

  void operator()(int k, double* v, Index count, ra::ReduceOp op) {
    std::unique_lock<std::mutex> lock(m_);
    slots_[std::size_t(k)].assign(v, v + count);
    calls_[std::size_t(k)].push_back(count * 2 + (op == ra::ReduceOp::max ? 1 : 0));
    const long gen = generation_;
    if (++arrived_ == parts_) {
      result_.assign(std::size_t(count), 0.0);
      bool same_count = true;
      for (int s = 0; s < parts_; ++s) {
        const auto& x = slots_[std::size_t(s)];
        if (Index(x.size()) != count) {
          same_count = false;
          continue;
        }
        for (Index i = 0; i < count; ++i)
          result_[std::size_t(i)] = s == 0 ? x[std::size_t(i)]
                                    : op == ra::ReduceOp::sum
                                        ? result_[std::size_t(i)] + x[std::size_t(i)]
                                        : std::max(result_[std::size_t(i)], x[std::size_t(i)]);
      }
      mismatch_ = mismatch_ || !same_count;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else if (!cv_.wait_for(lock, std::chrono::seconds(30), [&] { return generation_ != gen; })) {
      timed_out_ = true;
      throw std::runtime_error("simulated all-reduce: a shard did not arrive");
    }
    std::copy(result_.begin(), result_.end(), v);
  }

  bool consistent() const {
    for (const auto& c : calls_)
      if (c != calls_[0]) return false;
    return !mismatch_ && !timed_out_;
  }
  std::size_t calls() const { return calls_[0].size(); }

 private:
  int parts_;
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  long generation_ = 0;
  bool mismatch_ = false, timed_out_ = false;
  std::vector<std::vector<double>> slots_;
  std::vector<double> result_;
  std::vector<std::vector<long>> calls_;
};

struct ShardedRun {
  ra::Vector<double> dummy;
  std::vector<std::string> errors;  // one per shard ("" when it returned)
  bool consistent = true;
  std::size_t reduces = 0;
};

/// Runs `rule` on `parts` column shards of g (one thread each, own copies),
/// writing the assembled result to out.
template <class T>
ShardedRun run_sharded(const ra::GradientMatrix<T>& g, const ra::AnyRule& rule, int parts,
                       ra::Vector<T>& out) {
  const Index n = g.rows(), d = g.cols();
  out = ra::Vector<T>::Constant(d, T(-12345));
  SimulatedAllReduce comm(parts);
  ShardedRun run;
  run.errors.assign(std::size_t(parts), "");
  std::vector<std::thread> threads;
  for (int k = 0; k < parts; ++k) {
    threads.emplace_back([&, k] {
      const auto range = ra::shard_range(d, parts, k);
      const ra::GradientMatrix<T> shard = g.block(0, range.first, n, range.second - range.first);
      ra::Vector<T> piece;
      ra::Workspace ws;
      const ra::ShardReduce reduce = [&comm, k](double* v, Index c, ra::ReduceOp op) {
        comm(k, v, c, op);
      };
      try {
        ra::aggregate_sharded(shard, rule, range.first, d, piece, reduce, ws);
        for (Index j = 0; j < piece.size(); ++j) out[range.first + j] = piece[j];
      } catch (const std::exception& e) {
        run.errors[std::size_t(k)] = e.what();
        if (run.errors[std::size_t(k)].empty()) run.errors[std::size_t(k)] = "?";
      }
    });
  }
  for (auto& t : threads) t.join();
  run.consistent = comm.consistent();
  run.reduces = comm.calls();
  return run;
}

template <class T>
bool bitwise_equal(const ra::Vector<T>& a, const ra::Vector<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(T)) == 0;
}

/// |a - b| <= 1e-6 * max_j |b_j| everywhere, NaN where b is NaN, the same
/// infinities.
template <class T>
bool close(const ra::Vector<T>& a, const ra::Vector<T>& b, std::string& why) {
  if (a.size() != b.size()) return false;
  double scale = 0.0;
  for (Index j = 0; j < b.size(); ++j)
    if (std::isfinite(double(b[j]))) scale = std::max(scale, std::fabs(double(b[j])));
  for (Index j = 0; j < b.size(); ++j) {
    const double x = a[j], y = b[j];
    bool ok;
    if (std::isnan(y))
      ok = std::isnan(x);
    else if (std::isinf(y))
      ok = x == y;
    else
      ok = std::fabs(x - y) <= 1e-6 * scale;
    if (!ok) {
      why = "j = " + std::to_string(j) + ": sharded " + std::to_string(x) + ", single-process " +
            std::to_string(y);
      return false;
    }
  }
  return true;
}

// Every catalogue rule and stage, coordinate-wise first.
const std::vector<std::string> kBitwise = {
    "mean", "median", "trimmed-mean(f=3)", "meamed(f=3)", "sign-vote",
    "noisy-median(b=0.3, seed=5)", "noisy-sign-vote(b=0.3, seed=5)", "noisy-median(b=0, seed=5)",
    "bucketing(s=2, seed=7, then=median)", "bucketing(s=4, then=trimmed-mean(f=1))",
    "detox(r=3, outer=median)", "detox(r=3, inner=mean, outer=median)",
    "detox(r=3, buckets=2, inner=median, outer=mean, seed=3)",
    "detox(r=3, tolerance=0.01, outer=median)",
};
// Rules that select rows from the distances or norms: the same rows, so the
// same bits, where the distances are exact sums (every family but random
// values and duplicates of random values; on those, within 1e-6).
const std::vector<std::string> kSelecting = {
    "krum(f=3)", "multi-krum(f=3, m=5)", "multi-krum(f=3)", "bulyan(f=3)", "mda(f=2)",
    "monna(f=3, trusted=2)", "monna(f=2, trusted=0)", "smea(f=2)", "cge(f=3)",
    "nnm(f=3, then=trimmed-mean(f=3))", "nnm(f=2, then=krum(f=2))",
    "bucketing(s=2, seed=7, then=krum(f=1))",
    "detox(r=3, outer=krum(f=0))", "detox(r=3, buckets=1, inner=multi-krum(f=0), outer=mean)",
    "detox(r=3, outer=nnm(f=1, then=median))",
};
// Rules whose weights come from sums (norms, distances to an iterate):
// within 1e-6 relative.
const std::vector<std::string> kClose = {
    "geometric-median", "geometric-median(iterations=4)", "centered-clipping(tau=10, iterations=3)",
    "centered-clipping(tau=1, iterations=2, start=mean)",
    "centered-clipping(tau=1, iterations=2, start=zero)", "caf(f=3)", "caf(f=1)",
    "clip(c=2, then=median)", "clip(c=3, then=krum(f=3))", "arc(f=3, then=meamed(f=3))",
    "arc(f=3, then=multi-krum(f=3))", "bucketing(s=2, seed=7, then=geometric-median(iterations=2))",
    "clip(c=5, then=arc(f=2, then=nnm(f=2, then=mean)))", "clip(c=4, then=detox(r=3, outer=median))",
};
// A second NNM measures distances between means, which are inexact: where
// the true distances tie exactly (small-integer inputs) the two roundings can
// break the tie differently and select other rows (a documented limit), so
// it is checked on the families without exact ties.
const std::string kOnMeans = "nnm(f=2, then=nnm(f=2, then=bulyan(f=2)))";

/// A rule type outside the catalogue.
struct Custom {
  std::string spec() const { return "custom"; }
  Index min_rows() const { return 1; }
  void validate(Index, Index) const {}
  template <class T>
  void run(const ra::RowsView<T>&, T*, ra::Workspace&) const {}
};

/// Whether the statistics `spec` selects rows by are exact sums for inputs of
/// family k (so the sharded sums equal the single-process ones and exact ties
/// stay ties): squared differences are exact for every family but random
/// values; CGE's squared norms only for small integers and halves.
bool exact_statistics(const std::string& spec, Kind k) {
  if (spec.rfind("cge", 0) == 0) return k == Kind::Tied || k == Kind::SignedZeros;
  return k != Kind::Random && k != Kind::Duplicated;
}

/// Rows in replica groups of 3 (DETOX's input): row i copies row i - i % 3,
/// then some replicas are changed in one column only (a disagreement that
/// one shard sees), and a NaN is put in one row.
template <class T>
ra::GradientMatrix<T> replicated(Kind kind, Index n, Index d, std::uint64_t seed) {
  ra::GradientMatrix<T> g = ra::testing::make_input<T>(kind, n, d, seed);
  for (Index i = 0; i < n; ++i)
    if (i % 3) g.row(i) = g.row(i - i % 3);
  if (n > 4) g(4, d - 1) = g(4, d - 1) + T(1);           // group 1: rows 3, 5 still agree
  if (n > 8) {
    g(7, 0) = g(7, 0) + T(1);                            // group 2: all three differ,
    g(8, d / 2) = g(8, d / 2) - T(1);                    // in different shards
  }
  if (n > 10) g(10, d - 1) = std::numeric_limits<T>::quiet_NaN();
  return g;
}

template <class T>
void check_spec(const std::string& spec, const ra::GradientMatrix<T>& g, bool bitwise) {
  const ra::AnyRule rule = ra::parse_rule(spec);
  const ra::Vector<T> want = ra::aggregate(g, rule);
  for (int parts : {1, 2, 3, 7}) {
    INFO(spec << ", n = " << g.rows() << ", d = " << g.cols() << ", " << parts << " shards");
    ra::Vector<T> got;
    const ShardedRun run = run_sharded(g, rule, parts, got);
    for (const std::string& e : run.errors) REQUIRE(e == "");
    REQUIRE(run.consistent);
    if (bitwise) {
      CHECK(bitwise_equal(got, want));
    } else {
      std::string why;
      const bool ok = close(got, want, why);
      INFO(why);
      CHECK(ok);
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("sharded: every catalogue rule and stage gives the single-process aggregate",
                   "[sharded]", float, double) {
  using T = TestType;
  for (const auto& [n, d] : std::vector<std::pair<Index, Index>>{{15, 5}, {15, 37}, {15, 1000}}) {
    for (Kind kind : ra::testing::all_kinds()) {
      INFO("input " << ra::testing::kind_name(kind));
      const std::uint64_t seed = ra::testing::case_seed(kind, n, d, 77);
      const ra::GradientMatrix<T> plain = ra::testing::make_input<T>(kind, n, d, seed);
      const ra::GradientMatrix<T> groups = replicated<T>(kind, n, d, seed);
      // DETOX forms on rows in replica groups, the others on the plain input
      auto input = [&](const std::string& s) -> const ra::GradientMatrix<T>& {
        return s.find("detox") != std::string::npos ? groups : plain;
      };
      for (const std::string& s : kBitwise) check_spec(s, input(s), true);
      for (const std::string& s : kSelecting) check_spec(s, input(s), exact_statistics(s, kind));
      for (const std::string& s : kClose) check_spec(s, input(s), false);
      if (kind != Kind::Tied && kind != Kind::SignedZeros) check_spec(kOnMeans, plain, false);
    }
  }
}

TEST_CASE("sharded: the test grid covers every rule of the catalogue", "[sharded]") {
  for (const ra::RuleInfo& info : ra::rule_catalog()) {
    INFO(info.name);
    bool found = false;
    for (const auto* list : {&kBitwise, &kSelecting, &kClose})
      for (const std::string& s : *list) found = found || s.rfind(info.name, 0) == 0;
    CHECK(found);
  }
}

TEMPLATE_TEST_CASE("sharded: NaN and Inf rows in one shard only are non-finite rows everywhere",
                   "[sharded][concurrency]", float, double) {
  using T = TestType;
  const Index n = 11, d = 30;
  ra::GradientMatrix<T> g = ra::testing::make_input<T>(Kind::Tied, n, d, 5);
  g(2, 29) = std::numeric_limits<T>::quiet_NaN();  // in the last shard only
  g(6, 0) = std::numeric_limits<T>::infinity();    // in the first shard only
  g.row(9) = g.row(3);                             // a tie
  for (const char* spec : {"krum(f=2)", "multi-krum(f=2)", "bulyan(f=2)", "mda(f=2)", "cge(f=2)",
                           "monna(f=2, trusted=1)", "nnm(f=2, then=mean)", "smea(f=2)"})
    check_spec(spec, g, true);
  for (const char* spec : {"geometric-median", "centered-clipping(tau=2, iterations=3)", "caf(f=2)",
                           "clip(c=1, then=mean)", "arc(f=2, then=mean)"})
    check_spec(spec, g, false);
  // MoNNA's trusted row non-finite: NaN everywhere, as single-process
  check_spec("monna(f=2, trusted=2)", g, true);
}

TEST_CASE("sharded: coordinate-wise rules make no reduce calls, the others the same calls on every shard",
          "[sharded][concurrency]") {
  const ra::GradientMatrix<float> g = ra::testing::make_input<float>(Kind::Random, 9, 20, 3);
  ra::Vector<float> out;
  for (const char* spec : {"mean", "median", "trimmed-mean(f=2)", "noisy-sign-vote(b=1)",
                           "bucketing(s=3, then=median)"}) {
    INFO(spec);
    CHECK(ra::is_coordinate_wise(ra::parse_rule(spec)));
    const ShardedRun run = run_sharded(g, ra::parse_rule(spec), 3, out);
    CHECK(run.reduces == 0);
  }
  for (const char* spec : {"krum(f=2)", "geometric-median(iterations=5)", "clip(c=1, then=median)"}) {
    INFO(spec);
    CHECK_FALSE(ra::is_coordinate_wise(ra::parse_rule(spec)));
    const ShardedRun run = run_sharded(g, ra::parse_rule(spec), 3, out);
    CHECK(run.reduces >= 1);
    CHECK(run.consistent);
  }
}

TEST_CASE("sharded: errors are thrown on every shard, before any reduce", "[sharded]") {
  const ra::GradientMatrix<double> g = ra::testing::make_input<double>(Kind::Random, 6, 20, 3);
  ra::Vector<double> out;
  // f too large for n: validate fails on every shard with the rule's message
  const ShardedRun run = run_sharded(g, ra::parse_rule("krum(f=2)"), 3, out);
  for (const std::string& e : run.errors) CHECK(e.find("krum(f=2) needs n >= 2f+3") != std::string::npos);
  CHECK(run.reduces == 0);
  // DETOX after a vote that leaves too few groups: every shard throws the same
  ra::GradientMatrix<double> h = ra::testing::make_input<double>(Kind::Random, 9, 20, 4);
  const ShardedRun run2 = run_sharded(h, ra::parse_rule("detox(r=3, outer=median)"), 3, out);
  for (const std::string& e : run2.errors) {
    CHECK(e.find("after the vote 0 of 3 groups remain") != std::string::npos);
    CHECK(e == run2.errors[0]);
  }
  ra::Workspace ws;
  const ra::ShardReduce reduce = [](double*, Index, ra::ReduceOp) {};
  CHECK_THROWS_WITH(ra::aggregate_sharded(g, ra::parse_rule("median"), 5, 20, out, reduce, ws),
                    Catch::Contains("outside the columns [0, 20)"));
  CHECK_THROWS_WITH(ra::aggregate_sharded(g, ra::AnyRule(Custom{}), 0, 20, out, reduce, ws),
                    Catch::Contains("custom has no sharded form"));
}

TEST_CASE("sharded: shard_range cuts d into near-equal contiguous parts", "[sharded]") {
  for (Index d : {0, 1, 5, 37, 1000})
    for (Index p : {1, 2, 3, 7}) {
      Index next = 0;
      for (Index k = 0; k < p; ++k) {
        const auto r = ra::shard_range(d, p, k);
        CHECK(r.first == next);
        CHECK(r.second - r.first >= d / p);
        CHECK(r.second - r.first <= d / p + 1);
        next = r.second;
      }
      CHECK(next == d);
    }
  CHECK_THROWS(ra::shard_range(10, 2, 2));
}
