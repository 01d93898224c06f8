// The training loop: p simulated workers compute their minibatch gradients
// (one row each of a robustagg::GradientMatrix<float>), the Byzantine rows are
// overwritten by the attack, robustagg::aggregate combines the rows, SGD (or
// signSGD for the sign votes: the caller sets the step) updates the MLP.
// The only translation unit that instantiates the MLP (both sizes).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include <robustagg/attacks.hpp>
#include <robustagg/robustagg.hpp>

#include "idx.hpp"
#include "mlp.hpp"
#include "setup.hpp"
#include "workers.hpp"

namespace demo {

namespace {

using robustagg::AnyRule;
using robustagg::Index;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return 1e3 * std::chrono::duration<double>(Clock::now() - t).count(); }

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
  return v[v.size() / 2];
}

template <class Model>
class MlpTrainer final : public Trainer {
 public:
  MlpTrainer(std::string about, Dataset train, Dataset test, std::uint64_t seed)
      : about_(std::move(about)), train_(std::move(train)), test_(std::move(test)), seed_(seed) {
    std::vector<int> idx(std::size_t(std::min<Index>(1000, test_.size())));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    curve_ = subset(test_, idx);
  }

  Index params() const override { return Model::kParams; }
  std::string describe() const override { return about_; }
  Index train_size() const override { return train_.size(); }
  const Dataset& train_set() const override { return train_; }

  /// The workers' gradients into G: one gradient per distinct (batch,
  /// flipped) pair, on the calling thread (the Runner runs two training
  /// runs at a time, one per core); rows sharing a batch are copied.
  /// Returns the sum of the distinct batches' mean losses.
  double gradients(const float* params, const std::vector<std::vector<int>>& batches,
                   const std::vector<int>& stream_of, const std::vector<char>& flipped,
                   robustagg::GradientMatrix<float>& G, typename Model::Scratch& scratch) const {
    const int p = int(stream_of.size());
    std::vector<int> first(2 * batches.size(), -1), source(static_cast<std::size_t>(p)), tasks;
    for (int i = 0; i < p; ++i) {
      int& f = first[2 * std::size_t(stream_of[std::size_t(i)]) + (flipped[std::size_t(i)] ? 1 : 0)];
      if (f < 0) f = i, tasks.push_back(i);
      source[std::size_t(i)] = f;
    }
    std::vector<double> loss(static_cast<std::size_t>(p), 0.0);
    for (const int i : tasks) {
      const std::vector<int>& b = batches[std::size_t(stream_of[std::size_t(i)])];
      loss[std::size_t(i)] = Model::gradient(params, train_, b.data(), Index(b.size()), G.row(i).data(), scratch,
                                             flipped[std::size_t(i)] != 0);
    }
    double sum = 0.0;
    for (int i = 0; i < p; ++i)
      if (source[std::size_t(i)] != i) G.row(i) = G.row(source[std::size_t(i)]);
      else sum += loss[std::size_t(i)];
    return sum;
  }

  Result train(const RunSetup& run, const AnyRule& rule) const override {
    std::vector<float> params(std::size_t(Model::kParams));
    Model::init(params.data(), seed_);
    const int p = run.workers;
    const int streams = run.shards ? p : (p + run.groups_of - 1) / run.groups_of;
    std::vector<int> stream_of(static_cast<std::size_t>(p));
    for (int i = 0; i < p; ++i) stream_of[std::size_t(i)] = run.shards ? i : i / run.groups_of;
    std::vector<std::vector<int>> batches(static_cast<std::size_t>(streams), std::vector<int>(static_cast<std::size_t>(run.batch)));
    std::vector<char> flipped(static_cast<std::size_t>(p), 0);
    robustagg::attacks::Attack attack;
    const bool label_flip = run.attack == "label-flip";
    if (label_flip)
      for (Index b : run.byzantine) flipped[std::size_t(b)] = 1;
    else
      attack = robustagg::attacks::parse_attack(run.attack);

    robustagg::GradientMatrix<float> G(p, Model::kParams);
    robustagg::Vector<float> out(Model::kParams);
    robustagg::Workspace ws;
    typename Model::Scratch scratch;
    const auto* noisy_median = rule.target<robustagg::NoisyMedian>();
    const auto* noisy_sign = rule.target<robustagg::NoisySignVote>();
    std::vector<double> t_step;
    Result r;
    r.rule = rule.spec();
    r.attack = run.attack;
    r.lr = run.lr;
    auto diverge = [&](int step, const std::string& cause) {
      r.diverged = true;
      r.steps = step;
      r.cause = cause;
    };
    // Curve points: steps k * steps / curve_points, k = 0 .. curve_points.
    int next_point = 0;
    auto curve_step = [&](int k) { return int((long long)k * run.steps / std::max(run.curve_points, 1)); };
    for (int step = 0; step < run.steps && !r.diverged; ++step) {
      if (run.curve_points > 0 && next_point < run.curve_points && curve_step(next_point) == step) {
        r.curve.emplace_back(step, Model::accuracy(params.data(), curve_, scratch));
        while (next_point < run.curve_points && curve_step(next_point) <= step) ++next_point;
      }
      const auto t0 = Clock::now();
      for (int s = 0; s < streams; ++s) {
        std::vector<int>& b = batches[std::size_t(s)];
        if (run.shards) {
          // Worker s's own shard (Byzantine workers beyond the shards reuse
          // shard 0's batch; the attack then overwrites their rows).
          const auto& shard = (*run.shards)[std::size_t(s) < run.shards->size() ? std::size_t(s) : 0];
          sample_batch(Index(shard.size()), run.batch, seed_, std::uint64_t(step), std::uint64_t(s), b.data());
          for (int& k : b) k = shard[std::size_t(k)];
        } else {
          sample_batch(train_.size(), run.batch, seed_, std::uint64_t(step), std::uint64_t(s), b.data());
        }
      }
      const double loss = gradients(params.data(), batches, stream_of, flipped, G, scratch);
      if (!std::isfinite(loss)) {
        diverge(step, "non-finite training loss (the model diverged)");
        break;
      }
      if (!label_flip) attack.apply(G, run.byzantine, std::uint64_t(step));
      try {
        // The noisy rules draw fresh noise each step: the spec's seed re-keyed
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
      // One schedule for every rule: the step decays linearly from lr to
      // lr / 10 over the run.
      const double decay = 1.0 - 0.9 * double(step) / double(std::max(run.steps - 1, 1));
      const float lr = float(run.lr * decay);
      bool finite = true;
      for (Index j = 0; j < Model::kParams; ++j) {
        params[std::size_t(j)] -= lr * out[j];
        finite = finite && std::isfinite(params[std::size_t(j)]);
      }
      t_step.push_back(ms_since(t0));
      if (!finite) diverge(step, "non-finite parameters after the update");
      else r.steps = step + 1;
    }
    if (!r.diverged) {
      r.accuracy = Model::accuracy(params.data(), test_, scratch);
      if (run.curve_points > 0) r.curve.emplace_back(run.steps, Model::accuracy(params.data(), curve_, scratch));
    }
    r.ms_step = median_of(t_step);
    return r;
  }

  robustagg::GradientMatrix<float> gradients_at_start(int p, int r, int batch) const override {
    std::vector<float> params(std::size_t(Model::kParams));
    Model::init(params.data(), seed_);
    const int streams = (p + r - 1) / r;
    std::vector<std::vector<int>> batches(static_cast<std::size_t>(streams), std::vector<int>(static_cast<std::size_t>(batch)));
    std::vector<int> stream_of(static_cast<std::size_t>(p));
    for (int i = 0; i < p; ++i) stream_of[std::size_t(i)] = i / r;
    for (int s = 0; s < streams; ++s)
      sample_batch(train_.size(), batch, seed_, 0, std::uint64_t(s), batches[std::size_t(s)].data());
    robustagg::GradientMatrix<float> G(p, Model::kParams);
    typename Model::Scratch scratch;
    gradients(params.data(), batches, stream_of, std::vector<char>(std::size_t(p), 0), G, scratch);
    return G;
  }

  double ms_per_gradient(int batch, int reps) const override {
    // Measured once per run of the demo: every experiment uses the same number.
    if (ms_gradient_ > 0) return ms_gradient_;
    std::vector<float> params(std::size_t(Model::kParams)), grad(std::size_t(Model::kParams));
    Model::init(params.data(), seed_);
    typename Model::Scratch s;
    std::vector<int> b(static_cast<std::size_t>(batch));
    std::vector<double> t;
    for (int k = 0; k <= reps; ++k) {  // k = 0: warm-up, not counted
      sample_batch(train_.size(), batch, seed_, 0, std::uint64_t(k), b.data());
      const auto t0 = Clock::now();
      Model::gradient(params.data(), train_, b.data(), Index(batch), grad.data(), s);
      if (k > 0) t.push_back(ms_since(t0));
    }
    return ms_gradient_ = median_of(t);
  }

 private:
  std::string about_;
  Dataset train_, test_, curve_;
  std::uint64_t seed_;
  mutable double ms_gradient_ = 0.0;  // ms_per_gradient's measurement (called from the main thread only)
};

}  // namespace

Setting setting_for(const std::string& data, bool quick) {
  Setting s;
  s.data = data;
  if (data == "digits") {
    s.steps = quick ? 300 : 600;
    s.het_steps = quick ? 150 : 300;
    s.lr = 0.2;
    s.sign_lr = 0.002;
    s.b_grid = {"0.01", "0.03", "0.1", "0.3"};
    s.timing_reps = 51;
  } else {
    s.steps = quick ? 40 : 100;
    s.het_steps = quick ? 40 : 60;
    s.lr = 0.5;
    s.sign_lr = 0.001;
    s.b_grid = {"0.01", "0.03", "0.1"};
    s.timing_reps = 15;
  }
  return s;
}

std::unique_ptr<Trainer> make_trainer(const Options& opt, const Setting& setting) {
  Dataset train, test;
  char about[256];
  if (setting.data == "digits") {
    const Dataset all = load_digits(opt.digits);
    split(all, 0.2, opt.seed, train, test);
    std::snprintf(about, sizeof about, "digits (%s): %td train, %td test examples; MLP 64-32-10, d = %td",
                  opt.digits.c_str(), train.size(), test.size(), Mlp::kParams);
    return std::make_unique<MlpTrainer<Mlp>>(about, std::move(train), std::move(test), opt.seed);
  }
  const std::string d = opt.fashion + "/";
  train = load_idx(d + "train-images-idx3-ubyte.gz", d + "train-labels-idx1-ubyte.gz", 784);
  test = load_idx(d + "t10k-images-idx3-ubyte.gz", d + "t10k-labels-idx1-ubyte.gz", 784);
  std::snprintf(about, sizeof about, "Fashion-MNIST (%s): %td train, %td test examples; MLP 784-128-10, d = %td",
                opt.fashion.c_str(), train.size(), test.size(), FashionMlp::kParams);
  return std::make_unique<MlpTrainer<FashionMlp>>(about, std::move(train), std::move(test), opt.seed);
}

}  // namespace demo
