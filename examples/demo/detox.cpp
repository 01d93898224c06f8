// Experiment 1: DETOX (Rajput et al., NeurIPS 2019) in its paper's setting,
// p = 45 workers in groups of r = 3:
//   - the timing of every rule: one worker's gradient and one aggregation,
//     measured, give the simulated cluster's step;
//   - q = 5 under every attack: the mean, and DETOX-Bulyan, -Multi-Krum,
//     -median and -NNM next to their vanilla forms;
//   - Figure 1's q study: the same pairs under ALIE at q = 1 and at the
//     largest q that every DETOX form still accepts (q = 0 and q = 5 come
//     from the table above);
//   - accuracy at equal simulated time and time to accuracy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <robustagg/attacks.hpp>
#include <robustagg/robustagg.hpp>

#include "report.hpp"
#include "setup.hpp"
#include "workers.hpp"

namespace demo {

namespace {

using robustagg::Index;
using Clock = std::chrono::steady_clock;

constexpr int kP = 45, kR = 3, kQ = 5;

/// A robust rule and its DETOX form at q Byzantine workers: the vanilla
/// rule is told f = q, the DETOX form f = effective_f(q, r) (the most
/// votes q workers can capture).
struct Pair {
  std::string name;
  std::string (*vanilla)(int f);
  std::string (*detox)(int f);
};

std::string canon(const std::string& spec) { return robustagg::parse_rule(spec).spec(); }
std::string fs(int f) { return std::to_string(f); }

const std::vector<Pair>& pairs() {
  static const std::vector<Pair> p = {
      {"Bulyan", [](int f) { return "bulyan(f=" + fs(f) + ")"; },
       [](int f) { return "detox(r=3, outer=bulyan(f=" + fs(f) + "))"; }},
      {"Multi-Krum", [](int f) { return "multi-krum(f=" + fs(f) + ")"; },
       [](int f) { return "detox(r=3, outer=multi-krum(f=" + fs(f) + "))"; }},
      {"median", [](int) { return std::string("median"); }, [](int) { return std::string("detox(r=3, outer=median)"); }},
      {"NNM", [](int f) { return "nnm(f=" + fs(f) + ", then=trimmed-mean(f=" + fs(f) + "))"; },
       [](int f) { return "detox(r=3, outer=nnm(f=" + fs(f) + ", then=trimmed-mean(f=" + fs(f) + ")))"; }},
  };
  return p;
}

int fe(int q) { return int(robustagg::detox::effective_f(q, kR)); }

/// The largest q (< p/2) for which every vanilla rule (f = q) and every
/// DETOX form (f = effective_f(q, r), on the p/r vote winners) accepts p
/// rows, and every smaller q too; `refusal`: the library's message for q + 1.
int largest_q(std::string& refusal) {
  int best = 0;
  for (int q = 1; q < kP / 2; ++q) {
    try {
      for (const Pair& pr : pairs()) {
        robustagg::parse_rule(pr.vanilla(q)).validate(kP, 1);
        robustagg::parse_rule(pr.detox(fe(q))).validate(kP, 1);
      }
    } catch (const robustagg::Error& e) {
      refusal = e.what();
      break;
    }
    best = q;
  }
  return best;
}

/// centered-clipping's tau (--full), one value for every run: the median
/// distance of the p clean gradients from their mean at the initial
/// parameters, to 2 significant digits.
std::string clipping_tau(const robustagg::GradientMatrix<float>& G) {
  const Eigen::RowVectorXd mean = G.cast<double>().colwise().mean();
  std::vector<double> dist;
  for (Index i = 0; i < G.rows(); ++i) dist.push_back((G.row(i).cast<double>() - mean).norm());
  std::nth_element(dist.begin(), dist.begin() + std::ptrdiff_t(dist.size() / 2), dist.end());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", dist[dist.size() / 2]);
  return buf;
}

}  // namespace

/// The attacks of the q = 5 table (robustagg::attacks specs; label-flip is
/// the demo's own data attack). --full adds the last five.
const std::vector<std::string>& detox_attacks(bool full) {
  static const std::vector<std::string> base = {"none", "alie", "ipm", "ipm(eps=10)", "reverse", "constant(c=-1)"};
  static const std::vector<std::string> all = [] {
    std::vector<std::string> a = base;
    for (const char* s : {"min-sum", "min-max", "gaussian(sigma=100)", "label-flip", "optimal-alie"}) a.push_back(s);
    return a;
  }();
  return full ? all : base;
}

const char* const kAttackLegend =
    "Attacks (what the Byzantine workers send): alie = \"a little is enough\" (Baruch et al. 2019): the\n"
    "honest mean minus z honest standard deviations per coordinate, z = the paper's for n rows and\n"
    "f Byzantine (printed below); ipm = inner-product manipulation (Xie et al. 2019): -eps x the honest\n"
    "mean, eps = 0.5, and eps = 10, past h/q = 8 (h honest workers), where the mean's expected step\n"
    "turns against the true gradient; reverse = -100 x their own gradient; constant(c=-1) = every\n"
    "entry -1, the DETOX rebuttal's attack. --full adds min-sum and min-max (Shejwalkar & Houmansadr\n"
    "2021: the honest mean minus gamma x the honest standard deviation, gamma the largest keeping the\n"
    "summed / farthest squared distance to the honest gradients within theirs), gaussian(sigma=100),\n"
    "label-flip (a data attack: they train on labels 9 - y) and optimal-alie (z chosen each step by a\n"
    "line search against the defender's own rule).\n";

void run_detox(Context& ctx) {
  const Setting& S = ctx.setting;
  const Trainer& T = ctx.trainer;
  const int steps = ctx.opt.steps > 0 ? ctx.opt.steps : S.steps;
  const int curve_points = std::min(25, steps);
  std::string refusal;
  const int q_max = largest_q(refusal);

  // --- timing: the simulated cluster's step = one worker's gradient (the
  // workers run in parallel) + one aggregation, measured here before the
  // training runs, the rules taking turns.
  const robustagg::GradientMatrix<float> G1 = T.gradients_at_start(kP, 1, S.batch);
  const robustagg::GradientMatrix<float> G3 = T.gradients_at_start(kP, kR, S.batch);
  const double ms_grad = T.ms_per_gradient(S.batch, S.timing_reps);
  const std::string tau = clipping_tau(G1);
  std::vector<std::string> table_rules = {"mean"};
  for (const Pair& pr : pairs()) table_rules.push_back(canon(pr.vanilla(kQ)));
  for (const Pair& pr : pairs()) table_rules.push_back(canon(pr.detox(fe(kQ))));
  if (ctx.opt.full)
    for (const std::string& s : {std::string("trimmed-mean(f=5)"), std::string("krum(f=5)"),
                                 "centered-clipping(tau=" + tau + ")", std::string("geometric-median")})
      table_rules.push_back(canon(s));
  const std::vector<int> study_q = {1, kQ, q_max};
  std::map<std::string, double> agg_ms;
  std::vector<std::pair<const robustagg::GradientMatrix<float>*, std::string>> to_time;
  auto time_it = [&](const std::string& rule) {
    for (const auto& j : to_time)
      if (j.second == rule) return;
    to_time.push_back({rule.rfind("detox", 0) == 0 ? &G3 : &G1, rule});
  };
  for (const std::string& rule : table_rules) time_it(rule);
  for (int q : study_q)
    for (const Pair& pr : pairs()) time_it(canon(pr.vanilla(q))), time_it(canon(pr.detox(fe(q))));
  const std::vector<double> timed = time_rules(to_time, S.timing_reps);
  for (std::size_t j = 0; j < to_time.size(); ++j) agg_ms[to_time[j].second] = timed[j];
  auto sim = [&](const std::string& rule) { return ms_grad + agg_ms.at(rule); };

  // --- the runs
  std::vector<Job> jobs;
  auto add = [&](const std::string& experiment, int q, const std::string& attack, const std::string& rule,
                 int run_steps, bool curve) {
    const double agg = agg_ms.at(rule);
    jobs.push_back({experiment + " q=" + std::to_string(attack == "none" ? 0 : q) + " " + attack + " " + rule +
                        (experiment == "equal-time" ? ", " + std::to_string(run_steps) + " steps" : ""),
                    [=, &T, &S] {
                      const robustagg::AnyRule R = robustagg::parse_rule(rule);
                      const bool detox = R.target<robustagg::Detox>() != nullptr;
                      RunSetup run;
                      run.workers = kP;
                      run.groups_of = detox ? kR : 1;
                      run.steps = run_steps;
                      run.batch = S.batch;
                      run.lr = S.lr;
                      run.attack = attack == "optimal-alie" ? "optimal-alie(rule=" + rule + ")" : attack;
                      if (attack != "none") run.byzantine = byzantine_workers(kP, q, kR);
                      run.curve_points = curve ? std::min(curve_points, run_steps) : 0;
                      Result r = T.train(run, R);
                      r.experiment = experiment;
                      r.q = attack == "none" ? 0 : q;
                      r.attack = attack;
                      r.ms_gradient = ms_grad;
                      r.ms_aggregation = agg;
                      r.sim_ms_step = ms_grad + agg;
                      return r;
                    }});
  };
  const std::vector<std::string>& attacks = detox_attacks(ctx.opt.full);
  for (const std::string& a : attacks)
    for (const std::string& rule : table_rules) add("detox", kQ, a, rule, steps, a == "none" || a == "alie");
  for (int q : study_q) {
    if (q == kQ) continue;  // the table's alie column
    for (const Pair& pr : pairs())
      for (const std::string& rule : {canon(pr.vanilla(q)), canon(pr.detox(fe(q)))})
        add("detox", q, "alie", rule, steps, true);
  }
  // Equal time: each vanilla form for the simulated time its DETOX form's
  // `steps` steps take.
  std::map<std::string, int> eq_steps;
  for (const Pair& pr : pairs()) {
    const std::string v = canon(pr.vanilla(kQ)), d = canon(pr.detox(fe(kQ)));
    eq_steps[v] = std::max(1, int(std::lround(steps * sim(d) / sim(v))));
    for (const std::string a : {"none", "alie"}) add("equal-time", kQ, a, v, eq_steps[v], true);
  }
  // --full: also at the vanilla form's budget: each DETOX form for the
  // simulated time of its vanilla form's `steps` steps.
  std::map<std::string, int> long_steps;
  if (ctx.opt.full)
    for (const Pair& pr : pairs()) {
      const std::string v = canon(pr.vanilla(kQ)), d = canon(pr.detox(fe(kQ)));
      long_steps[d] = std::max(1, int(std::lround(steps * sim(v) / sim(d))));
      for (const std::string a : {"none", "alie"}) add("equal-time", kQ, a, d, long_steps[d], true);
    }
  const std::vector<Result> rs = ctx.runner.run("detox", jobs);
  std::vector<Result> table, equal;
  for (const Result& r : rs) (r.experiment == "equal-time" ? equal : table).push_back(r);

  // --- report
  const std::vector<Index> byz = byzantine_workers(kP, kQ, kR);
  std::printf("\n== Experiment 1: DETOX (Rajput et al. 2019) in its paper's setting ==\n\n");
  std::printf("p = %d workers in %d groups of r = %d; q Byzantine workers placed as DETOX's worst case (the\n"
              "adversary fills groups with 2 of its workers while it can: at q = 5 workers", kP, kP / kR, kR);
  for (Index b : byz) std::printf(" %td", b);
  std::printf(", which capture\n%d groups). Vanilla rules are told f = q, DETOX forms f = effective_f(q, 3) = floor(q/2) on the %d\n"
              "vote winners. DETOX's replicas compute the same batch (%d distinct batches per step, vanilla %d).\n"
              "Batches of %d, %d steps, SGD step %s decaying linearly to a tenth; accuracy (%%) on the test set.\n\n",
              fe(kQ), kP / kR, kP / kR, kP, S.batch, steps, secs(S.lr).c_str());
  std::printf("%s", kAttackLegend);
  std::printf("ALIE's z at n = %d:", kP);
  for (int q : study_q) std::printf(" %s (q = %d)", secs(robustagg::attacks::alie_z(kP, q)).c_str(), q);
  std::printf(".\n");

  // Timing.
  std::printf("\nSimulated step = one worker's gradient (%s ms, measured: the workers run in parallel) + one\n"
              "aggregation (the median of %d robustagg::aggregate calls on one thread, on the clean gradients at\n"
              "the initial parameters, d = %td, p = %d, the rules taking turns; nothing else running in this\n"
              "process). Communication is not modelled.\n\n",
              ms(ms_grad).c_str(), S.timing_reps, T.params(), kP);
  {
    Table t({"pair", "q", "vanilla agg ms", "DETOX agg ms", "agg speed-up", "vanilla step ms", "DETOX step ms",
             "step speed-up"});
    for (const Pair& pr : pairs()) {
      // The same rules at every q (the median): one row.
      const bool same = canon(pr.vanilla(study_q.front())) == canon(pr.vanilla(study_q.back())) &&
                        canon(pr.detox(fe(study_q.front()))) == canon(pr.detox(fe(study_q.back())));
      for (int q : study_q) {
        if (same && q != study_q.front()) continue;
        const std::string v = canon(pr.vanilla(q)), d = canon(pr.detox(fe(q)));
        std::string qs = std::to_string(q);
        if (same)
          for (std::size_t k = 1; k < study_q.size(); ++k) qs += ", " + std::to_string(study_q[k]);
        t.row({same ? pr.name : pr.name + ", q = " + qs, qs, ms(agg_ms[v]), ms(agg_ms[d]),
               times(as_printed(agg_ms[v]) / as_printed(agg_ms[d])), ms(sim(v)), ms(sim(d)),
               times(as_printed(sim(v)) / as_printed(sim(d)))});
      }
    }
    t.print();
  }

  // Table at q = 5.
  const Result* clean_mean = find(table, "none", "mean");
  const int clean = clean_mean && !clean_mean->diverged ? tenths(clean_mean->accuracy) : 0;
  std::printf("\nq = %d under each attack (accuracy %%; the none column has no Byzantine worker: q = 0 with the\n"
              "rules still set for q = %d):\n\n", kQ, kQ);
  {
    std::vector<std::string> header = {"rule"};
    for (const auto& a : attacks) header.push_back(a);
    Table t(header);
    for (const std::string& rule : table_rules) {
      std::vector<std::string> row = {"`" + shown(rule) + "`"};
      for (const auto& a : attacks) row.push_back(cell(find(table, a, rule, a == "none" ? 0 : kQ)));
      t.row(row);
    }
    t.print();
    for (const std::string& rule : table_rules)
      for (const auto& a : attacks)
        if (const Result* r = find(table, a, rule, a == "none" ? 0 : kQ); r && r->diverged)
          std::printf("  %s under %s diverged at step %d: %s\n", shown(rule).c_str(), a.c_str(), r->steps,
                      r->cause.c_str());
  }
  // "Fails": diverged or more than 10 points below the mean's clean accuracy.
  const int kFail = 100;
  // A run of the q = 5 table (none: q = 0) unless q is given.
  auto acc_t = [&](const std::vector<Result>& in, const std::string& a, const std::string& rule, int q = -1) {
    const Result* r = find(in, a, rule, q >= 0 ? q : a == "none" ? 0 : kQ);
    return !r || r->diverged ? -1 : tenths(r->accuracy);
  };
  auto fails = [&](const std::string& a, const std::string& rule) { return acc_t(table, a, rule) < clean - kFail; };
  std::vector<std::string> mean_fails;
  for (const auto& a : attacks)
    if (a != "none" && fails(a, "mean")) mean_fails.push_back(a);
  std::printf("\nConclusion (a rule fails: it diverges or ends more than 10 points below the mean's clean %s%%):\n",
              points(clean).c_str());
  std::string list;
  for (const auto& a : mean_fails) list += (list.empty() ? "" : ", ") + a;
  std::printf("  the mean fails under %zu of %zu attacks (%s);\n", mean_fails.size(), attacks.size() - 1,
              list.empty() ? "none" : list.c_str());
  {
    int held = 0, total = 0, worst = 1000;
    std::string worst_at, failed;
    for (const std::string& rule : table_rules) {
      if (rule == "mean") continue;
      for (const auto& a : mean_fails) {
        ++total;
        const int x = acc_t(table, a, rule);
        if (!fails(a, rule)) ++held;
        else failed += (failed.empty() ? "" : ", ") + shown(rule) + " under " + a;
        if (x < worst) worst = x, worst_at = shown(rule) + " under " + a;
      }
    }
    if (total > 0)
      std::printf("  under those attacks the robust forms hold in %d of %d runs (lowest: %s, %s)%s%s.\n", held, total,
                  worst < 0 ? "diverged" : (points(worst) + "%").c_str(), worst_at.c_str(),
                  failed.empty() ? "" : "; failed: ", failed.c_str());
  }

  // Costs: DETOX's own (no attack) apart from each attack's.
  std::printf("\nPoints lost at q = %d, equal steps. DETOX's cost: its clean accuracy minus its vanilla form's;\n"
              "an attack's cost: the form's own clean accuracy minus its accuracy under the attack.\n\n", kQ);
  {
    std::vector<std::string> header = {"form", "clean", "DETOX's cost"};
    for (const auto& a : attacks)
      if (a != "none") header.push_back(a);
    Table t(header);
    for (const Pair& pr : pairs())
      for (const std::string& rule : {canon(pr.vanilla(kQ)), canon(pr.detox(fe(kQ)))}) {
        const int c = acc_t(table, "none", rule), cv = acc_t(table, "none", canon(pr.vanilla(kQ)));
        const bool detox = rule.rfind("detox", 0) == 0;
        std::vector<std::string> row = {"`" + shown(rule) + "`", c < 0 ? "diverged" : points(c),
                                        !detox ? "" : (c < 0 || cv < 0) ? "-" : points(cv - c)};
        for (const auto& a : attacks) {
          if (a == "none") continue;
          const int x = acc_t(table, a, rule);
          row.push_back(x < 0 ? "diverged" : c < 0 ? "-" : points(c - x));
        }
        t.row(row);
      }
    t.print();
  }

  // Figure 1: the q study.
  std::printf("\nFigure 1's q study, equal steps: vanilla / DETOX accuracy (%%) under ALIE at q Byzantine workers\n"
              "(q = 0: no attack, the rules set for q = %d). q = %d is the largest q for which every rule here\n"
              "accepts its input (DETOX forms f = effective_f(%d, 3) = %d on the %d winners); at q = %d the library\n"
              "refuses: \"%s\".\n\n",
              kQ, q_max, q_max, fe(q_max), kP / kR, q_max + 1, refusal.c_str());
  int wins = 0, ties = 0, cells = 0;
  {
    std::vector<std::string> header = {"pair", "q = 0"};
    for (int q : study_q) header.push_back("q = " + std::to_string(q));
    Table t(header);
    for (const Pair& pr : pairs()) {
      std::vector<std::string> row = {pr.name};
      auto pair_cell = [&](const std::string& a, int q, int run_q) {
        const int v = acc_t(table, a, canon(pr.vanilla(q)), run_q), d = acc_t(table, a, canon(pr.detox(fe(q))), run_q);
        if (v >= 0 || d >= 0) {
          ++cells;
          wins += d > v;
          ties += d == v;
        }
        return (v < 0 ? std::string("diverged") : points(v)) + " / " + (d < 0 ? std::string("diverged") : points(d));
      };
      row.push_back(pair_cell("none", kQ, 0));
      for (int q : study_q) row.push_back(pair_cell("alie", q, q));
      t.row(row);
    }
    t.print();
  }
  std::printf("\nDETOX above its vanilla form in %d of %d cells, equal in %d, below in %d.\n", wins, cells, ties,
              cells - wins - ties);
  for (const Pair& pr : pairs()) {
    int lo_v = 1000, hi_v = -1, lo_d = 1000, hi_d = -1;
    for (int q : study_q) {
      const int v = acc_t(table, "alie", canon(pr.vanilla(q)), q), d = acc_t(table, "alie", canon(pr.detox(fe(q))), q);
      lo_v = std::min(lo_v, v), hi_v = std::max(hi_v, v), lo_d = std::min(lo_d, d), hi_d = std::max(hi_d, d);
    }
    std::printf("  %s under ALIE over q = 1..%d: vanilla %s-%s, DETOX %s-%s (spread %s vs %s points)\n", pr.name.c_str(),
                q_max, points(lo_v).c_str(), points(hi_v).c_str(), points(lo_d).c_str(), points(hi_d).c_str(),
                points(hi_v - lo_v).c_str(), points(hi_d - lo_d).c_str());
  }

  // Equal time and time to accuracy.
  const int target = (clean * 9 + 5) / 10;
  std::printf("\nEqual simulated time at q = %d: each vanilla form runs for the simulated time of its DETOX form's\n"
              "%d steps (its own step count, its own decaying schedule). Time to accuracy: simulated seconds until\n"
              "the accuracy on the first 1000 test examples first reaches %s%% (90%% of the mean's clean %s%%),\n"
              "from the equal-step runs (checked %d times per run).\n\n",
              kQ, steps, points(target).c_str(), points(clean).c_str(), curve_points);
  int eq_wins = 0, eq_cells = 0;
  std::vector<double> tta_ratio;
  {
    Table t({"pair, attack", "step ms V / D", "equal steps V / D", "equal time (s)", "V steps", "equal time V / D",
             "time to " + points(target) + "% V / D (s)"});
    for (const std::string a : {"none", "alie"})
      for (const Pair& pr : pairs()) {
        const std::string v = canon(pr.vanilla(kQ)), d = canon(pr.detox(fe(kQ)));
        const int qa = a == std::string("none") ? 0 : kQ;
        const Result* rv = find(table, a, v, qa);
        const Result* rd = find(table, a, d, qa);
        const Result* ev = find(equal, a, v, qa);
        const int x = ev && !ev->diverged ? tenths(ev->accuracy) : -1, y = acc_t(table, a, d, qa);
        ++eq_cells;
        eq_wins += y > x;
        if (rv && rd && !rv->diverged && !rd->diverged && time_to(*rv, target) > 0 && time_to(*rd, target) > 0)
          tta_ratio.push_back(as_printed(time_to(*rv, target)) / as_printed(time_to(*rd, target)));
        t.row({pr.name + ", " + a, ms(sim(v)) + " / " + ms(sim(d)), cell(rv) + " / " + cell(rd),
               secs(steps * sim(d) / 1e3), std::to_string(eq_steps[v]), cell(ev) + " / " + cell(rd),
               tta_cell(rv, target) + " / " + tta_cell(rd, target)});
      }
    t.print();
  }
  if (ctx.opt.full) {
    std::printf("\n--full: equal time at the vanilla form's budget: each DETOX form runs for the simulated time of\n"
                "its vanilla form's %d steps.\n\n", steps);
    Table t({"pair, attack", "equal time (s)", "DETOX steps", "equal time V / D"});
    for (const std::string a : {"none", "alie"})
      for (const Pair& pr : pairs()) {
        const std::string v = canon(pr.vanilla(kQ)), d = canon(pr.detox(fe(kQ)));
        const int qa = a == std::string("none") ? 0 : kQ;
        t.row({pr.name + ", " + a, secs(steps * sim(v) / 1e3), std::to_string(long_steps[d]),
               cell(find(table, a, v, qa)) + " / " + cell(find(equal, a, d, qa))});
      }
    t.print();
  }
  std::sort(tta_ratio.begin(), tta_ratio.end());
  std::printf("\nAt equal time DETOX is above its vanilla form in %d of %d cases", eq_wins, eq_cells);
  if (!tta_ratio.empty())
    std::printf("; it reaches %s%% %s-%s sooner (%zu cases where both reach it)", points(target).c_str(),
                times(tta_ratio.front()).c_str(), times(tta_ratio.back()).c_str(), tta_ratio.size());
  std::printf(".\n");

  for (const Result& r : rs) ctx.results.push_back(r);
}

}  // namespace demo
