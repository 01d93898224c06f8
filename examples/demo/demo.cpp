// robustagg-demo: trains a 64-32-10 MLP on the handwritten digits with p
// simulated workers, aggregating their gradients through robustagg each step,
// and reproduces the effects of two papers:
//   detox          DETOX (Rajput et al., NeurIPS 2019): p = 15 workers, q = 3
//                  Byzantine, iid data, attacks none/alie/ipm/reverse/constant,
//                  plain robust rules vs their DETOX forms (r = 3); plus the
//                  aggregation time at p = 45 (the paper's speed claim).
//   heterogeneous  noisy median / noisy sign (Chen et al., NeurIPS 2020): 11
//                  workers holding two classes each, full local gradients;
//                  median and sign vote vs their noisy forms over a sweep of b.
// See docs/experiments.md for the results and how they compare to the papers.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <robustagg/robustagg.hpp>

#include "digits.hpp"
#include "mlp.hpp"
#include "workers.hpp"

#ifndef ROBUSTAGG_DIGITS_PATH
#define ROBUSTAGG_DIGITS_PATH "examples/data/digits.csv.gz"
#endif

namespace {

using robustagg::AnyRule;
using robustagg::Index;
using robustagg::attacks::Attack;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string experiment = "all";
  bool quick = false;
  std::string csv;
  std::uint64_t seed = 1;
  int steps = 0;  // > 0: override the training steps of every run (smoke tests)
  std::string data = ROBUSTAGG_DIGITS_PATH;
};

struct Result {
  std::string experiment, attack, rule;
  double accuracy = 0.0;
  double ms = 0.0;
};

/// One training run's setting.
struct RunSetup {
  int workers = 15;
  int groups_of = 1;              // r: workers k*r .. k*r+r-1 share a batch
  int batch = 32;                 // per batch stream; 0 = full local shard
  int steps = 300;
  double lr = 0.1;                // step for rules returning a gradient
  double sign_lr = 0.002;         // step for sign-vote rules (signSGD)
  std::vector<Index> byzantine;   // worker ids
  Attack attack;
  const std::vector<std::vector<int>>* shards = nullptr;  // heterogeneous
};

bool is_sign_rule(const AnyRule& r) {
  return r.target<robustagg::SignVote>() || r.target<robustagg::NoisySignVote>();
}

/// Trains from the same initial parameters with `rule`; returns the test
/// accuracy and the mean time of one aggregation in ms.
Result train(const RunSetup& run, const AnyRule& rule, const demo::Dataset& train_set,
             const demo::Dataset& test_set, std::uint64_t seed) {
  using demo::Mlp;
  std::vector<float> params(Mlp::kParams);
  Mlp::init(params.data(), seed);
  const int p = run.workers;
  const int streams = run.shards ? p : p / run.groups_of;
  std::vector<int> stream_of(static_cast<std::size_t>(p));
  for (int i = 0; i < p; ++i) stream_of[std::size_t(i)] = run.shards ? i : i / run.groups_of;
  std::vector<std::vector<int>> batches(static_cast<std::size_t>(streams));
  if (run.shards)
    batches = *run.shards;
  else
    for (auto& b : batches) b.resize(std::size_t(run.batch));

  robustagg::GradientMatrix<float> G(p, Mlp::kParams);
  robustagg::Vector<float> out(Mlp::kParams);
  robustagg::Workspace ws;
  Mlp::Scratch scratch;
  const bool sign = is_sign_rule(rule);
  const auto* noisy_median = rule.target<robustagg::NoisyMedian>();
  const auto* noisy_sign = rule.target<robustagg::NoisySignVote>();
  double seconds = 0.0;
  int steps_run = 0;
  for (int step = 0; step < run.steps; ++step) {
    if (!run.shards)
      for (int s = 0; s < streams; ++s)
        demo::sample_batch(train_set.size(), run.batch, seed, std::uint64_t(step), std::uint64_t(s),
                           batches[std::size_t(s)].data());
    demo::worker_gradients(params.data(), train_set, batches, stream_of, G, scratch);
    run.attack.apply(G, run.byzantine, std::uint64_t(step));
    // A rule that cannot aggregate (DETOX once every group's replicas are
    // NaN, after the model diverged) ends the run: its accuracy is the
    // diverged model's.
    try {
    const auto t0 = Clock::now();
    // The noisy rules draw fresh noise each step: the spec's seed, re-keyed
    // by the step (a fixed key would give each worker a constant offset).
    if (noisy_median)
      robustagg::aggregate(G, robustagg::NoisyMedian{noisy_median->b, noisy_median->seed + std::uint64_t(step)},
                           out, ws);
    else if (noisy_sign)
      robustagg::aggregate(G, robustagg::NoisySignVote{noisy_sign->b, noisy_sign->seed + std::uint64_t(step)},
                           out, ws);
    else
      robustagg::aggregate(G, rule, out, ws);
    seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    } catch (const robustagg::Error& e) {
      std::fprintf(stderr, "\n  %s under %s stopped at step %d: %s\n", rule.spec().c_str(),
                   run.attack.spec().c_str(), step, e.what());
      steps_run = step;
      break;
    }
    steps_run = step + 1;
    const float lr = float(sign ? run.sign_lr : run.lr);
    for (Index j = 0; j < Mlp::kParams; ++j) params[std::size_t(j)] -= lr * out[j];
  }
  Result r;
  r.rule = rule.spec();
  r.attack = run.attack.spec();
  r.accuracy = Mlp::accuracy(params.data(), test_set, scratch);
  r.ms = 1e3 * seconds / double(std::max(steps_run, 1));
  return r;
}

/// "\r[detox] 12/50 alie detox(...)" on stderr.
void progress(const std::string& experiment, int done, int total, const std::string& what) {
  std::string w = what.size() > 60 ? what.substr(0, 57) + "..." : what;
  std::fprintf(stderr, "\r[%s] %d/%d %-70s", experiment.c_str(), done, total, w.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// ---------------------------------------------------------------- detox

std::vector<std::string> detox_rules(int q) {
  const std::string f = std::to_string(q);
  return {"mean",
          "median",
          "trimmed-mean(f=" + f + ")",
          "krum(f=" + f + ")",
          "multi-krum(f=" + f + ")",
          "bulyan(f=" + f + ")",
          "sign-vote",
          // DETOX forms, r = 3: 5 vote winners, of which effective_f(3, 3) = 1 captured.
          "detox(r=3, buckets=3, inner=mean, outer=median)",
          "detox(r=3, outer=multi-krum(f=1))",
          // bulyan(f=1) needs 7 vectors; 15 workers give only 5 winners, so
          // f = 0 is the largest Bulyan the winners admit (see docs).
          "detox(r=3, outer=bulyan(f=0))"};
}

void run_detox(const Options& opt, const demo::Dataset& train_set, const demo::Dataset& test_set,
               std::vector<Result>& results) {
  const int p = 15, q = 3;
  const std::vector<std::string> attacks = {"none", "alie", "ipm", "reverse", "constant"};
  const std::vector<std::string> rules = detox_rules(q);
  const std::vector<Index> byz = demo::byzantine_workers(p, q, 3);
  const int total = int(attacks.size() * rules.size());
  int done = 0;
  std::vector<Result> mine;
  for (const std::string& attack : attacks) {
    for (const std::string& spec : rules) {
      const AnyRule rule = robustagg::parse_rule(spec);
      progress("detox", done, total, attack + " " + spec);
      RunSetup run;
      run.workers = p;
      run.groups_of = rule.target<robustagg::Detox>() ? 3 : 1;
      run.steps = opt.steps > 0 ? opt.steps : opt.quick ? 300 : 1000;
      run.batch = 32;
      run.lr = 0.2;
      run.sign_lr = 0.002;
      run.attack = robustagg::attacks::parse_attack(attack);
      if (attack != "none") run.byzantine = byz;
      Result r = train(run, rule, train_set, test_set, opt.seed);
      r.experiment = "detox";
      r.attack = attack;
      mine.push_back(r);
      ++done;
    }
  }
  progress("detox", total, total, "done");

  // The table: one row per rule, one column per attack.
  std::printf("\nExperiment detox: p = %d workers, q = %d Byzantine (workers", p, q);
  for (Index b : byz) std::printf(" %td", b);
  std::printf("), iid batches of 32, %s steps.\n", opt.quick ? "300" : "1000");
  std::printf("Test accuracy (%%), and ms per aggregation under attack none.\n\n");
  std::printf("%s", pad("rule", 66).c_str());
  for (const std::string& a : attacks) std::printf("%10s", a.c_str());
  std::printf("%10s\n", "ms");
  for (const std::string& spec : rules) {
    const std::string canonical = robustagg::parse_rule(spec).spec();
    std::printf("%s", pad(canonical.size() > 64 ? canonical.substr(0, 64) : canonical, 66).c_str());
    double ms = 0.0;
    for (const std::string& a : attacks)
      for (const Result& r : mine)
        if (r.attack == a && r.rule == canonical) {
          std::printf("%10.1f", 100.0 * r.accuracy);
          if (a == "none") ms = r.ms;
        }
    std::printf("%10.3f\n", ms);
  }
  results.insert(results.end(), mine.begin(), mine.end());
}

/// The paper's speed claim: time of one aggregation at p = 45 for Bulyan and
/// Multi-Krum vs their DETOX forms, on gradients of d coordinates with the
/// groups' replicas equal and q = 5 Byzantine rows (ALIE) placed worst case.
void run_speed(const Options& opt) {
  const int p = 45, q = 5, r = 3;
  const Index fe = robustagg::detox::effective_f(q, r);  // 2
  const std::vector<Index> dims = {demo::Mlp::kParams, 100000};
  std::printf("\nSpeed at p = %d, q = %d (effective f after the vote = %td): median ms per "
              "aggregation\n\n",
              p, q, fe);
  std::printf("%-10s %-42s %10s %-48s %10s %8s\n", "d", "plain rule", "ms", "DETOX form", "ms",
              "speedup");
  const std::string fq = std::to_string(q), ff = std::to_string(fe);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"bulyan(f=" + fq + ")", "detox(r=3, outer=bulyan(f=" + ff + "))"},
      {"multi-krum(f=" + fq + ")", "detox(r=3, outer=multi-krum(f=" + ff + "))"},
      {"median", "detox(r=3, buckets=5, inner=mean, outer=median)"}};
  for (Index d : dims) {
    robustagg::GradientMatrix<float> G(p, d);
    for (int g = 0; g < p / r; ++g)
      for (Index j = 0; j < d; ++j)
        G(g * r, j) = float(robustagg::detail::gaussian(opt.seed, std::uint64_t(g), std::uint64_t(j)));
    for (int i = 0; i < p; ++i) G.row(i) = G.row((i / r) * r);
    robustagg::attacks::alie(G, demo::byzantine_workers(p, q, r));
    const int reps = d > 10000 ? (opt.quick ? 5 : 20) : (opt.quick ? 50 : 300);
    auto time_rule = [&](const std::string& spec) {
      const AnyRule rule = robustagg::parse_rule(spec);
      robustagg::Workspace ws;
      robustagg::Vector<float> out;
      robustagg::aggregate(G, rule, out, ws);  // warm up: workspace sized
      std::vector<double> t;
      for (int k = 0; k < reps; ++k) {
        const auto t0 = Clock::now();
        robustagg::aggregate(G, rule, out, ws);
        t.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
      }
      std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
      return t[std::size_t(reps / 2)];
    };
    for (const auto& pr : pairs) {
      const double a = time_rule(pr.first), b = time_rule(pr.second);
      std::printf("%-10td %-42s %10.3f %-48s %10.3f %7.1fx\n", d, pr.first.c_str(), a,
                  pr.second.c_str(), b, a / b);
    }
  }
}

// -------------------------------------------------------- heterogeneous

void run_heterogeneous(const Options& opt, const demo::Dataset& train_set,
                       const demo::Dataset& test_set, std::vector<Result>& results) {
  const int p = 11;
  const auto shards = demo::two_class_shards(train_set, p);
  const std::vector<std::string> bs = {"0", "0.01", "0.03", "0.1", "0.3"};
  std::vector<std::string> rules = {"mean", "median", "sign-vote"};
  for (const std::string& b : bs) rules.push_back("noisy-median(b=" + b + ", seed=" + std::to_string(opt.seed) + ")");
  for (const std::string& b : bs) rules.push_back("noisy-sign-vote(b=" + b + ", seed=" + std::to_string(opt.seed) + ")");
  const int total = int(rules.size());
  std::vector<Result> mine;
  for (int k = 0; k < total; ++k) {
    const AnyRule rule = robustagg::parse_rule(rules[std::size_t(k)]);
    progress("heterogeneous", k, total, rules[std::size_t(k)]);
    RunSetup run;
    run.workers = p;
    run.shards = &shards;
    run.steps = opt.steps > 0 ? opt.steps : opt.quick ? 150 : 500;
    run.lr = 0.5;
    run.sign_lr = 0.002;
    Result r = train(run, rule, train_set, test_set, opt.seed);
    r.experiment = "heterogeneous";
    r.attack = "none";
    mine.push_back(r);
  }
  progress("heterogeneous", total, total, "done");
  std::printf("\nExperiment heterogeneous: %d workers, each holding two classes, full local "
              "gradients, %s steps.\n\n",
              p, opt.quick ? "150" : "500");
  std::printf("%-44s %10s %10s\n", "rule", "accuracy", "ms");
  for (const Result& r : mine)
    std::printf("%-44s %9.1f%% %10.3f\n", r.rule.c_str(), 100.0 * r.accuracy, r.ms);
  results.insert(results.end(), mine.begin(), mine.end());
}

// ------------------------------------------------------------------ main

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: robustagg-demo [--experiment detox|heterogeneous|all] [--quick] [--csv FILE]\n"
               "                      [--seed N] [--data FILE] [--steps N] [--help]\n\n"
               "Trains a 64-32-10 MLP on the handwritten digits with simulated workers whose\n"
               "gradients are aggregated by robustagg each step, and prints test accuracy and\n"
               "ms per aggregation for each rule:\n"
               "  detox          p = 15 workers, q = 3 Byzantine; attacks none, alie, ipm,\n"
               "                 reverse, constant; plain rules vs DETOX forms (r = 3); and\n"
               "                 the aggregation time at p = 45 (DETOX's speed claim)\n"
               "  heterogeneous  11 workers with two classes each: median and sign vote vs\n"
               "                 noisy-median and noisy-sign-vote over b\n\n"
               "  --quick        short runs (all of it in well under a minute)\n"
               "  --csv FILE     write experiment,attack,rule,accuracy,ms_per_aggregation\n"
               "  --seed N       seed of the data split, initialisation, batches, noise (default 1)\n"
               "  --data FILE    the digits .csv.gz (default: the copy in examples/data)\n"
               "  --steps N      train every run for N steps (smoke tests; overrides --quick)\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        usage(stdout);
        return 0;
      } else if (a == "--quick") {
        opt.quick = true;
      } else if (a == "--experiment") {
        opt.experiment = value();
        if (opt.experiment != "detox" && opt.experiment != "heterogeneous" && opt.experiment != "all")
          throw std::runtime_error("--experiment must be detox, heterogeneous or all, got '" +
                                   opt.experiment + "'");
      } else if (a == "--csv") {
        opt.csv = value();
      } else if (a == "--seed") {
        const std::string v = value();
        char* end = nullptr;
        opt.seed = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end || v[0] == '-') throw std::runtime_error("--seed needs a non-negative integer, got '" + v + "'");
      } else if (a == "--steps") {
        const std::string v = value();
        opt.steps = std::atoi(v.c_str());
        if (opt.steps < 1) throw std::runtime_error("--steps needs a positive integer, got '" + v + "'");
      } else if (a == "--data") {
        opt.data = value();
      } else {
        throw std::runtime_error("unknown argument '" + a + "' (see --help)");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "robustagg-demo: %s\n", e.what());
    return 2;
  }

  try {
    const auto t0 = Clock::now();
    const demo::Dataset all = demo::load_digits(opt.data);
    demo::Dataset train_set, test_set;
    demo::split(all, 0.2, opt.seed, train_set, test_set);
    std::printf("digits: %td examples (%td train, %td test), model %td parameters, seed %llu%s\n",
                all.size(), train_set.size(), test_set.size(), demo::Mlp::kParams,
                static_cast<unsigned long long>(opt.seed), opt.quick ? ", quick" : "");
    std::vector<Result> results;
    if (opt.experiment != "heterogeneous") {
      run_detox(opt, train_set, test_set, results);
      run_speed(opt);
    }
    if (opt.experiment != "detox") run_heterogeneous(opt, train_set, test_set, results);
    if (!opt.csv.empty()) {
      std::ofstream f(opt.csv);
      f << "experiment,attack,rule,accuracy,ms_per_aggregation\n";
      char buf[64];
      for (const Result& r : results) {
        f << r.experiment << ',' << csv_field(r.attack) << ',' << csv_field(r.rule) << ',';
        std::snprintf(buf, sizeof buf, "%.4f,%.4f", r.accuracy, r.ms);
        f << buf << '\n';
      }
      if (!f) throw std::runtime_error("cannot write " + opt.csv);
      std::printf("\nwrote %zu rows to %s\n", results.size(), opt.csv.c_str());
    }
    std::printf("total time %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nrobustagg-demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
