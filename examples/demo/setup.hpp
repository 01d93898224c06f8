// The demo's shared types: the command-line options, the per-data-set
// setting, one training run's setup and result, and the Trainer interface
// (training.cpp) that the experiments (detox.cpp, sign.cpp,
// heterogeneous.cpp) run through. Only robustagg's public API is used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <robustagg/robustagg.hpp>

#include "digits.hpp"

namespace demo {

struct Options {
  std::string experiment = "all";  // detox | sign | heterogeneous | all
  bool quick = false;
  bool full = false;  // the slower additions (docs/experiments.md lists them)
  std::string dataset;  // "fashion" or "digits"; empty: digits when --quick
  std::string csv;
  std::string log;  // progress lines; empty: stdout
  std::uint64_t seed = 1;
  int steps = 0;  // > 0: every run trains this many steps (smoke tests)
  std::string digits;
  std::string fashion;
  double lr = 0.0, sign_lr = 0.0;  // > 0: override the setting's step sizes
};

/// One setting for every rule of a data set (no per-rule tuning).
struct Setting {
  std::string data;                  // "fashion" or "digits"
  int steps = 100;                   // detox and sign experiments
  int het_steps = 60;                // heterogeneous experiment
  int batch = 32;
  double lr = 0.5;                   // SGD step of rules returning a gradient
  double sign_lr = 0.001;            // signSGD step of the sign votes
  std::vector<std::string> b_grid;   // the noise scales of the heterogeneous experiment
  int timing_reps = 11;              // aggregations timed per rule
};

Setting setting_for(const std::string& data, bool quick);

/// One training run.
struct RunSetup {
  int workers = 45;
  int groups_of = 1;  // r: workers k*r .. k*r+r-1 share a batch (DETOX replicas)
  int batch = 32;
  int steps = 100;
  double lr = 0.5;    // this run's step size (decays linearly to a tenth over the run)
  std::vector<robustagg::Index> byzantine;  // worker ids
  std::string attack = "none";  // a robustagg::attacks spec, or "label-flip"
  const std::vector<std::vector<int>>* shards = nullptr;  // batches drawn from worker w's shard
  int curve_points = 0;  // > 0: accuracy on the curve subset this many times over the run
};

/// What one run gives. Accuracies are fractions of the test set (curve:
/// of the 1000-example curve subset).
struct Result {
  std::string experiment;  // the CSV's experiment column
  int q = 0;               // Byzantine workers
  std::string attack, rule;
  double lr = 0.0;
  bool diverged = false;
  int steps = 0;         // steps run (diverged: the step that failed)
  std::string cause;     // diverged: why
  double accuracy = 0.0;
  // The simulated cluster's step: one worker's gradient (the workers run in
  // parallel) plus one aggregation, both measured (0: not timed).
  double ms_gradient = 0.0, ms_aggregation = 0.0, sim_ms_step = 0.0;
  double ms_step = 0.0;  // median wall time of one step of this simulation (every worker here)
  std::vector<std::pair<int, double>> curve;  // (step, accuracy on the curve subset)
};

/// Trains the data set's MLP with simulated workers (training.cpp).
class Trainer {
 public:
  virtual ~Trainer() = default;
  virtual robustagg::Index params() const = 0;
  virtual std::string describe() const = 0;
  virtual robustagg::Index train_size() const = 0;
  virtual const Dataset& train_set() const = 0;
  /// One run from the seed's initial parameters. A run diverges when the
  /// loss, the aggregate or the parameters become non-finite, or the rule
  /// cannot aggregate (robustagg::Error); it is then reported, not scored.
  virtual Result train(const RunSetup& run, const robustagg::AnyRule& rule) const = 0;
  /// p workers' clean gradients at the initial parameters (step 0's
  /// batches; workers k*r .. k*r+r-1 share a batch), one row each.
  virtual robustagg::GradientMatrix<float> gradients_at_start(int p, int r, int batch) const = 0;
  /// The median wall time (ms) of one worker's gradient of a batch, on one
  /// thread, over `reps` batches; measured at the first call, the same
  /// number after it.
  virtual double ms_per_gradient(int batch, int reps) const = 0;
};

std::unique_ptr<Trainer> make_trainer(const Options& opt, const Setting& setting);

class Runner;
class Csv;

/// What every experiment gets.
struct Context {
  const Options& opt;
  const Setting& setting;
  const Trainer& trainer;
  Runner& runner;
  std::vector<Result>& results;  // every run, for the CSV
};

/// The attacks of the DETOX and sign experiments (--full adds five;
/// detox.cpp prints their legend).
const std::vector<std::string>& detox_attacks(bool full);

void run_detox(Context& ctx);
void run_sign(Context& ctx);
void run_heterogeneous(Context& ctx);

}  // namespace demo
