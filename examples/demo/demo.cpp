// robustagg-demo: trains an MLP with p simulated workers, aggregating their
// gradients through robustagg each step, and reproduces two papers' effects:
//   detox          DETOX (Rajput et al., NeurIPS 2019) in the paper's setting:
//                  p = 45 workers, q = 5 Byzantine placed as DETOX's worst
//                  case, r = 3; plain robust rules (f = 5) vs DETOX forms
//                  (f = 2 after the vote) under none, ALIE, IPM, reverse,
//                  constant and label flipping; plus the time of one
//                  aggregation and one step, plain vs DETOX.
//   heterogeneous  noisy median / noisy sign vote (Chen et al., NeurIPS 2020):
//                  10 workers holding one or two classes each, median and
//                  sign vote vs their noisy forms over a sweep of b, without
//                  and with 2 Byzantine (ALIE) workers.
// Data: Fashion-MNIST (784-128-10 MLP, d = 101,770) by default; the 8x8
// digits (64-32-10, d = 2,410) for --quick and the smoke test.
// See docs/experiments.md for the results and how they compare to the papers.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <robustagg/attacks.hpp>
#include <robustagg/robustagg.hpp>

#include "digits.hpp"
#include "idx.hpp"
#include "mlp.hpp"
#include "workers.hpp"

#ifndef ROBUSTAGG_DIGITS_PATH
#define ROBUSTAGG_DIGITS_PATH "examples/data/digits.csv.gz"
#endif
#ifndef ROBUSTAGG_FASHION_DIR
#define ROBUSTAGG_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif

namespace {

using robustagg::AnyRule;
using robustagg::Index;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string experiment = "all";
  bool quick = false;
  std::string dataset;  // "fashion" or "digits"; empty: digits when --quick
  std::string csv;
  std::uint64_t seed = 1;
  int steps = 0;  // > 0: override the training steps of every run (smoke tests)
  std::string digits = ROBUSTAGG_DIGITS_PATH;
  std::string fashion = ROBUSTAGG_FASHION_DIR;
  double lr = 0.0, sign_lr = 0.0;  // > 0: override the setting's step sizes
  bool full = false;  // also the slow attacks (optimal-alie: ~40 aggregations per step)
};

/// One setting for every rule of a data set (no per-rule tuning).
struct Setting {
  std::string data;
  int detox_steps, het_steps, batch;
  double lr, sign_lr;
  std::vector<std::string> b_grid;  // the heterogeneous experiment's noise scales
};

Setting setting_for(const std::string& data, bool quick) {
  if (data == "digits")
    return {"digits", quick ? 300 : 600, quick ? 150 : 300, 32, 0.2, 0.002,
            {"0.01", "0.03", "0.1", "0.3"}};
  return {"fashion", quick ? 40 : 100, quick ? 40 : 60, 32, 0.5, 0.001,
          {"0.01", "0.03", "0.1"}};
}

struct Result {
  std::string experiment, attack, rule;
  bool diverged = false;
  int steps = 0;         // steps run (diverged: the step that failed)
  std::string cause;     // diverged: why
  double accuracy = 0.0;  // test accuracy at the end
  double ms_aggregate = 0.0, ms_step = 0.0;  // medians over the steps
  std::vector<std::pair<int, double>> curve;  // (step, accuracy on a test subset)
};

/// One training run's setting.
struct RunSetup {
  int workers = 45;
  int groups_of = 1;             // r: workers k*r .. k*r+r-1 share a batch
  int batch = 32;                // per batch stream
  int steps = 100;
  double lr = 0.1;               // step for rules returning a gradient
  double sign_lr = 0.002;        // step for sign-vote rules (signSGD)
  std::vector<Index> byzantine;  // worker ids
  std::string attack = "none";   // an attacks::parse_attack spec, or "label-flip"
  const std::vector<std::vector<int>>* shards = nullptr;  // heterogeneous: batches drawn per worker shard
  int curve_every = 0;           // > 0: test-subset accuracy every that many steps
};

bool is_sign_rule(const AnyRule& r) {
  return r.target<robustagg::SignVote>() || r.target<robustagg::NoisySignVote>();
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
  return v[v.size() / 2];
}

/// The attack spec with "{rule}" replaced by the defender's rule spec (for
/// attacks that adapt to the rule, e.g. optimal-alie(rule={rule})).
std::string attack_for(const std::string& attack, const std::string& rule) {
  std::string a = attack;
  const std::size_t at = a.find("{rule}");
  if (at != std::string::npos) a.replace(at, 6, rule);
  return a;
}

/// The workers' gradients into G, one distinct (batch, flipped) pair per
/// task on the thread pool (each task writes only its own row, so the result
/// does not depend on the thread count); shared rows are then copied.
/// Returns the sum of the distinct batches' mean losses.
template <class Model>
double gradients(const float* params, const demo::Dataset& train,
                 const std::vector<std::vector<int>>& batches, const std::vector<int>& stream_of,
                 const std::vector<char>& flipped, robustagg::GradientMatrix<float>& G,
                 std::vector<typename Model::Scratch>& scratch) {
  const int p = int(stream_of.size());
  std::vector<int> first(2 * batches.size(), -1), source(static_cast<std::size_t>(p)), tasks;
  for (int i = 0; i < p; ++i) {
    int& f = first[2 * std::size_t(stream_of[std::size_t(i)]) + (flipped[std::size_t(i)] ? 1 : 0)];
    if (f < 0) f = i, tasks.push_back(i);
    source[std::size_t(i)] = f;
  }
  std::vector<double> loss(std::size_t(p), 0.0);
  const int threads = std::min<int>(robustagg::num_threads(), int(scratch.size()));
  robustagg::detail::parallel_for(Index(tasks.size()), threads, [&](Index t, int tid) {
    const int i = tasks[std::size_t(t)];
    const std::vector<int>& b = batches[std::size_t(stream_of[std::size_t(i)])];
    loss[std::size_t(i)] = Model::gradient(params, train, b.data(), Index(b.size()), G.row(i).data(),
                                           scratch[std::size_t(tid)], flipped[std::size_t(i)] != 0);
  });
  double sum = 0.0;
  for (int i = 0; i < p; ++i)
    if (source[std::size_t(i)] != i) G.row(i) = G.row(source[std::size_t(i)]);
    else sum += loss[std::size_t(i)];
  return sum;
}

/// Trains from the same initial parameters with `rule`. A run diverges when
/// the loss, the aggregate or the parameters become non-finite, or when the
/// rule cannot aggregate (robustagg::Error, e.g. DETOX with no group left):
/// it is then reported as diverged with the step and the cause.
template <class Model>
Result train(const RunSetup& run, const AnyRule& rule, const demo::Dataset& train_set,
             const demo::Dataset& test_set, const demo::Dataset& curve_set, std::uint64_t seed) {
  std::vector<float> params(Model::kParams);
  Model::init(params.data(), seed);
  const int p = run.workers;
  const int streams = run.shards ? p : (p + run.groups_of - 1) / run.groups_of;
  std::vector<int> stream_of(static_cast<std::size_t>(p));
  for (int i = 0; i < p; ++i) stream_of[std::size_t(i)] = run.shards ? i : i / run.groups_of;
  std::vector<std::vector<int>> batches(std::size_t(streams), std::vector<int>(std::size_t(run.batch)));
  std::vector<char> flipped(std::size_t(p), 0);
  robustagg::attacks::Attack attack;
  const bool label_flip = run.attack == "label-flip";
  if (label_flip)
    for (Index b : run.byzantine) flipped[std::size_t(b)] = 1;
  else
    attack = robustagg::attacks::parse_attack(attack_for(run.attack, rule.spec()));

  robustagg::GradientMatrix<float> G(p, Model::kParams);
  robustagg::Vector<float> out(Model::kParams);
  robustagg::Workspace ws;
  std::vector<typename Model::Scratch> scratch(2);
  const bool sign = is_sign_rule(rule);
  const auto* noisy_median = rule.target<robustagg::NoisyMedian>();
  const auto* noisy_sign = rule.target<robustagg::NoisySignVote>();
  std::vector<double> t_agg, t_step;
  Result r;
  r.rule = rule.spec();
  r.attack = run.attack;
  auto diverge = [&](int step, const std::string& cause) {
    r.diverged = true;
    r.steps = step;
    r.cause = cause;
  };
  for (int step = 0; step < run.steps && !r.diverged; ++step) {
    if (run.curve_every > 0 && step % run.curve_every == 0)
      r.curve.emplace_back(step, Model::accuracy(params.data(), curve_set, scratch[0]));
    const auto t0 = Clock::now();
    for (int s = 0; s < streams; ++s) {
      std::vector<int>& b = batches[std::size_t(s)];
      if (run.shards) {
        // Worker s's own shard (Byzantine workers beyond the honest ones
        // have none: they reuse worker 0's batch, then the attack overwrites
        // their rows).
        const std::vector<int>& shard = (*run.shards)[std::size_t(s) < run.shards->size() ? std::size_t(s) : 0];
        demo::sample_batch(Index(shard.size()), run.batch, seed, std::uint64_t(step), std::uint64_t(s), b.data());
        for (int& k : b) k = shard[std::size_t(k)];
      } else {
        demo::sample_batch(train_set.size(), run.batch, seed, std::uint64_t(step), std::uint64_t(s), b.data());
      }
    }
    const double loss = gradients<Model>(params.data(), train_set, batches, stream_of, flipped, G, scratch);
    if (!std::isfinite(loss)) {
      diverge(step, "non-finite training loss (the model diverged)");
      break;
    }
    if (!label_flip) attack.apply(G, run.byzantine, std::uint64_t(step));
    const auto t1 = Clock::now();
    try {
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
    } catch (const robustagg::Error& e) {
      diverge(step, std::string("aggregation failed: ") + e.what());
      break;
    }
    const auto t2 = Clock::now();
    // One schedule for every rule: the step decays linearly from lr to
    // lr / 10 over the run (a constant step leaves the final accuracy
    // oscillating by several points from step to step).
    const double decay = 1.0 - 0.9 * double(step) / double(std::max(run.steps - 1, 1));
    const float lr = float((sign ? run.sign_lr : run.lr) * decay);
    bool finite = true;
    for (Index j = 0; j < Model::kParams; ++j) {
      params[std::size_t(j)] -= lr * out[j];
      finite = finite && std::isfinite(params[std::size_t(j)]);
    }
    t_agg.push_back(1e3 * std::chrono::duration<double>(t2 - t1).count());
    t_step.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
    if (!finite) diverge(step, "non-finite parameters after the update");
    else r.steps = step + 1;
  }
  if (!r.diverged) {
    r.accuracy = Model::accuracy(params.data(), test_set, scratch[0]);
    if (run.curve_every > 0) r.curve.emplace_back(run.steps, Model::accuracy(params.data(), curve_set, scratch[0]));
  }
  r.ms_aggregate = median_of(t_agg);
  r.ms_step = median_of(t_step);
  return r;
}

/// Progress on stderr: "\r" updates on a terminal; one line per finished run
/// otherwise (a log).
struct Progress {
  std::string experiment;
  int total = 0, done = 0;
  bool tty = isatty(fileno(stderr)) != 0;
  Clock::time_point start = Clock::now();
  std::mutex lock;  // runs finish on two threads (run_jobs)
  Progress(std::string name, int runs) : experiment(std::move(name)), total(runs) {}
  void starting(const std::string& what) {
    const std::lock_guard<std::mutex> hold(lock);
    if (!tty) return;
    const std::string w = what.size() > 70 ? what.substr(0, 67) + "..." : what;
    std::fprintf(stderr, "\r[%s] %d/%d %-72s", experiment.c_str(), done, total, w.c_str());
    std::fflush(stderr);
  }
  void finished(const Result& r) {
    const std::lock_guard<std::mutex> hold(lock);
    ++done;
    if (tty) {
      if (done == total) std::fprintf(stderr, "\r%-100s\r", "");
    } else {
      std::fprintf(stderr, "[%s %d/%d] %s %s: %s (%.0f s)\n", experiment.c_str(), done, total,
                   r.attack.c_str(), r.rule.c_str(),
                   r.diverged ? ("diverged at step " + std::to_string(r.steps)).c_str()
                              : (std::to_string(int(std::lround(1000 * r.accuracy)) / 10) + "." +
                                 std::to_string(int(std::lround(1000 * r.accuracy)) % 10) + "%").c_str(),
                   std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::fflush(stderr);
  }
};

/// Runs jobs[k]() for every k and returns the results in job order. The
/// first `sequential` jobs (the clean runs, whose times the tables report)
/// run one after the other with every thread; the rest run two at a time
/// (one training run per core: a step keeps about one core busy). A run's
/// result does not depend on which thread ran it or how many threads its
/// gradients and aggregations used.
std::vector<Result> run_jobs(const std::vector<std::pair<std::string, std::function<Result()>>>& jobs,
                             std::size_t sequential, Progress& prog) {
  std::vector<Result> results(jobs.size());
  std::size_t k = 0;
  for (; k < std::min(sequential, jobs.size()); ++k) {
    prog.starting(jobs[k].first);
    results[k] = jobs[k].second();
    prog.finished(results[k]);
  }
  std::atomic<std::size_t> next{k};
  std::exception_ptr failure;
  std::mutex failure_lock;
  auto runner = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      try {
        prog.starting(jobs[j].first);
        results[j] = jobs[j].second();
        prog.finished(results[j]);
      } catch (...) {
        const std::lock_guard<std::mutex> hold(failure_lock);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::thread other(runner);
  runner();
  other.join();
  if (failure) std::rethrow_exception(failure);
  return results;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

const Result* find(const std::vector<Result>& rs, const std::string& attack, const std::string& rule) {
  for (const Result& r : rs)
    if (r.attack == attack && r.rule == rule) return &r;
  return nullptr;
}

std::string cell(const Result* r) {
  if (!r) return "-";
  if (r->diverged) return "diverged";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * r->accuracy);
  return buf;
}

/// Rows = rules, columns = attacks; a note under the table for each
/// diverged run. `attack_names` label the columns.
/// Rows are labelled with the specs as written (`labels`, e.g.
/// "multi-krum(f=5)"); runs are found by their canonical spec (`rules`).
void print_table(const std::vector<Result>& rs, const std::vector<std::string>& rules,
                 const std::vector<std::string>& labels, const std::vector<std::string>& attacks,
                 const std::vector<std::string>& attack_names, bool timing) {
  std::size_t w = 8;
  for (const std::string& s : labels) w = std::max(w, s.size() + 1);
  std::printf("%s", pad("rule", w).c_str());
  for (const std::string& a : attack_names) std::printf("%11s", a.c_str());
  if (timing) std::printf("%10s%10s", "agg ms", "step ms");
  std::printf("\n");
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string& rule = rules[i];
    std::printf("%s", pad(labels[i], w).c_str());
    for (std::size_t k = 0; k < attacks.size(); ++k) {
      const Result* r = find(rs, attacks[k], rule);
      std::printf("%11s", cell(r).c_str());
      if (r && r->diverged)
        notes.push_back(labels[i] + " under " + attack_names[k] + " diverged at step " + std::to_string(r->steps) +
                        ": " + r->cause);
    }
    if (timing) {
      const Result* r = find(rs, attacks[0], rule);
      if (r) std::printf("%10.3f%10.2f", r->ms_aggregate, r->ms_step);
    }
    std::printf("\n");
  }
  for (const std::string& n : notes) std::printf("  note: %s\n", n.c_str());
}

/// The lowest accuracy of `rule` over the attacks other than "none" (a
/// diverged run counts as 0) and the attack that gave it.
std::pair<double, std::string> worst_case(const std::vector<Result>& rs, const std::string& rule,
                                          const std::vector<std::string>& attacks) {
  std::pair<double, std::string> w{2.0, ""};
  for (const std::string& a : attacks) {
    if (a == "none") continue;
    const Result* r = find(rs, a, rule);
    if (!r) continue;
    const double acc = r->diverged ? 0.0 : r->accuracy;
    if (acc < w.first) w = {acc, a};
  }
  return w;
}

std::string pts(double points) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f", points);
  return buf;
}

// ---------------------------------------------------------------- detox

/// centered-clipping's tau, one value for every run of a data set: the
/// median over the p workers of |g_i - mean| for the clean gradients at the
/// initial parameters (step 0's batches), to 2 significant digits.
template <class Model>
std::string clipping_tau(const demo::Dataset& train_set, int batch, int p, std::uint64_t seed) {
  std::vector<float> params(Model::kParams);
  Model::init(params.data(), seed);
  std::vector<std::vector<int>> batches(static_cast<std::size_t>(p), std::vector<int>(static_cast<std::size_t>(batch)));
  std::vector<int> stream_of(static_cast<std::size_t>(p));
  for (int i = 0; i < p; ++i) {
    stream_of[std::size_t(i)] = i;
    demo::sample_batch(train_set.size(), batch, seed, 0, std::uint64_t(i), batches[std::size_t(i)].data());
  }
  robustagg::GradientMatrix<float> G(p, Model::kParams);
  std::vector<typename Model::Scratch> scratch(2);
  gradients<Model>(params.data(), train_set, batches, stream_of, std::vector<char>(std::size_t(p), 0), G, scratch);
  std::vector<double> mean(std::size_t(Model::kParams), 0.0), dist(std::size_t(p), 0.0);
  for (int i = 0; i < p; ++i)
    for (Index j = 0; j < Model::kParams; ++j) mean[std::size_t(j)] += double(G(i, j)) / p;
  for (int i = 0; i < p; ++i) {
    double s = 0.0;
    for (Index j = 0; j < Model::kParams; ++j) s += (double(G(i, j)) - mean[std::size_t(j)]) * (double(G(i, j)) - mean[std::size_t(j)]);
    dist[std::size_t(i)] = std::sqrt(s);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", median_of(dist));
  return buf;
}

// The attacks of the DETOX experiment (robustagg::attacks specs; label-flip
// is the demo's own data attack). "{rule}" in a spec is replaced by the
// defender's rule. optimal-alie runs its line search (~45 aggregations with
// the defender's rule) every step: only with --full.
const std::vector<std::string> kDetoxAttacks = {"none",       "alie",    "ipm",    "reverse", "constant",
                                                "label-flip", "min-max", "min-sum"};
const std::string kOptimalAlie = "optimal-alie(rule={rule})";

const char* kLegend =
    "Attacks (the 5 Byzantine workers' gradients): alie = \"a little is enough\": the honest mean\n"
    "minus z standard deviations per coordinate (the paper's z from n and f); ipm = inner-product\n"
    "manipulation, -0.5 x the honest mean; reverse = -100 x their own gradient; constant = every\n"
    "entry 100; label-flip = a data attack, they train on labels 9 - y; min-max / min-sum\n"
    "(Shejwalkar & Houmansadr 2021) = the honest mean minus gamma x the honest standard deviation,\n"
    "gamma the largest whose farthest (min-max) or summed (min-sum) squared distance to the honest\n"
    "gradients stays within the honest ones' own; optimal-alie (--full only) = ALIE with z chosen each\n"
    "step by a line search (z in [0, 10], 40 intervals) against the defender's own rule.\n";

template <class Model>
void run_detox(const Options& opt, const Setting& S, const demo::Dataset& train_set,
               const demo::Dataset& test_set, const demo::Dataset& curve_set, std::vector<Result>& results) {
  const int p = 45, q = 5, r = 3;
  const Index fe = robustagg::detox::effective_f(q, r);  // 2 of the 15 vote winners hostile
  const std::string F = std::to_string(q), E = std::to_string(fe);
  const std::string tau = clipping_tau<Model>(train_set, S.batch, p, opt.seed);
  // Plain rules, f = q.
  const std::vector<std::string> plain = {
      "mean",  // no defence: the reference
      "median",
      "trimmed-mean(f=" + F + ")",
      "krum(f=" + F + ")",
      "multi-krum(f=" + F + ")",
      "bulyan(f=" + F + ")",
      "sign-vote",
      "nnm(f=" + F + ", then=trimmed-mean(f=" + F + "))",
      "centered-clipping(tau=" + tau + ")",
      "geometric-median",
  };
  // DETOX forms, r = 3, f = effective_f(5, 3) = 2 after the vote.
  const std::vector<std::string> detox = {
      "detox(r=3, outer=bulyan(f=" + E + "))",
      "detox(r=3, outer=multi-krum(f=" + E + "))",
      "detox(r=3, buckets=5, inner=mean, outer=median)",
      "detox(r=3, outer=nnm(f=" + E + ", then=trimmed-mean(f=" + E + ")))",
  };
  std::vector<std::string> attacks = kDetoxAttacks;
  if (opt.full) attacks.push_back(kOptimalAlie);
  // Column names: the spec without its {rule} argument.
  std::vector<std::string> attack_names = attacks;
  for (auto& a : attack_names)
    if (a == kOptimalAlie) a = "opt-alie";
  std::vector<std::string> rules, labels;  // canonical specs, specs as written
  for (const auto& s : plain) rules.push_back(robustagg::parse_rule(s).spec()), labels.push_back(s);
  const std::size_t n_plain = rules.size();
  for (const auto& s : detox) rules.push_back(robustagg::parse_rule(s).spec()), labels.push_back(s);
  const std::vector<Index> byz = demo::byzantine_workers(p, q, r);
  const int steps = opt.steps > 0 ? opt.steps : S.detox_steps;

  Progress prog{"detox", int(attacks.size() * rules.size())};
  std::vector<std::pair<std::string, std::function<Result()>>> jobs;
  for (const std::string& attack : attacks)
    for (const std::string& spec : rules) jobs.emplace_back(attack + " " + spec, [&, attack, spec] {
      const AnyRule rule = robustagg::parse_rule(spec);
      RunSetup run;
      run.workers = p;
      run.groups_of = rule.target<robustagg::Detox>() ? r : 1;
      run.steps = steps;
      run.batch = S.batch;
      run.lr = S.lr;
      run.sign_lr = S.sign_lr;
      run.attack = attack;
      if (attack != "none") run.byzantine = byz;
      if (attack == "alie") run.curve_every = std::max(1, steps / 10);
      Result res = train<Model>(run, rule, train_set, test_set, curve_set, opt.seed);
      res.experiment = "detox";
      return res;
    });
  // attacks[0] is "none": its runs, whose times the speed table reports, one at a time.
  const std::vector<Result> mine = run_jobs(jobs, rules.size(), prog);

  std::printf("\n== Experiment 1: DETOX (Rajput et al. 2019) in its paper's setting ==\n");
  std::printf("Tests whether voting over groups of r = %d replicas lets a robust rule tolerate Byzantine\n"
              "workers at near-clean accuracy: p = %d workers, q = %d Byzantine (workers", r, p, q);
  for (Index b : byz) std::printf(" %td", b);
  std::printf(": they capture %td of the %d groups),\nplain rules with f = %d vs DETOX forms with f = %td "
              "after the vote; iid batches of %d, %d steps, lr %g (sign-vote %g) decaying linearly to a tenth.\n",
              fe, p / r, q, fe, S.batch, steps, S.lr, S.sign_lr);
  std::printf("%s", kLegend);
  std::printf("centered-clipping's tau = %s for every run: the median distance of the %d clean gradients\n"
              "from their mean at the initial parameters.\n", tau.c_str(), p);
  if (!opt.full) std::printf("optimal-alie not run (about 45 aggregations per step): add --full.\n");
  std::printf("Test accuracy (%%); agg ms / step ms: medians over the clean run's steps.\n\n");
  print_table(mine, rules, labels, attacks, attack_names, true);

  // Conclusion, from the numbers above.
  const Result* clean = find(mine, "none", "mean");
  const double c = clean && !clean->diverged ? clean->accuracy : 0.0;
  std::pair<double, std::string> best_d{-1, ""}, best_p{-1, ""}, worst_p{3, ""};
  std::string best_d_rule, best_p_rule, worst_p_rule;
  for (std::size_t k = 1; k < rules.size(); ++k) {  // rules[0] is the mean
    const auto w = worst_case(mine, rules[k], attacks);
    if (k >= n_plain) {
      if (w.first > best_d.first) best_d = w, best_d_rule = labels[k];
    } else {
      if (w.first > best_p.first) best_p = w, best_p_rule = labels[k];
      if (w.first < worst_p.first) worst_p = w, worst_p_rule = labels[k];
    }
  }
  auto lost = [&](const std::pair<double, std::string>& w, const std::string& rule) {
    const std::size_t k = std::size_t(std::find(labels.begin(), labels.end(), rule) - labels.begin());
    const Result* r = find(mine, w.second, rules[k]);
    if (r && r->diverged) return std::string("diverged under ") + w.second;
    if (w.first >= c) return "nothing: at or above clean under every attack (lowest " + pts(100 * w.first) + "%, " + w.second + ")";
    return pts(100 * (c - w.first)) + " points under " + w.second + " (" + pts(100 * w.first) + "%)";
  };
  std::printf("\nConclusion (clean = mean without attack, %.1f%%):\n", 100 * c);
  std::printf("  best DETOX form %s: within %s points of clean under every attack (worst: %s, %.1f%%);\n",
              best_d_rule.c_str(), pts(std::max(0.0, 100 * (c - best_d.first))).c_str(), best_d.second.c_str(),
              100 * best_d.first);
  std::printf("  best plain rule %s: lost %s;\n", best_p_rule.c_str(), lost(best_p, best_p_rule).c_str());
  std::printf("  worst plain rule %s: lost %s.\n", worst_p_rule.c_str(), lost(worst_p, worst_p_rule).c_str());

  // Speed, from the clean runs above.
  std::printf("\nSpeed at d = %td, p = %d (clean runs above): one aggregation, and one whole simulated step\n"
              "(the workers' gradients, computed here on %d threads, the attack, the aggregation, the update).\n"
              "A DETOX step computes %d distinct batches (the replicas are copies), a plain step %d.\n\n",
              Index(Model::kParams), p, std::min(2, robustagg::num_threads()), p / r, p);
  std::printf("%-34s %8s %8s   %-52s %8s %8s %7s %7s\n", "plain rule", "agg ms", "step ms", "DETOX form",
              "agg ms", "step ms", "agg x", "step x");
  // Each DETOX form next to the plain rule it wraps (labels as written above).
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"bulyan(f=" + F + ")", detox[0]},
      {"multi-krum(f=" + F + ")", detox[1]},
      {"median", detox[2]},
      {"nnm(f=" + F + ", then=trimmed-mean(f=" + F + "))", detox[3]}};
  auto index_of = [&](const std::string& label) {
    return std::size_t(std::find(labels.begin(), labels.end(), label) - labels.begin());
  };
  for (const auto& named : pairs) {
    const std::pair<std::size_t, std::size_t> pr{index_of(named.first), index_of(named.second)};
    if (pr.first >= rules.size() || pr.second >= rules.size()) continue;
    const Result* a = find(mine, "none", rules[pr.first]);
    const Result* b = find(mine, "none", rules[pr.second]);
    if (!a || !b) continue;
    std::printf("%-34s %8.3f %8.2f   %-52s %8.3f %8.2f %6.1fx %6.1fx\n", labels[pr.first].c_str(), a->ms_aggregate,
                a->ms_step, labels[pr.second].c_str(), b->ms_aggregate, b->ms_step,
                a->ms_aggregate / std::max(b->ms_aggregate, 1e-9), a->ms_step / std::max(b->ms_step, 1e-9));
  }
  results.insert(results.end(), mine.begin(), mine.end());
}

// -------------------------------------------------------- heterogeneous

template <class Model>
void run_heterogeneous(const Options& opt, const Setting& S, const demo::Dataset& train_set,
                       const demo::Dataset& test_set, const demo::Dataset& curve_set,
                       std::vector<Result>& results) {
  // 10 honest workers: 0..4 hold one class each (0..4), 5..9 two classes
  // each ({5,6}, {6,7}, {7,8}, {8,9}, {9,5}); every class has the same total
  // weight in the mean. Under ALIE, 2 Byzantine workers (10, 11) join them.
  const std::vector<std::vector<int>> classes = {{0}, {1}, {2}, {3}, {4}, {5, 6}, {6, 7}, {7, 8}, {8, 9}, {9, 5}};
  const auto shards = demo::class_shards(train_set, classes);
  const int honest = int(classes.size()), f = 2;
  const std::string seed = std::to_string(opt.seed);
  std::vector<std::string> rules = {"mean", "median", "sign-vote"};
  for (const std::string& b : S.b_grid) rules.push_back("noisy-median(b=" + b + ", seed=" + seed + ")");
  for (const std::string& b : S.b_grid) rules.push_back("noisy-sign-vote(b=" + b + ", seed=" + seed + ")");
  for (auto& r : rules) r = robustagg::parse_rule(r).spec();
  // ALIE with z = 1: the default z for n = 12, f = 2 is 0.21, which puts
  // the Byzantine rows next to the honest mean and so pulls the biased
  // median towards the mean instead of away from it.
  const std::vector<std::string> attacks = {"none", "alie(z=1)"};
  const std::vector<std::string> names = {"none", "alie(z=1)"};
  const int steps = opt.steps > 0 ? opt.steps : S.het_steps;
  Progress prog{"heterogeneous", int(rules.size() * attacks.size())};
  std::vector<std::pair<std::string, std::function<Result()>>> jobs;
  for (const std::string& attack : attacks)
    for (const std::string& spec : rules) jobs.emplace_back(attack + " " + spec, [&, attack, spec] {
      const AnyRule rule = robustagg::parse_rule(spec);
      RunSetup run;
      run.shards = &shards;
      run.workers = honest;
      run.attack = attack;
      if (attack != "none") {
        run.workers = honest + f;
        run.byzantine = {Index(honest), Index(honest + 1)};
      }
      run.steps = steps;
      run.batch = S.batch;
      run.lr = S.lr;
      run.sign_lr = S.sign_lr;
      Result res = train<Model>(run, rule, train_set, test_set, curve_set, opt.seed);
      res.experiment = "heterogeneous";
      return res;
    });
  const std::vector<Result> mine = run_jobs(jobs, rules.size(), prog);
  std::printf("\n== Experiment 2: heterogeneous data (Chen et al. 2020) ==\n");
  std::printf("Tests whether noise of scale b added before the median / sign vote removes their bias when\n"
              "each worker holds one or two classes: %d workers, batches of %d from their own shard, %d steps;\n"
              "then with %d Byzantine workers (ALIE, z = 1) added. Test accuracy (%%).\n\n",
              honest, S.batch, steps, f);
  print_table(mine, rules, rules, attacks, names, false);
  auto acc = [&](const std::string& a, const std::string& rule) {
    const Result* r = find(mine, a, rule);
    return r && !r->diverged ? 100 * r->accuracy : 0.0;
  };
  auto best_of = [&](const std::string& prefix, const std::string& a) {
    std::pair<double, std::string> b{-1, ""};
    for (const auto& r : rules)
      if (r.rfind(prefix, 0) == 0 && acc(a, r) > b.first) b = {acc(a, r), r};
    return b;
  };
  const double mean = acc("none", "mean"), med = acc("none", "median"), sign = acc("none", "sign-vote");
  const auto nm = best_of("noisy-median", "none"), ns = best_of("noisy-sign-vote", "none");
  std::printf("\nConclusion: without attack the median reaches %.1f%% and the sign vote %.1f%% against the mean's\n"
              "%.1f%%; the best noisy median (%s) reaches %.1f%% (%+.1f points over the median), the best noisy\n"
              "sign vote (%s) %.1f%% (%+.1f over the sign vote).\n",
              med, sign, mean, nm.second.c_str(), nm.first, nm.first - med, ns.second.c_str(), ns.first,
              ns.first - sign);
  const std::string lo = rules[3], hi = rules[3 + S.b_grid.size() - 1];
  std::printf("With %d ALIE workers: mean %.1f%%, median %.1f%%, sign vote %.1f%%; noisy median %.1f%% at the\n"
              "smallest b and %.1f%% at the largest (without attack: %.1f%% and %.1f%%).\n",
              f, acc(attacks[1], "mean"), acc(attacks[1], "median"), acc(attacks[1], "sign-vote"), acc(attacks[1], lo), acc(attacks[1], hi),
              acc("none", lo), acc("none", hi));
  results.insert(results.end(), mine.begin(), mine.end());
}

// ------------------------------------------------------------------ main

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void write_csv(const std::string& path, const std::vector<Result>& results) {
  std::ofstream f(path);
  f << "experiment,attack,rule,status,steps,accuracy,ms_per_aggregation,ms_per_step,note\n";
  char buf[96];
  std::size_t rows = 0;
  for (const Result& r : results) {
    const std::string head = r.experiment + ',' + csv_field(r.attack) + ',' + csv_field(r.rule) + ',';
    if (r.diverged)
      std::snprintf(buf, sizeof buf, "diverged,%d,,%.4f,%.4f,", r.steps, r.ms_aggregate, r.ms_step);
    else
      std::snprintf(buf, sizeof buf, "ok,%d,%.4f,%.4f,%.4f,", r.steps, r.accuracy, r.ms_aggregate, r.ms_step);
    f << head << buf << csv_field(r.cause) << '\n';
    ++rows;
    for (const auto& [step, a] : r.curve) {
      std::snprintf(buf, sizeof buf, "curve,%d,%.4f,,,", step, a);
      f << head << buf << '\n';
      ++rows;
    }
  }
  if (!f) throw std::runtime_error("cannot write " + path);
  std::printf("\nwrote %zu rows to %s\n", rows, path.c_str());
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: robustagg-demo [--experiment detox|heterogeneous|all] [--quick] [--csv FILE]\n"
               "                      [--full] [--dataset fashion|digits] [--seed N] [--steps N]\n"
               "                      [--fashion DIR] [--digits FILE] [--help]\n\n"
               "Trains an MLP with simulated workers whose gradients are aggregated by robustagg\n"
               "each step, and prints test accuracy per rule and attack with a computed conclusion:\n"
               "  detox          p = 45 workers, q = 5 Byzantine (DETOX's worst case), r = 3; plain\n"
               "                 rules (f = 5) vs DETOX forms (f = 2) under none, alie, ipm, reverse,\n"
               "                 constant, label-flip, min-max, min-sum; and the time of one\n"
               "                 aggregation and one step\n"
               "  heterogeneous  10 workers holding one or two classes: median and sign vote vs\n"
               "                 noisy-median and noisy-sign-vote over b, without and with ALIE\n\n"
               "  --dataset D    fashion (Fashion-MNIST, 784-128-10 MLP, d = 101,770; the default)\n"
               "                 or digits (8x8 digits, 64-32-10 MLP, d = 2,410; the default of --quick)\n"
               "  --quick        short runs on the digits (under a minute)\n"
               "  --full         also optimal-alie against each defender's own rule in the detox\n"
               "                 experiment (a line search each step: several times longer)\n"
               "  --csv FILE     write every number: one row per run (status ok or diverged) and\n"
               "                 the accuracy-over-steps rows (status curve) of the ALIE runs\n"
               "                 (the clean runs are timed one at a time; the attacked runs run two\n"
               "                 at a time, one per core, so their times include that sharing)\n"
               "  --seed N       seed of the data split, initialisation, batches, noise (default 1)\n"
               "  --steps N      train every run for N steps (smoke tests)\n"
               "  --lr X         SGD step of every rule returning a gradient (default: fashion 0.5,\n"
               "                 digits 0.2); --sign-lr X: the sign votes' step (0.001, 0.002)\n"
               "  --fashion DIR  the Fashion-MNIST IDX .gz files (default %s)\n"
               "  --digits FILE  the digits .csv.gz (default: the copy in examples/data)\n",
               ROBUSTAGG_FASHION_DIR);
}

template <class Model>
void run_all(const Options& opt, const Setting& S, const demo::Dataset& train_set, const demo::Dataset& test_set,
             std::vector<Result>& results) {
  demo::Dataset curve_set = demo::subset(test_set, [&] {
    std::vector<int> idx(std::size_t(std::min<Index>(1000, test_set.size())));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    return idx;
  }());
  if (opt.experiment != "heterogeneous") run_detox<Model>(opt, S, train_set, test_set, curve_set, results);
  if (opt.experiment != "detox") run_heterogeneous<Model>(opt, S, train_set, test_set, curve_set, results);
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered stdout: in a log that also takes stderr, the tables and
  // the progress lines appear in the order they were written.
  std::setvbuf(stdout, nullptr, _IOLBF, 1 << 16);
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
      } else if (a == "--full") {
        opt.full = true;
      } else if (a == "--experiment") {
        opt.experiment = value();
        if (opt.experiment != "detox" && opt.experiment != "heterogeneous" && opt.experiment != "all")
          throw std::runtime_error("--experiment must be detox, heterogeneous or all, got '" +
                                   opt.experiment + "'");
      } else if (a == "--dataset") {
        opt.dataset = value();
        if (opt.dataset != "fashion" && opt.dataset != "digits")
          throw std::runtime_error("--dataset must be fashion or digits, got '" + opt.dataset + "'");
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
      } else if (a == "--lr" || a == "--sign-lr") {
        const std::string v = value();
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !(x > 0) || !std::isfinite(x))
          throw std::runtime_error(a + " needs a positive number, got '" + v + "'");
        (a == "--lr" ? opt.lr : opt.sign_lr) = x;
      } else if (a == "--fashion") {
        opt.fashion = value();
      } else if (a == "--digits" || a == "--data") {
        opt.digits = value();
      } else {
        throw std::runtime_error("unknown argument '" + a + "' (see --help)");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "robustagg-demo: %s\n", e.what());
    return 2;
  }
  if (opt.dataset.empty()) opt.dataset = opt.quick ? "digits" : "fashion";

  try {
    const auto t0 = Clock::now();
    Setting S = setting_for(opt.dataset, opt.quick);
    if (opt.lr > 0) S.lr = opt.lr;
    if (opt.sign_lr > 0) S.sign_lr = opt.sign_lr;
    std::vector<Result> results;
    demo::Dataset train_set, test_set;
    if (opt.dataset == "digits") {
      const demo::Dataset all = demo::load_digits(opt.digits);
      demo::split(all, 0.2, opt.seed, train_set, test_set);
      std::printf("digits (%s): %td train, %td test examples; MLP 64-32-10, d = %td parameters; seed %llu%s\n",
                  opt.digits.c_str(), train_set.size(), test_set.size(), demo::Mlp::kParams,
                  static_cast<unsigned long long>(opt.seed), opt.quick ? "; quick" : "");
      run_all<demo::Mlp>(opt, S, train_set, test_set, results);
    } else {
      const std::string d = opt.fashion + "/";
      train_set = demo::load_idx(d + "train-images-idx3-ubyte.gz", d + "train-labels-idx1-ubyte.gz", 784);
      test_set = demo::load_idx(d + "t10k-images-idx3-ubyte.gz", d + "t10k-labels-idx1-ubyte.gz", 784);
      std::printf("Fashion-MNIST (%s): %td train, %td test examples; MLP 784-128-10, d = %td parameters; "
                  "seed %llu%s\n",
                  opt.fashion.c_str(), train_set.size(), test_set.size(), demo::FashionMlp::kParams,
                  static_cast<unsigned long long>(opt.seed), opt.quick ? "; quick" : "");
      run_all<demo::FashionMlp>(opt, S, train_set, test_set, results);
    }
    if (!opt.csv.empty()) write_csv(opt.csv, results);
    std::printf("total time %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nrobustagg-demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
