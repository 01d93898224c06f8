// robustagg-mpi-ps: data-parallel training over MPI with robustagg.
//
// --mode sharded (the default) or server: the p workers (ranks 1..p) each hold
// a replica of the model and replace their gradient by the robust aggregate of
// all p gradients with robustagg::mpi::all_reduce on the workers' communicator
// (sharded: every worker aggregates d/p coordinates; server: worker 1 gathers,
// aggregates and sends the result back point to point), then take the SGD step
// themselves. Rank 0 evaluates: worker 1 sends it the parameters at each
// progress line and at the end.
//
// --mode gather: the hand-written parameter server this example was first
// written as. Rank 0 is the parameter server; ranks 1..p are workers. Every step each
// worker computes the gradient of the demo's MLP (64-32-10, examples/demo/) on a
// mini-batch of the digits data; the server gathers the p gradients straight into one p x d
// row-major buffer (MPI_Gatherv, the server contributes nothing), aggregates
// them with the chosen rule through an Eigen::Map over that buffer (no copy),
// takes an SGD step and broadcasts the new parameters (MPI_Bcast).
//
// Workers of one DETOX group (r consecutive workers) compute on the same batch:
// the batch is drawn from a seed derived from (seed, group, step). Byzantine
// workers (q of them, chosen from the seed) send an attack from
// robustagg/attacks.hpp instead of their gradient; see docs/distributed.md for
// the threat model.
//
// Every rank parses the same arguments and validates them identically before
// any collective call, so a bad configuration fails on every rank with one
// message (printed by rank 0) and a non-zero exit, never a hang.
#include <mpi.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <limits>
#include <numeric>
#include <robustagg/attacks.hpp>
#include <robustagg/detox.hpp>
#include <robustagg/mpi.hpp>
#include <robustagg/robustagg.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "demo/digits.hpp"
#include "demo/mlp.hpp"
#include "demo/workers.hpp"

#ifndef ROBUSTAGG_DIGITS_CSV
#define ROBUSTAGG_DIGITS_CSV "examples/data/digits.csv.gz"
#endif

namespace {

using robustagg::Index;
using Matrix = robustagg::GradientMatrix<float>;

constexpr const char* kUsage =
    "usage: mpirun -np P+1 robustagg-mpi-ps [options]\n"
    "Trains a 64-32-10 MLP on the digits data: rank 0 is the parameter server, ranks 1..P\n"
    "are workers; the server aggregates the P gradients with a robustagg rule.\n"
    "\n"
    "options:\n"
    "  --mode MODE        sharded (default) or server: robustagg::mpi::all_reduce among\n"
    "                     the workers (rank 0 evaluates); gather: rank 0 gathers the\n"
    "                     gradients (MPI_Gatherv), aggregates and broadcasts\n"
    "  --rule SPEC        aggregation rule spec (default: mean), e.g. median,\n"
    "                     'multi-krum(f=3)', 'detox(r=3, outer=median)'\n"
    "  --byzantine Q      number of Byzantine workers (default 0), 0 <= Q <= P\n"
    "  --attack SPEC      what Byzantine workers send (default: none = honest): alie,\n"
    "                     alie(z=1), ipm, ipm(eps=0.5), reverse(c=100), constant(c=100),\n"
    "                     gaussian(sigma=100), nan, inf (robustagg/attacks.hpp)\n"
    "  --placement KIND   which workers are Byzantine: worst (default: as the demo, fill\n"
    "                     DETOX groups with majorities first, the worst case for DETOX;\n"
    "                     workers 1..Q for other rules) or random (drawn from the seed)\n"
    "  --omniscient       apply the attack on the server from all honest gradients (a\n"
    "                     simulation of an all-knowing adversary); by default the\n"
    "                     Byzantine workers collude and use their own honest gradients\n"
    "  --steps N          training steps (default 300)\n"
    "  --batch B          mini-batch size per worker (default 32)\n"
    "  --lr LR            learning rate (default 0.2, or 0.002 for sign-vote rules)\n"
    "  --seed S           seed of the data split, initialisation, batches, random\n"
    "                     placement and attack noise (default 1)\n"
    "  --data FILE        digits CSV (.csv or .csv.gz; default: the source tree's\n"
    "                     examples/data/digits.csv.gz)\n"
    "  --threads T        threads the server's aggregation may use (default 0: the\n"
    "                     library's default, the hardware concurrency; inputs below\n"
    "                     ~2^18 values run on one thread anyway)\n"
    "  --log-every K      progress line on stderr every K steps (default 50; 0: none)\n"
    "  --help             this text\n"
    "\n"
    "Progress and a timing summary go to stderr; the last line of stdout is\n"
    "'final test accuracy: X'.\n";

struct Options {
  std::string mode = "sharded";
  std::string rule = "mean";
  int byzantine = 0;
  std::string attack = "none";
  std::string placement = "worst";
  bool omniscient = false;
  int steps = 300;
  int batch = 32;
  double lr = 0;  // 0: the rule's default
  std::uint64_t seed = 1;
  std::string data = ROBUSTAGG_DIGITS_CSV;
  int log_every = 50;
  int threads = 0;
  bool help = false;
};

[[noreturn]] void bad(const std::string& what) { throw robustagg::Error(what); }

long long parse_integer(const std::string& flag, const std::string& text, long long lo,
                        long long hi) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || x < lo || x > hi)
    bad(flag + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
        "], got '" + text + "'");
  return x;
}

double parse_real(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x) || x <= 0)
    bad(flag + " needs a positive number, got '" + text + "'");
  return x;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--mode") {
      o.mode = value();
      if (o.mode != "sharded" && o.mode != "server" && o.mode != "gather")
        bad("--mode must be sharded, server or gather, got '" + o.mode + "'");
    } else if (a == "--rule") {
      o.rule = value();
    } else if (a == "--byzantine") {
      o.byzantine = int(parse_integer(a, value(), 0, 1 << 20));
    } else if (a == "--attack") {
      o.attack = value();
    } else if (a == "--placement") {
      o.placement = value();
      if (o.placement != "worst" && o.placement != "random")
        bad("--placement must be worst or random, got '" + o.placement + "'");
    } else if (a == "--omniscient") {
      o.omniscient = true;
    } else if (a == "--steps") {
      o.steps = int(parse_integer(a, value(), 1, 10000000));
    } else if (a == "--batch") {
      o.batch = int(parse_integer(a, value(), 1, 1 << 20));
    } else if (a == "--lr") {
      o.lr = parse_real(a, value());
    } else if (a == "--seed") {
      o.seed = std::uint64_t(parse_integer(a, value(), 0, (1LL << 62)));
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--threads") {
      o.threads = int(parse_integer(a, value(), 0, robustagg::kMaxThreads));
    } else if (a == "--log-every") {
      o.log_every = int(parse_integer(a, value(), 0, 1 << 30));
    } else {
      bad("unknown argument '" + a + "' (see --help)");
    }
  }
  return o;
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return robustagg::detail::mix64(robustagg::detail::mix64(a) ^ b);
}

/// The Byzantine workers (a flag per 0-based worker), the same on every rank.
std::vector<char> choose_byzantine(const Options& o, int p, int r) {
  std::vector<char> byz(static_cast<std::size_t>(p), 0);
  if (o.placement == "worst") {
    for (Index i : demo::byzantine_workers(p, o.byzantine, r)) byz[std::size_t(i)] = 1;
    return byz;
  }
  std::vector<int> order(static_cast<std::size_t>(p));
  std::iota(order.begin(), order.end(), 0);
  std::uint64_t state = mix(o.seed, 0xb42a);
  for (int i = p - 1; i > 0; --i) {  // Fisher-Yates with a portable draw
    state = robustagg::detail::mix64(state);
    std::swap(order[std::size_t(i)], order[std::size_t(state % std::uint64_t(i + 1))]);
  }
  for (int i = 0; i < o.byzantine; ++i) byz[std::size_t(order[std::size_t(i)])] = 1;
  return byz;
}

struct Data {
  demo::Dataset train, test;
};

/// True for rules whose output is a vector of signs (signSGD: a smaller step).
bool returns_signs(const robustagg::AnyRule& rule) {
  if (rule.target<robustagg::SignVote>() || rule.target<robustagg::NoisySignVote>()) return true;
  if (const auto* detox = rule.target<robustagg::Detox>()) return returns_signs(detox->outer);
  return false;
}

/// Everything every rank derives from the arguments, identically.
struct Setup {
  Options opt;
  robustagg::AnyRule rule;
  int p = 0;    // workers
  int r = 1;    // DETOX group size (1 for other rules)
  Index d = 0;  // parameters
  std::vector<char> byzantine;
  robustagg::attacks::Attack attack;  // with ALIE's z fixed from (p, q)
};

Setup validate(int argc, char** argv, int world) {
  Setup s;
  s.opt = parse_args(argc, argv);
  if (s.opt.help) return s;
  s.p = world - 1;
  if (s.p < 1)
    bad("needs at least 2 MPI ranks (rank 0 is the server, ranks 1..P the workers), got " +
        std::to_string(world));
  s.rule = robustagg::parse_rule(s.opt.rule);
  if (const auto* detox = s.rule.target<robustagg::Detox>()) s.r = detox->r;
  s.d = demo::Mlp::kParams;
  if (Index(s.p) * s.d > Index(std::numeric_limits<int>::max()))  // MPI counts are int
    bad("p * d = " + std::to_string(Index(s.p) * s.d) + " values do not fit one MPI_Gatherv");
  if (s.opt.lr == 0) s.opt.lr = returns_signs(s.rule) ? 0.002 : 0.2;
  if (s.opt.byzantine > s.p)
    bad("--byzantine " + std::to_string(s.opt.byzantine) + " is more than the " +
        std::to_string(s.p) + " workers");
  s.attack = robustagg::attacks::parse_attack(s.opt.attack);
  const int q = s.opt.byzantine;
  if (q > 0 && s.attack.spec() == "alie") {
    // The paper's z for the whole system (p workers, q Byzantine), also when
    // the colluders estimate the moments from their own q gradients.
    try {
      s.attack = robustagg::attacks::parse_attack(
          "alie(z=" + robustagg::attacks::internal::number(robustagg::attacks::alie_z(s.p, q)) + ")");
    } catch (const robustagg::Error& e) {
      bad(std::string("--attack alie: ") + e.what());
    }
  }
  if (s.opt.omniscient && q == s.p && (s.attack.name() == "alie" || s.attack.name() == "ipm"))
    bad("--omniscient " + s.attack.spec() + " needs at least one honest worker, got --byzantine " +
        std::to_string(q) + " of " + std::to_string(s.p));
  // The rule's own check: e.g. "detox(r=3) needs a multiple of r = 3 gradients, got 14".
  try {
    s.rule.validate(s.p, s.d);
  } catch (const robustagg::Error& e) {
    bad(std::string(e.what()) + " (" + std::to_string(s.p) + " workers = " + std::to_string(world) +
        " MPI ranks - 1 server)");
  }
  s.byzantine = choose_byzantine(s.opt, s.p, s.r);
  return s;
}

struct Timers {
  double compute = 0, gather = 0, attack = 0, aggregate = 0, update = 0, bcast = 0, eval = 0;
};

int run_server(const Setup& s, const Data& data, MPI_Comm world);
int run_worker(const Setup& s, const Data& data, int worker, MPI_Comm world, MPI_Comm byz_comm);
int run_evaluator(const Setup& s, const Data& data, MPI_Comm world);
int run_replica(const Setup& s, const Data& data, int worker, MPI_Comm world, MPI_Comm workers,
                MPI_Comm byz_comm);

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);

  // 1. Arguments, rule and configuration: the same on every rank, no communication.
  Setup s;
  try {
    s = validate(argc, argv, world);
  } catch (const std::exception& e) {
    if (rank == 0) std::cerr << "robustagg-mpi-ps: error: " << e.what() << "\n";
    MPI_Finalize();
    return 2;
  }
  if (s.opt.help) {
    if (rank == 0) std::cout << kUsage;
    MPI_Finalize();
    return 0;
  }

  // 2. Data: read on every rank (1797 small images). A rank that cannot read
  // it must not leave the others waiting: agree on success first.
  Data data;
  std::string load_error;
  try {
    // The demo's split: 20% test, shuffled by the seed.
    demo::split(demo::load_digits(s.opt.data), 0.2, s.opt.seed, data.train, data.test);
  } catch (const std::exception& e) {
    load_error = e.what();
  }
  int first_failed = load_error.empty() ? world : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first_failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first_failed < world) {
    if (rank == first_failed)
      std::cerr << "robustagg-mpi-ps: error (rank " << rank << "): " << load_error << "\n";
    MPI_Finalize();
    return 2;
  }

  // The Byzantine workers' own communicator (for colluding attacks).
  const bool is_byz = rank > 0 && s.byzantine[rank - 1];
  MPI_Comm byz_comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, is_byz ? 1 : MPI_UNDEFINED, rank, &byz_comm);

  int status = 0;
  if (s.opt.mode == "gather") {
    if (rank == 0)
      status = run_server(s, data, MPI_COMM_WORLD);
    else
      status = run_worker(s, data, rank - 1, MPI_COMM_WORLD, byz_comm);
  } else {
    // The workers' communicator: robustagg::mpi::all_reduce runs among them.
    MPI_Comm workers = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, rank > 0 ? 1 : MPI_UNDEFINED, rank, &workers);
    if (rank == 0)
      status = run_evaluator(s, data, MPI_COMM_WORLD);
    else
      status = run_replica(s, data, rank - 1, MPI_COMM_WORLD, workers, byz_comm);
    if (workers != MPI_COMM_NULL) MPI_Comm_free(&workers);
  }

  if (byz_comm != MPI_COMM_NULL) MPI_Comm_free(&byz_comm);
  MPI_Finalize();
  return status;
}

namespace {

// The broadcast carries the d parameters and one status word after them:
// 0 = continue, 1 = the server failed (the workers stop), so a run-time error
// on the server (e.g. DETOX dropped so many groups that the outer rule has
// too few votes) ends every rank cleanly instead of leaving workers waiting.
constexpr float kContinue = 0.0f;
constexpr float kStop = 1.0f;

int run_worker(const Setup& s, const Data& data, int worker, MPI_Comm world, MPI_Comm byz_comm) {
  const Index d = s.d;
  std::vector<float> params(std::size_t(d) + 1);
  std::vector<float> grad(static_cast<std::size_t>(d));
  MPI_Bcast(params.data(), int(d + 1), MPI_FLOAT, 0, world);
  const bool byz = s.byzantine[worker] != 0;
  const bool collude =
      byz && !s.opt.omniscient && s.attack.name() != "none";
  int q = 0, byz_rank = 0;
  // The colluders' matrix: rows 0..q-1 their honest gradients (the honest
  // rows the attack reads), rows q..2q-1 the attack (the Byzantine rows).
  Matrix pool;
  std::vector<Index> attack_rows;
  if (collude) {
    MPI_Comm_size(byz_comm, &q);
    MPI_Comm_rank(byz_comm, &byz_rank);
    pool.resize(2 * q, d);
    for (int i = 0; i < q; ++i) attack_rows.push_back(q + i);
  }
  demo::Mlp::Scratch scratch;
  std::vector<int> batch(static_cast<std::size_t>(s.opt.batch));
  const int group = worker / s.r;  // DETOX: the group's workers share the batch
  Timers t;
  for (int step = 0; step < s.opt.steps; ++step) {
    double t0 = MPI_Wtime();
    demo::sample_batch(data.train.size(), s.opt.batch, s.opt.seed, std::uint64_t(step),
                       std::uint64_t(group), batch.data());
    demo::Mlp::gradient(params.data(), data.train, batch.data(), s.opt.batch, grad.data(), scratch);
    if (collude) {
      // The colluders pool their honest gradients (their own view of the
      // honest distribution) and each sends its row of the attack.
      const double c0 = MPI_Wtime();
      MPI_Allgather(grad.data(), int(d), MPI_FLOAT, pool.data(), int(d), MPI_FLOAT, byz_comm);
      t0 += MPI_Wtime() - c0;                // communication, not compute
      pool.bottomRows(q) = pool.topRows(q);  // reverse negates its own gradient
      try {
        s.attack.apply(pool, attack_rows, std::uint64_t(step));
      } catch (const std::exception& e) {  // not expected after validate()
        std::cerr << "robustagg-mpi-ps: error (rank " << worker + 1 << "): " << e.what() << "\n";
        MPI_Abort(MPI_COMM_WORLD, 4);
      }
      std::copy_n(pool.row(q + byz_rank).data(), d, grad.data());
    }
    t.compute += MPI_Wtime() - t0;
    MPI_Gatherv(grad.data(), int(d), MPI_FLOAT, nullptr, nullptr, nullptr, MPI_FLOAT, 0, world);
    MPI_Bcast(params.data(), int(d + 1), MPI_FLOAT, 0, world);
    if (params[d] != kContinue) return 3;
  }
  double c = t.compute;
  MPI_Reduce(&c, nullptr, 1, MPI_DOUBLE, MPI_MAX, 0, world);
  MPI_Reduce(&c, nullptr, 1, MPI_DOUBLE, MPI_SUM, 0, world);
  return 0;
}

int run_server(const Setup& s, const Data& data, MPI_Comm world) {
  const int p = s.p;
  const Index d = s.d;
  const int world_size = p + 1;

  // Parameters + status word, broadcast every step.
  std::vector<float> params(std::size_t(d) + 1, 0.0f);
  demo::Mlp::init(params.data(), s.opt.seed);
  params[d] = kContinue;
  MPI_Bcast(params.data(), int(d + 1), MPI_FLOAT, 0, world);

  // The p x d receive buffer: row i is worker i (rank i + 1).
  Matrix grads(p, d);
  std::vector<int> counts(world_size, int(d)), displs(world_size, 0);
  counts[0] = 0;
  for (int i = 1; i < world_size; ++i) displs[i] = (i - 1) * int(d);
  const Eigen::Map<const Matrix> view(grads.data(), p, d);

  std::vector<Index> byz_rows;
  for (int i = 0; i < p; ++i)
    if (s.byzantine[i]) byz_rows.push_back(i);
  robustagg::set_num_threads(s.opt.threads);
  robustagg::Aggregator<> aggregator(s.rule);
  const auto* noisy_median = s.rule.target<robustagg::NoisyMedian>();
  const auto* noisy_sign = s.rule.target<robustagg::NoisySignVote>();
  robustagg::Vector<float> agg(d);
  demo::Mlp::Scratch scratch;  // for the test accuracy
  Timers t;
  std::string failure;

  std::cerr << "robustagg-mpi-ps: " << p << " workers, rule " << s.rule.spec() << ", "
            << s.opt.byzantine << " Byzantine (" << s.attack.spec()
            << (s.opt.omniscient ? ", omniscient" : "") << ", " << s.opt.placement << "), d = " << d
            << ", " << s.opt.steps << " steps\n";
  const double start = MPI_Wtime();
  for (int step = 0; step < s.opt.steps; ++step) {
    double t0 = MPI_Wtime();
    MPI_Gatherv(nullptr, 0, MPI_FLOAT, grads.data(), counts.data(), displs.data(), MPI_FLOAT, 0,
                world);
    double t1 = MPI_Wtime();
    t.gather += t1 - t0;
    try {
      if (s.opt.omniscient) {  // the simulated adversary edits rows of the buffer in place
        s.attack.apply(grads, byz_rows, std::uint64_t(step));
        const double a = MPI_Wtime();
        t.attack += a - t1;  // part of the simulation, not of the aggregation
        t1 = a;
      }
      // The noisy rules draw fresh noise every step (as the demo does): the
      // spec's seed re-keyed by the step. Every other rule runs as given.
      if (noisy_median)
        robustagg::aggregate(
            view, robustagg::NoisyMedian{noisy_median->b, noisy_median->seed + std::uint64_t(step)},
            agg, aggregator.workspace());
      else if (noisy_sign)
        robustagg::aggregate(
            view, robustagg::NoisySignVote{noisy_sign->b, noisy_sign->seed + std::uint64_t(step)},
            agg, aggregator.workspace());
      else
        aggregator(view, agg);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    double t2 = MPI_Wtime();
    t.aggregate += t2 - t1;
    if (failure.empty()) {
      Eigen::Map<Eigen::VectorXf> w(params.data(), d);
      w.noalias() -= float(s.opt.lr) * agg;
    } else {
      params[d] = kStop;
    }
    double t3 = MPI_Wtime();
    t.update += t3 - t2;
    MPI_Bcast(params.data(), int(d + 1), MPI_FLOAT, 0, world);
    t.bcast += MPI_Wtime() - t3;
    if (!failure.empty()) {
      std::cerr << "robustagg-mpi-ps: error at step " << step << ": " << failure << "\n";
      return 3;
    }
    if (s.opt.log_every > 0 && ((step + 1) % s.opt.log_every == 0 || step + 1 == s.opt.steps)) {
      const double e0 = MPI_Wtime();
      const double acc = demo::Mlp::accuracy(params.data(), data.test, scratch);
      t.eval += MPI_Wtime() - e0;
      std::fprintf(stderr, "step %d/%d  test accuracy %.4f  (%.1f s)\n", step + 1, s.opt.steps, acc,
                   MPI_Wtime() - start);
    }
  }
  const double total = MPI_Wtime() - start - t.eval - t.attack;  // the server's own work
  double zero = 0, compute_max = 0, compute_sum = 0;
  MPI_Reduce(&zero, &compute_max, 1, MPI_DOUBLE, MPI_MAX, 0, world);
  MPI_Reduce(&zero, &compute_sum, 1, MPI_DOUBLE, MPI_SUM, 0, world);

  // Per step, in milliseconds. The server's gather wait includes the workers'
  // compute; communication is what remains of the step after the slowest
  // worker's compute, the aggregation and the update.
  const double n = s.opt.steps, ms = 1e3 / n;
  const double step_ms = total * ms;
  const double compute_ms = compute_max * ms;
  const double agg_ms = t.aggregate * ms;
  const double update_ms = t.update * ms;
  const double comm_ms = std::max(0.0, step_ms - compute_ms - agg_ms - update_ms);
  std::fprintf(stderr,
               "timing: rule=%s p=%d d=%lld steps=%d ms/step: total %.3f compute %.3f (worker "
               "mean %.3f) communication %.3f aggregation %.3f update %.3f | server gather-wait "
               "%.3f bcast %.3f | gather %lld bytes/step, bcast %lld bytes/step\n",
               s.rule.spec().c_str(), p, static_cast<long long>(d), s.opt.steps, step_ms,
               compute_ms, compute_sum / p * ms, comm_ms, agg_ms, update_ms, t.gather * ms,
               t.bcast * ms, static_cast<long long>(p) * d * 4, static_cast<long long>(d + 1) * 4);

  const double acc = demo::Mlp::accuracy(params.data(), data.test, scratch);
  std::printf("final test accuracy: %.4f\n", acc);
  std::fflush(stdout);
  return 0;
}

// --- --mode sharded / server: robustagg::mpi::all_reduce among the workers ---

constexpr int kReportTag = 0x7101;

/// True when step (0-based) ends with a progress line (and at the last step).
bool reports(const Setup& s, int step) {
  return step + 1 == s.opt.steps || (s.opt.log_every > 0 && (step + 1) % s.opt.log_every == 0);
}

/// A worker with its own replica: gradient, attack, all_reduce, local step.
/// Worker 0 sends rank 0 the parameters (+ a status word) at every report
/// step, or the stop status when the aggregation fails (then every worker
/// fails alike: all_reduce throws the same error on every rank).
int run_replica(const Setup& s, const Data& data, int worker, MPI_Comm world, MPI_Comm workers,
                MPI_Comm byz_comm) {
  const int p = s.p;
  const Index d = s.d;
  const robustagg::mpi::Mode mode =
      s.opt.mode == "server" ? robustagg::mpi::Mode::server : robustagg::mpi::Mode::sharded;
  std::vector<float> params(std::size_t(d) + 1, 0.0f);
  demo::Mlp::init(params.data(), s.opt.seed);  // the same start on every replica
  params[d] = kContinue;
  std::vector<float> grad(static_cast<std::size_t>(d)), agg(static_cast<std::size_t>(d));
  const bool byz = s.byzantine[worker] != 0;
  const bool collude = byz && !s.opt.omniscient && s.attack.name() != "none";
  int q = 0, byz_rank = 0;
  Matrix pool;  // colluders: rows 0..q-1 their gradients, q..2q-1 the attack
  std::vector<Index> attack_rows, byz_rows;
  if (collude) {
    MPI_Comm_size(byz_comm, &q);
    MPI_Comm_rank(byz_comm, &byz_rank);
    pool.resize(2 * q, d);
    for (int i = 0; i < q; ++i) attack_rows.push_back(q + i);
  }
  Matrix all;  // --omniscient: every worker's gradient (a simulation of the adversary)
  if (s.opt.omniscient && s.attack.name() != "none") {
    all.resize(p, d);
    for (int i = 0; i < p; ++i)
      if (s.byzantine[i]) byz_rows.push_back(i);
  }
  robustagg::set_num_threads(s.opt.threads);
  const auto* noisy_median = s.rule.target<robustagg::NoisyMedian>();
  const auto* noisy_sign = s.rule.target<robustagg::NoisySignVote>();
  robustagg::Workspace ws;
  demo::Mlp::Scratch scratch;
  std::vector<int> batch(static_cast<std::size_t>(s.opt.batch));
  const int group = worker / s.r;
  double t_compute = 0, t_reduce = 0;
  for (int step = 0; step < s.opt.steps; ++step) {
    double t0 = MPI_Wtime();
    demo::sample_batch(data.train.size(), s.opt.batch, s.opt.seed, std::uint64_t(step),
                       std::uint64_t(group), batch.data());
    demo::Mlp::gradient(params.data(), data.train, batch.data(), s.opt.batch, grad.data(), scratch);
    if (collude) {
      MPI_Allgather(grad.data(), int(d), MPI_FLOAT, pool.data(), int(d), MPI_FLOAT, byz_comm);
      pool.bottomRows(q) = pool.topRows(q);
      s.attack.apply(pool, attack_rows, std::uint64_t(step));
      std::copy_n(pool.row(q + byz_rank).data(), d, grad.data());
    } else if (!byz_rows.empty()) {
      MPI_Allgather(grad.data(), int(d), MPI_FLOAT, all.data(), int(d), MPI_FLOAT, workers);
      s.attack.apply(all, byz_rows, std::uint64_t(step));
      std::copy_n(all.row(worker).data(), d, grad.data());
    }
    const double t1 = MPI_Wtime();
    t_compute += t1 - t0;
    // The noisy rules draw fresh noise every step: the spec's seed re-keyed by the step.
    robustagg::AnyRule rule = s.rule;
    if (noisy_median)
      rule = robustagg::NoisyMedian{noisy_median->b, noisy_median->seed + std::uint64_t(step)};
    else if (noisy_sign)
      rule = robustagg::NoisySignVote{noisy_sign->b, noisy_sign->seed + std::uint64_t(step)};
    try {
      robustagg::mpi::all_reduce(workers, grad.data(), d, rule, agg.data(), mode, ws);
    } catch (const std::exception& e) {
      if (worker == 0) {
        std::cerr << "robustagg-mpi-ps: error at step " << step << ": " << e.what() << "\n";
        params[d] = kStop;
        MPI_Send(params.data(), int(d + 1), MPI_FLOAT, 0, kReportTag, world);
      }
      return 3;
    }
    t_reduce += MPI_Wtime() - t1;
    for (Index j = 0; j < d; ++j) params[std::size_t(j)] -= float(s.opt.lr) * agg[std::size_t(j)];
    if (worker == 0 && reports(s, step))
      MPI_Send(params.data(), int(d + 1), MPI_FLOAT, 0, kReportTag, world);
  }
  if (worker == 0) {
    const double ms = 1e3 / s.opt.steps;
    std::fprintf(stderr,
                 "timing: mode=%s rule=%s p=%d d=%lld steps=%d ms/step (worker 0): compute %.3f "
                 "all_reduce %.3f\n",
                 s.opt.mode.c_str(), s.rule.spec().c_str(), p, static_cast<long long>(d),
                 s.opt.steps, t_compute * ms, t_reduce * ms);
  }
  return 0;
}

/// Rank 0 in the all_reduce modes: prints the test accuracy of worker 0's
/// parameters at each report step and at the end.
int run_evaluator(const Setup& s, const Data& data, MPI_Comm world) {
  const Index d = s.d;
  std::vector<float> params(std::size_t(d) + 1);
  demo::Mlp::Scratch scratch;
  std::cerr << "robustagg-mpi-ps: " << s.p << " workers, mode " << s.opt.mode << ", rule "
            << s.rule.spec() << ", " << s.opt.byzantine << " Byzantine (" << s.attack.spec()
            << (s.opt.omniscient ? ", omniscient" : "") << ", " << s.opt.placement << "), d = " << d
            << ", " << s.opt.steps << " steps\n";
  const double start = MPI_Wtime();
  double acc = 0;
  for (int step = 0; step < s.opt.steps; ++step) {
    if (!reports(s, step)) continue;
    MPI_Recv(params.data(), int(d + 1), MPI_FLOAT, 1, kReportTag, world, MPI_STATUS_IGNORE);
    if (params[std::size_t(d)] != kContinue) return 3;  // worker 0 printed the error
    acc = demo::Mlp::accuracy(params.data(), data.test, scratch);
    if (s.opt.log_every > 0)
      std::fprintf(stderr, "step %d/%d  test accuracy %.4f  (%.1f s)\n", step + 1, s.opt.steps, acc,
                   MPI_Wtime() - start);
  }
  std::printf("final test accuracy: %.4f\n", acc);
  std::fflush(stdout);
  return 0;
}

}  // namespace
