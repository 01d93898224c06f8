// robustagg::mpi::all_reduce per step and per rank: sharded mode, server mode
// (gather to rank 0, aggregate, send back) and a plain MPI_Allreduce (sum) of
// the same d floats. Run with mpirun -np P; prints one line per rule and
// mode (rank 0):
//   rule mode p d wall_s agg_cpu_s bytes_sent
// wall_s: the median over --reps steps of the slowest rank's wall time
// (a barrier before each step). agg_cpu_s: the aggregation's CPU time on the
// busiest rank, measured apart from the communication (process CPU time, the library's worker threads included, of
// aggregate_sharded on the rank's received shard with a local reduce for
// sharded; of aggregate on the n x d matrix for the server; 0 for the plain
// sum). bytes_sent: bytes a rank hands MPI to send per step, the largest over
// ranks, counted from the message sizes (for collectives: the data that must
// leave the rank with a ring or pairwise algorithm, not a wire measurement).
#include <mpi.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <robustagg/mpi.hpp>
#include <robustagg/spec.hpp>
#include <robustagg/threads.hpp>

namespace ra = robustagg;
using ra::Index;

namespace {

double process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double max_over_ranks(double x) {
  double m = 0;
  MPI_Allreduce(&x, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, p = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  Index d = 10000000;
  int reps = 5;
  std::vector<std::string> rules = {"median", "geometric-median(iterations=8)"};
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    if (k == "--d") d = Index(std::atoll(argv[a + 1]));
    if (k == "--reps") reps = std::atoi(argv[a + 1]);
    if (k == "--threads") ra::set_num_threads(std::atoi(argv[a + 1]));
    if (k == "--rules") {
      rules.clear();
      std::string s = argv[a + 1];
      for (std::size_t pos = 0; pos <= s.size();) {
        std::size_t e = s.find(';', pos);
        if (e == std::string::npos) e = s.size();
        if (e > pos) rules.push_back(s.substr(pos, e - pos));
        pos = e + 1;
      }
    }
  }
  std::mt19937 rng(unsigned(rank) + 1);
  std::normal_distribution<float> normal;
  ra::Vector<float> grad(d), out(d);
  for (Index j = 0; j < d; ++j) grad[j] = normal(rng);
  ra::Workspace ws;
  const auto mine = ra::shard_range(d, p, rank);
  const Index len = mine.second - mine.first;
  const double value = sizeof(float);
  if (rank == 0) std::printf("rule mode p d wall_s agg_cpu_s bytes_sent\n");

  // plain all-reduce (sum): a ring sends 2 (p-1)/p d values per rank
  {
    std::vector<double> wall;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      MPI_Allreduce(grad.data(), out.data(), int(d), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      wall.push_back(max_over_ranks(MPI_Wtime() - t0));
    }
    if (rank == 0)
      std::printf("sum allreduce %d %ld %.4f %.4f %.0f\n", p, long(d), median(wall), 0.0,
                  2.0 * double(p - 1) / double(p) * double(d) * value);
  }
  for (const std::string& spec : rules) {
    const ra::AnyRule rule = ra::parse_rule(spec);
    for (ra::mpi::Mode mode : {ra::mpi::Mode::sharded, ra::mpi::Mode::server}) {
      std::vector<double> wall;
      for (int r = 0; r < reps; ++r) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        ra::mpi::all_reduce(MPI_COMM_WORLD, grad.data(), d, rule, out.data(), mode, ws);
        wall.push_back(max_over_ranks(MPI_Wtime() - t0));
      }
      // The aggregation alone, timed apart from the communication.
      double cpu = 0.0, stat_values = 0.0;
      if (mode == ra::mpi::Mode::sharded) {
        // a stand-in for the received shard (same size: n x len); the local
        // reduce leaves the partial statistics as they are (same work)
        ra::GradientMatrix<float> shard(p, len);
        for (int i = 0; i < p; ++i)
          for (Index j = 0; j < len; ++j) shard(i, j) = grad[mine.first + j] + float(i);
        ra::Vector<float> piece;
        const ra::ShardReduce local = [&](double*, Index count, ra::ReduceOp) { stat_values += double(count); };
        std::vector<double> c;
        for (int r = 0; r < reps; ++r) {
          stat_values = 0;
          const double c0 = process_cpu();
          ra::aggregate_sharded(shard, rule, mine.first, d, piece, local, ws);
          c.push_back(process_cpu() - c0);
        }
        cpu = max_over_ranks(median(c));
      } else {
        double mine_cpu = 0.0;
        if (rank == 0) {
          ra::GradientMatrix<float> all(p, d);
          for (int i = 0; i < p; ++i) all.row(i) = grad.transpose().array() + float(i);
          std::vector<double> c;
          for (int r = 0; r < reps; ++r) {
            const double c0 = process_cpu();
            ra::aggregate(all, rule, out, ws);
            c.push_back(process_cpu() - c0);
          }
          mine_cpu = median(c);
        }
        cpu = max_over_ranks(mine_cpu);
      }
      // Bytes a rank sends per step.
      double bytes;
      if (mode == ra::mpi::Mode::sharded) {
        // all-to-all: its row but its own shard; all-gather of its shard to
        // p - 1 ranks by a ring: (p-1)/p d; statistics: each round's partials
        // to p - 1 ranks (all-gather); the configuration header
        const double shard_values = double(d) - double(len);
        bytes = shard_values * value + double(p - 1) / double(p) * double(d) * value +
                double(p - 1) * (stat_values * 8.0 + 32.0);
      } else {
        // rank 0 sends the result to p - 1 ranks; a worker sends its row
        bytes = double(p - 1) * double(d) * value + double(p - 1) * 32.0;
      }
      if (rank == 0)
        std::printf("%s %s %d %ld %.4f %.4f %.0f\n", spec.c_str(), ra::mpi::mode_name(mode), p, long(d),
                    median(wall), cpu, bytes);
    }
  }
  MPI_Finalize();
  return 0;
}
