// robustagg-demo: trains an MLP with simulated workers whose gradients go
// through robustagg::aggregate every step, and reproduces what the DETOX
// paper (Rajput et al., NeurIPS 2019) and the noisy median paper (Chen et
// al., NeurIPS 2020) show. The experiments: detox.cpp, sign.cpp,
// heterogeneous.cpp; the training loop: training.cpp; tables, progress and
// CSV: report.cpp. Results and how they compare to the papers:
// docs/experiments.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <robustagg/robustagg.hpp>

#include "report.hpp"
#include "setup.hpp"

#ifndef ROBUSTAGG_DIGITS_PATH
#define ROBUSTAGG_DIGITS_PATH "examples/data/digits.csv.gz"
#endif
#ifndef ROBUSTAGG_FASHION_DIR
#define ROBUSTAGG_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif

namespace {

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: robustagg-demo [--experiment detox|sign|heterogeneous|all] [--quick] [--full]\n"
      "                      [--csv FILE] [--log FILE] [--dataset fashion|digits] [--seed N]\n"
      "                      [--steps N] [--lr X] [--sign-lr X] [--fashion DIR] [--digits FILE]\n\n"
      "Trains an MLP with simulated workers whose gradients robustagg aggregates each step, and\n"
      "prints test accuracy per rule and attack, the simulated time, and conclusions computed\n"
      "from the printed numbers:\n"
      "  detox          p = 45 workers in groups of r = 3, q = 5 Byzantine: the mean and\n"
      "                 Bulyan, Multi-Krum, median and NNM next to their DETOX forms under\n"
      "                 none, alie, ipm, ipm(eps=10), reverse, constant(c=-1); the same\n"
      "                 pairs under ALIE at q = 1 and at the largest q DETOX accepts; accuracy\n"
      "                 at equal simulated time and time to accuracy\n"
      "  sign           sign-vote and detox(r=3, outer=sign-vote) under the same attacks\n"
      "  heterogeneous  10 workers holding one or two classes: median and sign vote vs\n"
      "                 noisy-median and noisy-sign-vote over b (the sign vote also with its\n"
      "                 step scaled to b), without and with ALIE; b against the number of\n"
      "                 Byzantine workers, and on iid data\n\n"
      "  --dataset D    fashion (Fashion-MNIST, 784-128-10 MLP, d = 101,770; the default)\n"
      "                 or digits (8x8 digits, 64-32-10 MLP, d = 2,410; the default of --quick)\n"
      "  --quick        short runs on the digits (under a minute)\n"
      "  --full         also trimmed-mean, krum, centered-clipping and geometric-median, the\n"
      "                 attacks min-sum, min-max, gaussian(sigma=100), label-flip and optimal-alie\n"
      "                 (a line search against the defender's rule each step), and each DETOX\n"
      "                 form at its vanilla form's time budget\n"
      "  --csv FILE     write every run and its accuracy curve (docs/experiments.md)\n"
      "  --log FILE     one progress line per finished run, in order, to FILE (default:\n"
      "                 stdout, before each experiment's tables)\n"
      "  --seed N       seed of the data split, initialisation, batches, noise (default 1)\n"
      "  --steps N      train every run for N steps (smoke tests)\n"
      "  --lr X         SGD step of every rule returning a gradient (default: fashion 0.5,\n"
      "                 digits 0.2); --sign-lr X: the sign votes' step (0.001, 0.002)\n"
      "  --fashion DIR  the Fashion-MNIST IDX .gz files (default %s)\n"
      "  --digits FILE  the digits .csv.gz (default: the copy in examples/data)\n",
      ROBUSTAGG_FASHION_DIR);
}

double positive(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !(x > 0) || !std::isfinite(x))
    throw std::runtime_error(flag + " needs a positive number, got '" + v + "'");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered stdout: in a log that also takes stderr, lines keep their order.
  std::setvbuf(stdout, nullptr, _IOLBF, 1 << 16);
  demo::Options opt;
  opt.digits = ROBUSTAGG_DIGITS_PATH;
  opt.fashion = ROBUSTAGG_FASHION_DIR;
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
        if (opt.experiment != "detox" && opt.experiment != "sign" && opt.experiment != "heterogeneous" &&
            opt.experiment != "all")
          throw std::runtime_error("--experiment must be detox, sign, heterogeneous or all, got '" +
                                   opt.experiment + "'");
      } else if (a == "--dataset") {
        opt.dataset = value();
        if (opt.dataset != "fashion" && opt.dataset != "digits")
          throw std::runtime_error("--dataset must be fashion or digits, got '" + opt.dataset + "'");
      } else if (a == "--csv") {
        opt.csv = value();
      } else if (a == "--log") {
        opt.log = value();
      } else if (a == "--seed") {
        const std::string v = value();
        char* end = nullptr;
        opt.seed = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end || v[0] == '-')
          throw std::runtime_error("--seed needs a non-negative integer, got '" + v + "'");
      } else if (a == "--steps") {
        const std::string v = value();
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end || n < 1 || n > 1000000)
          throw std::runtime_error("--steps needs a positive integer, got '" + v + "'");
        opt.steps = int(n);
      } else if (a == "--lr") {
        opt.lr = positive(a, value());
      } else if (a == "--sign-lr") {
        opt.sign_lr = positive(a, value());
      } else if (a == "--fashion") {
        opt.fashion = value();
      } else if (a == "--digits") {
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

  std::FILE* log = stdout;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    demo::Setting S = demo::setting_for(opt.dataset, opt.quick);
    if (opt.lr > 0) S.lr = opt.lr;
    if (opt.sign_lr > 0) S.sign_lr = opt.sign_lr;
    if (!opt.log.empty()) {
      log = std::fopen(opt.log.c_str(), "w");
      if (!log) throw std::runtime_error("cannot write the log " + opt.log);
    }
    const auto trainer = demo::make_trainer(opt, S);
    std::printf("%s; seed %llu%s%s\n", trainer->describe().c_str(), static_cast<unsigned long long>(opt.seed),
                opt.quick ? "; --quick" : "", opt.full ? "; --full" : "");
    if (log != stdout) std::printf("progress: one line per finished run in %s\n", opt.log.c_str());
    // One thread per training run and per timed aggregation: the Runner runs
    // two runs at a time, one per core, and a one-thread time is not
    // stretched by a descheduled helper thread when the machine is shared.
    robustagg::set_num_threads(1);
    demo::Runner runner(log);
    std::vector<demo::Result> results;
    demo::Context ctx{opt, S, *trainer, runner, results};
    if (opt.experiment == "all" || opt.experiment == "detox") demo::run_detox(ctx);
    if (opt.experiment == "all" || opt.experiment == "sign") demo::run_sign(ctx);
    if (opt.experiment == "all" || opt.experiment == "heterogeneous") demo::run_heterogeneous(ctx);
    if (!opt.csv.empty()) demo::write_csv(opt.csv, results);
    std::printf("total time %s s (%zu runs)\n",
                demo::secs(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()).c_str(),
                results.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nrobustagg-demo: %s\n", e.what());
    if (log != stdout) std::fclose(log);
    return 1;
  }
  if (log != stdout) std::fclose(log);
  return 0;
}
