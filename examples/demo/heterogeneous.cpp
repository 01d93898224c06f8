// Experiment 3: noisy median / noisy sign vote on heterogeneous data (Chen
// et al., NeurIPS 2020): 10 workers holding one or two classes each.
//   - the median and the sign vote against their noisy forms over b, without
//     and with 2 Byzantine (ALIE) workers; the noisy sign vote also with its
//     step scaled to the noise;
//   - the trade-off of the authors' rebuttal: b against the number of
//     Byzantine workers, and b on iid data.
#include <cmath>
#include <map>

#include <robustagg/robustagg.hpp>

#include "report.hpp"
#include "setup.hpp"
#include "workers.hpp"

namespace demo {

namespace {

constexpr double kPi = 3.14159265358979323846;

/// The noisy sign vote's step scaled to the noise. Worker i's noisy sign
/// has mean 2 Phi(g_i / b) - 1 ~ sqrt(2/pi) g_i / b; the vote over n rows,
/// sign(sum), then has mean ~ (2/pi) sqrt(n) g / b for the mean gradient g
/// (when sqrt(n) |g| << b). So the step lr * pi * b / (2 sqrt(n)) makes the
/// expected update the SGD step lr * g of the mean.
double scaled_sign_step(double lr, double b, int n) { return lr * kPi * b / (2.0 * std::sqrt(double(n))); }

}  // namespace

void run_heterogeneous(Context& ctx) {
  const Setting& S = ctx.setting;
  const Trainer& T = ctx.trainer;
  // Workers 0..4 hold one class each (0..4), 5..9 two classes each ({5,6},
  // {6,7}, {7,8}, {8,9}, {9,5}); every class has the same weight in the mean.
  const std::vector<std::vector<int>> classes = {{0}, {1}, {2}, {3}, {4}, {5, 6}, {6, 7}, {7, 8}, {8, 9}, {9, 5}};
  const auto shards = class_shards(T.train_set(), classes);
  const int honest = int(classes.size());
  const int steps = ctx.opt.steps > 0 ? ctx.opt.steps : S.het_steps;
  const std::string seed = std::to_string(ctx.opt.seed);
  auto canon = [](const std::string& s) { return robustagg::parse_rule(s).spec(); };
  auto noisy_median = [&](const std::string& b) {
    return b == "0" ? canon("median") : canon("noisy-median(b=" + b + ", seed=" + seed + ")");
  };
  auto noisy_sign = [&](const std::string& b) { return canon("noisy-sign-vote(b=" + b + ", seed=" + seed + ")"); };
  const std::string alie = "alie(z=1)", tradeoff_attack = "reverse";

  // Every run is a cell (table, row, column); a run two cells share is run once.
  std::vector<Job> jobs;
  std::map<std::string, std::size_t> index, by_what;  // "table|row|column" -> job; job name -> job
  auto add = [&](const std::string& table, const std::string& row, const std::string& column, const std::string& rule,
                 double lr, bool iid, int byzantine, std::string attack) {
    if (byzantine == 0) attack = "none";
    const std::string what = (iid ? "iid " : "") + std::string("k=") + std::to_string(byzantine) + " " + attack + " " +
                             rule + " lr=" + secs(lr);
    auto it = by_what.find(what);
    if (it == by_what.end()) {
      it = by_what.emplace(what, jobs.size()).first;
      jobs.push_back({what, [=, &T, &S, &shards] {
                        RunSetup run;
                        run.shards = iid ? nullptr : &shards;
                        run.workers = honest + byzantine;
                        for (int k = 0; k < byzantine; ++k) run.byzantine.push_back(honest + k);
                        run.attack = attack;
                        run.steps = steps;
                        run.batch = S.batch;
                        run.lr = lr;
                        Result r = T.train(run, robustagg::parse_rule(rule));
                        r.experiment = iid ? "heterogeneous-iid" : "heterogeneous";
                        r.q = byzantine;
                        return r;
                      }});
    }
    index[table + "|" + row + "|" + column] = it->second;
  };
  auto is_sign = [](const std::string& rule) { return rule.find("sign-vote") != std::string::npos; };

  // Table A: the rules over b, none and ALIE (2 Byzantine workers).
  std::vector<std::pair<std::string, std::string>> rows_a;  // (label, rule)
  std::vector<bool> scaled_a;
  auto row_a = [&](const std::string& rule, bool scaled) {
    rows_a.push_back({"`" + rule + "`" + (is_sign(rule) ? (scaled ? ", step ~ b" : ", step " + secs(S.sign_lr)) : ""), rule});
    scaled_a.push_back(scaled);
  };
  for (const std::string& r : {canon("mean"), canon("median"), canon("sign-vote")}) row_a(r, false);
  for (const std::string& b : S.b_grid) row_a(noisy_median(b), false);
  for (const std::string& b : S.b_grid) row_a(noisy_sign(b), false);
  for (const std::string& b : S.b_grid) row_a(noisy_sign(b), true);
  // The control: the plain sign vote at the step of the largest b above,
  // to tell the noise's effect from the larger step's.
  const double b_max = std::stod(S.b_grid.back());
  rows_a.push_back({"`" + canon("sign-vote") + "`, step ~ b at b = " + S.b_grid.back(), canon("sign-vote")});
  scaled_a.push_back(true);
  for (std::size_t i = 0; i < rows_a.size(); ++i)
    for (int byz : {0, 2}) {
      const std::string& rule = rows_a[i].second;
      const robustagg::AnyRule R = robustagg::parse_rule(rule);
      const auto* ns = R.target<robustagg::NoisySignVote>();
      const double lr = !is_sign(rule)  ? S.lr
                        : !scaled_a[i] ? S.sign_lr
                                       : scaled_sign_step(S.lr, ns ? ns->b : b_max, honest + byz);
      add("A", rows_a[i].first, byz ? alie : "none", rule, lr, false, byz, alie);
    }
  // Table B: noisy median, b against the number of Byzantine workers
  // (reverse: values far from the honest ones), on iid and heterogeneous data.
  std::vector<std::string> b_rows = {"0"};
  for (const std::string& b : S.b_grid) b_rows.push_back(b);
  const std::vector<int> byz_b = {0, 1, 2, 3};
  for (const std::string& b : b_rows) {
    const std::string rule = noisy_median(b);
    for (bool iid : {true, false})
      for (int k : byz_b)
        add("B", b, (iid ? "iid, k = " : "heterogeneous, k = ") + std::to_string(k), rule, S.lr, iid, k,
            tradeoff_attack);
  }
  const std::vector<Result> rs = ctx.runner.run("heterogeneous", jobs);
  auto at = [&](const std::string& table, const std::string& row, const std::string& column) -> const Result* {
    const auto it = index.find(table + "|" + row + "|" + column);
    return it == index.end() ? nullptr : &rs[it->second];
  };
  auto acc = [&](const Result* r) { return !r || r->diverged ? -1 : tenths(r->accuracy); };

  std::printf("\n== Experiment 3: heterogeneous data (Chen et al. 2020) ==\n\n");
  std::printf("%d workers: 0-4 hold the training images of one class each (0-4), 5-9 two classes each ({5,6},\n"
              "{6,7}, {7,8}, {8,9}, {9,5}); each step every worker sends the gradient of a batch of %d from its own\n"
              "shard; %d steps, SGD step %s, signSGD step %s, both decaying linearly to a tenth. The noisy rules add\n"
              "N(0, b^2) per worker and coordinate before the median / sign vote, fresh each step. \"step ~ b\": the\n"
              "noisy sign vote's step scaled to the noise, lr * pi * b / (2 sqrt(n)) for n rows (the vote's mean is\n"
              "about (2/pi) sqrt(n) g / b for a mean gradient g, so this step makes the expected update SGD's).\n"
              "The last row, the control: the plain sign vote at the largest b's step. ALIE: 2 Byzantine\n"
              "workers (12 rows) with z = 1. Test accuracy (%%).\n\n",
              honest, S.batch, steps, secs(S.lr).c_str(), secs(S.sign_lr).c_str());
  {
    Table t({"rule", "none", alie + ", 2 Byzantine"});
    for (const auto& [label, rule] : rows_a) t.row({label, cell(at("A", label, "none")), cell(at("A", label, alie))});
    t.print();
  }
  auto best = [&](const std::string& kind, bool scaled, const std::string& column) {
    std::pair<int, std::string> b{-1, ""};
    for (std::size_t i = 0; i < rows_a.size(); ++i)
      if (rows_a[i].second.rfind(kind, 0) == 0 && scaled_a[i] == scaled) {
        const int x = acc(at("A", rows_a[i].first, column));
        if (x > b.first) b = {x, rows_a[i].first};
      }
    return b;
  };
  const int mean = acc(at("A", rows_a[0].first, "none")), med = acc(at("A", rows_a[1].first, "none")),
            sign = acc(at("A", rows_a[2].first, "none"));
  const auto nm = best("noisy-median", false, "none"), ns = best("noisy-sign-vote", false, "none"),
             nss = best("noisy-sign-vote", true, "none");
  std::printf("\nConclusion: without attack the median reaches %s%% and the sign vote %s%% against the mean's %s%%;\n"
              "  the best noisy median, %s, %s%% (%s points over the median);\n"
              "  the best noisy sign vote at the fixed step, %s, %s%% (%s over the sign vote);\n"
              "  with the step scaled to b, %s, %s%% (%s).\n",
              points(med).c_str(), points(sign).c_str(), points(mean).c_str(), nm.second.c_str(),
              points(nm.first).c_str(), points(nm.first - med).c_str(), ns.second.c_str(), points(ns.first).c_str(),
              points(ns.first - sign).c_str(), nss.second.c_str(), points(nss.first).c_str(),
              points(nss.first - sign).c_str());

  std::printf("\nThe trade-off (Chen et al.'s rebuttal): noisy median accuracy (%%) for the noise b (rows; 0: the plain\n"
              "median) against k Byzantine workers among %d + k rows, sending %s (-100 x their own gradient:\n"
              "values far from the honest ones); iid: the %d honest workers draw their batches from the whole\n"
              "training set; heterogeneous: the shards above.\n\n",
              honest, tradeoff_attack.c_str(), honest);
  auto column = [](bool iid, int k) { return (iid ? "iid, k = " : "heterogeneous, k = ") + std::to_string(k); };
  {
    std::vector<std::string> header = {"b"};
    for (bool iid : {true, false})
      for (int k : byz_b) header.push_back(column(iid, k));
    Table t(header);
    for (const std::string& b : b_rows) {
      std::vector<std::string> row = {b};
      for (bool iid : {true, false})
        for (int k : byz_b) row.push_back(cell(at("B", b, column(iid, k))));
      t.row(row);
    }
    t.print();
  }
  // The best b per column (ties: the smaller b), from the rounded values.
  std::printf("\nBest b per column (ties: the smaller b):\n");
  for (bool iid : {true, false}) {
    std::printf("  %s:", iid ? "iid" : "heterogeneous");
    for (int k : byz_b) {
      std::pair<int, std::string> bst{-2, ""};
      for (const std::string& b : b_rows)
        if (acc(at("B", b, column(iid, k))) > bst.first) bst = {acc(at("B", b, column(iid, k))), b};
      std::printf(" k = %d: b = %s (%s%%)%s", k, bst.second.c_str(), bst.first < 0 ? "diverged" : points(bst.first).c_str(),
                  k == byz_b.back() ? ".\n" : ";");
    }
  }
  const std::string b_hi = b_rows.back();
  const int k_hi = byz_b.back();
  auto acc_b = [&](const std::string& b, bool iid, int k) { return acc(at("B", b, column(iid, k))); };
  auto pct = [](int t) { return t < 0 ? std::string("diverged") : points(t) + "%"; };
  std::printf("On iid data without attack the largest b (%s) gives %s against the plain median's %s; with %d\n"
              "Byzantine workers it gives %s against %s (heterogeneous: %s against %s).\n",
              b_hi.c_str(), pct(acc_b(b_hi, true, 0)).c_str(), pct(acc_b("0", true, 0)).c_str(), k_hi,
              pct(acc_b(b_hi, true, k_hi)).c_str(), pct(acc_b("0", true, k_hi)).c_str(),
              pct(acc_b(b_hi, false, k_hi)).c_str(), pct(acc_b("0", false, k_hi)).c_str());
  for (const Result& r : rs) ctx.results.push_back(r);
}

}  // namespace demo
