// robustagg::mpi::all_reduce against the single-process aggregate. Run with
// mpirun at any number of ranks n: every rank builds the same n x d matrix
// (fixed seed), holds row `rank` of it, and checks the all-reduced result of
// both modes against aggregate() of the whole matrix, for every catalogue
// rule (parameters scaled to n) on random, tied and NaN/Inf inputs, float and
// double: bitwise for coordinate-wise rules and the server mode (which runs
// aggregate() itself), the same selected rows (bitwise) for selection rules
// on exact-distance inputs, 1e-6 relative otherwise. Then bad configurations:
// every rank must throw the same message. Exit code 0 when every check on
// every rank passed.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <robustagg/mpi.hpp>
#include <robustagg/spec.hpp>

namespace ra = robustagg;
using ra::Index;

namespace {

int rank_ = 0, size_ = 1;
int failures = 0, checks = 0;

void expect(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    if (failures <= 20) std::fprintf(stderr, "rank %d: FAILED: %s\n", rank_, what.c_str());
  }
}

enum class Input { random, tied, nonfinite };

template <class T>
ra::GradientMatrix<T> make(Input kind, Index n, Index d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ra::GradientMatrix<T> g(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j)
      g(i, j) = kind == Input::tied ? T(int(rng() % 5) - 2) : T(normal(rng) * (1.0 + 0.1 * double(i % 4)));
  if (kind == Input::nonfinite && n >= 4) {
    g(1, d - 1) = std::numeric_limits<T>::quiet_NaN();
    g(n - 1, 0) = std::numeric_limits<T>::infinity();
  }
  if (kind == Input::tied && n >= 3) g.row(2) = g.row(0);
  return g;
}

std::string with_f(const char* name, Index f) { return std::string(name) + "(f=" + std::to_string(f) + ")"; }

struct Spec {
  std::string spec;
  int match;  // 0 bitwise, 1 bitwise on exact inputs, 2 close
};

std::vector<Spec> specs_for(Index n) {
  const Index f2 = std::max<Index>(0, (n - 1) / 2 - (n > 4 ? 1 : 0));  // n >= 2f+1
  const Index fk = std::max<Index>(0, (n - 3) / 2);                    // n >= 2f+3
  const Index fb = std::max<Index>(0, (n - 3) / 4);                    // n >= 4f+3
  const Index fs = std::min<Index>(1, f2);                             // subset searches
  std::vector<Spec> s = {
      {"mean", 0}, {"median", 0}, {with_f("trimmed-mean", f2), 0}, {with_f("meamed", f2), 0},
      {"sign-vote", 0}, {"noisy-median(b=0.5, seed=3)", 0}, {"noisy-sign-vote(b=0.5, seed=3)", 0},
      {"bucketing(s=2, seed=1, then=median)", 0},
      {with_f("mda", fs), 1}, {with_f("smea", fs), 1}, {with_f("cge", f2), 1},
      {"monna(f=" + std::to_string(f2) + ", trusted=0)", 1},
      {"nnm(f=" + std::to_string(f2) + ", then=median)", 1},
      {"geometric-median", 2}, {"centered-clipping(tau=1, iterations=3)", 2}, {with_f("caf", f2), 2},
      {"clip(c=1, then=mean)", 2}, {"arc(f=" + std::to_string(f2) + ", then=mean)", 2},
      {"detox(r=1, outer=median)", 0},
  };
  if (n >= 3) {
    s.push_back({with_f("krum", fk), 1});
    s.push_back({"multi-krum(f=" + std::to_string(fk) + ", m=" + std::to_string(std::max<Index>(1, n / 2)) + ")", 1});
  }
  if (n >= 3) s.push_back({with_f("bulyan", fb), 1});
  if (n % 3 == 0) {
    s.push_back({"detox(r=3, outer=median)", 0});
    s.push_back({"detox(r=3, buckets=1, inner=median, outer=mean)", 0});
  }
  return s;
}

template <class T>
bool same(const ra::Vector<T>& a, const ra::Vector<T>& b, int match, bool exact_input) {
  if (a.size() != b.size()) return false;
  if (match == 0 || (match == 1 && exact_input))
    return std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(T)) == 0;
  double scale = 0.0;
  for (Index j = 0; j < b.size(); ++j)
    if (std::isfinite(double(b[j]))) scale = std::max(scale, std::fabs(double(b[j])));
  for (Index j = 0; j < b.size(); ++j) {
    const double x = a[j], y = b[j];
    if (std::isnan(y) ? !std::isnan(x) : std::isinf(y) ? x != y : std::fabs(x - y) > 1e-6 * scale)
      return false;
  }
  return true;
}

template <class T>
void check_rules(Index d) {
  const Index n = size_;
  for (Input kind : {Input::random, Input::tied, Input::nonfinite}) {
    for (const Spec& s : specs_for(n)) {
      if (s.spec.rfind("detox(r=3", 0) == 0 && kind != Input::tied) continue;
      const ra::GradientMatrix<T> g = make<T>(kind, n, d, unsigned(n * 1000 + d + int(kind)));
      const ra::AnyRule rule = ra::parse_rule(s.spec);
      ra::Vector<T> want;
      std::string want_error;
      try {
        want = ra::aggregate(g, rule);
      } catch (const std::exception& e) {
        want_error = e.what();
      }
      const ra::Vector<T> mine = g.row(rank_).transpose();
      for (ra::mpi::Mode mode : {ra::mpi::Mode::sharded, ra::mpi::Mode::server}) {
        const std::string what = s.spec + " " + ra::mpi::mode_name(mode) + " d=" + std::to_string(d) +
                                 " input=" + std::to_string(int(kind)) + (sizeof(T) == 4 ? " float" : " double");
        ra::Vector<T> got;
        std::string error;
        try {
          ra::mpi::all_reduce(MPI_COMM_WORLD, mine, rule, got, mode);
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (!want_error.empty()) {
          expect(!error.empty(), what + ": the single-process aggregate fails, all_reduce did not");
          continue;
        }
        expect(error.empty(), what + ": " + error);
        if (error.empty())
          expect(same(got, want, mode == ra::mpi::Mode::server ? 0 : s.match, kind == Input::tied),
                 what + ": differs from the single-process aggregate");
      }
    }
  }
}

/// Every rank must throw, with the same message containing `needle`.
void check_error(const std::string& name, const std::string& needle, const std::function<void()>& call) {
  std::string error;
  try {
    call();
  } catch (const std::exception& e) {
    error = e.what();
  }
  expect(!error.empty(), name + ": no error");
  expect(error.find(needle) != std::string::npos, name + ": message '" + error + "' lacks '" + needle + "'");
  // the same message on every rank (compared with rank 0's)
  int len = int(error.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string root(std::size_t(len), '\0');
  if (rank_ == 0) root = error;
  MPI_Bcast(&root[0], len, MPI_CHAR, 0, MPI_COMM_WORLD);
  expect(root == error, name + ": rank 0 says '" + root + "', this rank '" + error + "'");
}

void check_errors() {
  const Index n = size_;
  for (ra::mpi::Mode mode : {ra::mpi::Mode::sharded, ra::mpi::Mode::server}) {
    const std::string m = ra::mpi::mode_name(mode);
    // f too large for the world size
    const std::string krum = "krum(f=" + std::to_string(n) + ")";
    check_error("f too large " + m, "needs n >= 2f+3 = " + std::to_string(2 * n + 3) + " gradients, got " + std::to_string(n), [&] {
      ra::Vector<float> g = ra::Vector<float>::Ones(10), out;
      ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule(krum), out, mode);
    });
    if (n >= 2) {
      // different d across ranks
      check_error("different d " + m, "ranks hold gradients of different lengths: rank 0 has d = 10, rank 1 has d = 11", [&] {
        ra::Vector<float> g = ra::Vector<float>::Ones(rank_ == 1 ? 11 : 10), out;
        ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule("median"), out, mode);
      });
      // different rules across ranks
      check_error("different rules " + m, "uses another rule than rank 0", [&] {
        ra::Vector<double> g = ra::Vector<double>::Ones(10), out;
        ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule(rank_ == n - 1 ? "mean" : "median"), out, mode);
      });
    }
  }
  if (n % 3 == 0) {
    // an error after the exchange (DETOX's vote drops every group): every rank throws it
    for (ra::mpi::Mode mode : {ra::mpi::Mode::sharded, ra::mpi::Mode::server})
      check_error(std::string("after the vote ") + ra::mpi::mode_name(mode), "after the vote 0 of", [&] {
        ra::Vector<double> g = ra::Vector<double>::Constant(10, double(rank_)), out;
        ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule("detox(r=3, outer=median)"), out, mode);
      });
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (argc > 1 && std::string(argv[1]) == "--die") {
    // A rank that dies before the collective: the others must not hang (mpirun
    // ends the job; CTest expects a failure, and its timeout catches a hang).
    ra::Vector<float> g = ra::Vector<float>::Ones(1000), out;
    if (rank_ == 1) std::_Exit(3);
    ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule("median"), out, ra::mpi::Mode::sharded);
    ra::mpi::all_reduce(MPI_COMM_WORLD, g, ra::parse_rule("median"), out, ra::mpi::Mode::server);
    std::printf("the collective returned without rank 1\n");
    MPI_Finalize();
    return 0;
  }
  for (Index d : {1, 7, 1000}) {
    check_rules<float>(d);
    check_rules<double>(d);
  }
  check_errors();
  int total = 0, all_checks = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&checks, &all_checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank_ == 0)
    std::printf("%d ranks: %d checks, %d failed\n", size_, all_checks, total);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
