// robustagg: the definition of rule_catalog() (spec.hpp), every rule
// parse_rule knows. Compiled once in the library (src/catalog.cpp), or
// included by spec.hpp in header-only mode (no ROBUSTAGG_COMPILED_LIB).
#pragma once

#include "../cge.hpp"
#include "../spec.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {

ROBUSTAGG_LINKAGE const std::vector<RuleInfo>& rule_catalog() {
  using Nested = std::function<AnyRule(const SpecNode&)>;
  static const std::vector<RuleInfo> catalog = {
      {"mean", "", "n >= 1", "coordinate-wise mean (not robust)",
       [](SpecArgs& a, const Nested&) {
         a.finish("no parameters");
         return AnyRule(Mean{});
       }},
      {"median", "", "n >= 1", "coordinate-wise median (even n: mean of the two middle values)",
       [](SpecArgs& a, const Nested&) {
         a.finish("no parameters");
         return AnyRule(Median{});
       }},
      {"trimmed-mean", "f", "n >= 2f+1",
       "per coordinate, drop the f largest and f smallest values and average the rest",
       [](SpecArgs& a, const Nested&) {
         TrimmedMean r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"krum", "f", "n >= 2f+3",
       "the row with the lowest sum of squared distances to its n-f-2 nearest rows",
       [](SpecArgs& a, const Nested&) {
         Krum r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"multi-krum", "f, m=0", "n >= 2f+3, 1 <= m <= n (m = 0 means n-f)",
       "mean of the m rows with the lowest Krum scores",
       [](SpecArgs& a, const Nested&) {
         MultiKrum r{a.get_int("f"), a.get_int("m", 0)};
         a.finish("f, m");
         return AnyRule(r);
       }},
      {"bulyan", "f", "n >= 4f+3",
       "theta = n-2f rows by repeated Krum, then per coordinate the mean of the theta-2f "
       "values closest to their median",
       [](SpecArgs& a, const Nested&) {
         Bulyan r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"sign-vote", "", "n >= 1", "sign of the sum of the workers' signs (ties and NaN give 0)",
       [](SpecArgs& a, const Nested&) {
         a.finish("no parameters");
         return AnyRule(SignVote{});
       }},
      {"noisy-median", "b, seed=0", "n >= 1, b >= 0",
       "median of the gradients after adding N(0, b^2) noise per worker and coordinate",
       [](SpecArgs& a, const Nested&) {
         NoisyMedian r{a.get_double("b"), a.get_u64("seed", 0)};
         a.finish("b, seed");
         detail::check_noise_scale(r.spec(), r.b);
         return AnyRule(r);
       }},
      {"noisy-sign-vote", "b, seed=0", "n >= 1, b >= 0",
       "sign vote after adding N(0, b^2) noise per worker and coordinate",
       [](SpecArgs& a, const Nested&) {
         NoisySignVote r{a.get_double("b"), a.get_u64("seed", 0)};
         a.finish("b, seed");
         detail::check_noise_scale(r.spec(), r.b);
         return AnyRule(r);
       }},
      {"detox", "r, buckets=0, inner=mean, outer=median, tolerance=0, seed",
       "n a multiple of r (odd); buckets <= n/r; enough groups after the vote for outer",
       "DETOX: majority vote in groups of r rows, inner rule per bucket, outer rule across "
       "buckets (buckets=0: outer on the winners)",
       [](SpecArgs& a, const Nested& nested) {
         Detox r;
         r.r = a.get_int("r");
         r.buckets = a.get_int("buckets", 0);
         if (a.has("inner")) r.inner = a.get_rule("inner", nested);
         if (a.has("outer")) r.outer = a.get_rule("outer", nested);
         if (a.has("tolerance")) r.tolerance = a.get_double("tolerance");
         if (a.has("seed")) r.seed = a.get_u64("seed", 0);
         a.finish("r, buckets, inner, outer, tolerance, seed");
         // Static parameters are checked here, not at the first aggregation.
         if (r.r < 1 || r.r % 2 == 0) detail::fail(r.spec(), ": r must be odd and >= 1, got r = ", r.r);
         if (!(r.tolerance >= 0.0))
           detail::fail(r.spec(), ": tolerance must be finite and >= 0, got tolerance = ", r.tolerance);
         return AnyRule(r);
       }},
      // --- Stages (stages.hpp): a stage followed by the rule given as then= ---
      {"clip", "c, then", "c > 0; then's requirement on the n rows",
       "stage: each row scaled to norm <= c (x * min(1, c/||x||); non-finite rows unchanged), "
       "then the rule then=",
       [](SpecArgs& a, const Nested& nested) {
         const Clip st{a.get_double("c")};
         st.validate(1, 1);  // c > 0, at parse time
         const AnyRule then = detail::stage_then(a, nested, st.spec());
         a.finish("c, then");
         return AnyRule(compose(st, then));
       }},
      {"nnm", "f, then", "n >= 2f+1; then's requirement on the n rows",
       "stage: nearest-neighbour mixing, each row the mean of its n-f nearest rows (itself "
       "included; non-finite rows unchanged), then the rule then=",
       [](SpecArgs& a, const Nested& nested) {
         const Nnm st{a.get_int("f")};
         const AnyRule then = detail::stage_then(a, nested, st.spec());
         a.finish("f, then");
         return AnyRule(compose(st, then));
       }},
      {"arc", "f, then", "n >= 2f+1; then's requirement on the n rows",
       "stage: adaptive robust clipping, the floor(2f(n-f)/n) largest-norm rows scaled to the "
       "next norm (non-finite rows unchanged), then the rule then=",
       [](SpecArgs& a, const Nested& nested) {
         const Arc st{a.get_int("f")};
         const AnyRule then = detail::stage_then(a, nested, st.spec());
         a.finish("f, then");
         return AnyRule(compose(st, then));
       }},
      {"bucketing", "s, seed=0, then", "s >= 1; then's requirement on ceil(n/s) rows",
       "stage: rows shuffled by a seeded permutation, the mean of each group of s, then the "
       "rule then= on the ceil(n/s) means",
       [](SpecArgs& a, const Nested& nested) {
         const Bucketing st{a.get_int("s"), a.get_u64("seed", 0)};
         st.validate(1, 1);  // s >= 1, at parse time
         const AnyRule then = detail::stage_then(a, nested, st.spec());
         a.finish("s, seed, then");
         return AnyRule(compose(st, then));
       }},
      // --- end of stages ---
      // --- The rules after 2020 (geometric median, centered clipping, Meamed,
      // MDA, MoNNA, CAF, SMEA, CGE): static parameters are checked here, at parse time.
      {"geometric-median", "iterations=64, nu=1e-6, tolerance=1e-7", "n >= 1, nu > 0",
       "smoothed Weiszfeld (RFA) over the finite rows from their median: z = sum w_i x_i / "
       "sum w_i, w_i = 1/max(nu, |x_i - z|)",
       [](SpecArgs& a, const Nested&) {
         GeometricMedian r;
         r.iterations = a.get_int("iterations", r.iterations);
         if (a.has("nu")) r.nu = a.get_double("nu");
         if (a.has("tolerance")) r.tolerance = a.get_double("tolerance");
         a.finish("iterations, nu, tolerance");
         r.check_parameters();
         return AnyRule(r);
       }},
      {"centered-clipping", "tau, iterations=1, start=median, warm-start=0", "n >= 1, tau > 0",
       "from the start (median, mean or zero), iterations of v += mean_i c_i (x_i - v), "
       "c_i = min(1, tau/|x_i - v|) (warm-start=1: an Aggregator starts from its previous output)",
       [](SpecArgs& a, const Nested&) {
         CenteredClipping r;
         r.tau = a.get_double("tau");
         r.iterations = a.get_int("iterations", r.iterations);
         if (a.has("start")) {
           const std::string s = a.get_word("start", "median, mean, zero");
           r.start = s == "mean" ? CenteredClipping::Start::mean
                     : s == "zero" ? CenteredClipping::Start::zero
                                   : CenteredClipping::Start::median;
         }
         const int warm = a.get_int("warm-start", 0);
         if (warm > 1)
           detail::fail("rule spec: centered-clipping: warm-start must be 0 or 1, got ", warm);
         r.warm_start = warm == 1;
         a.finish("tau, iterations, start, warm-start");
         r.check_parameters();
         return AnyRule(r);
       }},
      {"meamed", "f", "n >= 2f+1",
       "per coordinate, the mean of the n-f values closest to the median",
       [](SpecArgs& a, const Nested&) {
         Meamed r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"mda", "f", "n >= 2f+1, worst-case search <= 1e10 steps (kMaxMdaWork)",
       "the mean of the n-f rows of smallest diameter (minimum-diameter averaging)",
       [](SpecArgs& a, const Nested&) {
         Mda r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"monna", "f, trusted=0", "n >= 2f+1, 0 <= trusted < n",
       "the mean of the n-f rows closest to the trusted row (itself included)",
       [](SpecArgs& a, const Nested&) {
         Monna r{a.get_int("f"), a.get_int("trusted", 0)};
         a.finish("f, trusted");
         return AnyRule(r);
       }},
      {"caf", "f", "n >= 2f+1",
       "covariance-bound agnostic filter: down-weight rows along the top eigenvector of the "
       "weighted covariance; the mean with the smallest top eigenvalue seen",
       [](SpecArgs& a, const Nested&) {
         Caf r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"smea", "f", "n >= 2f+1, C(n, f) * ((n-f)^3/6 + 2(n-f)^2) <= 1e10 (kMaxSmeaWork)",
       "the mean of the n-f rows whose covariance has the smallest top eigenvalue",
       [](SpecArgs& a, const Nested&) {
         Smea r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      {"cge", "f", "n >= 2f+1",
       "comparative gradient elimination: the mean of the n-f rows of smallest norm",
       [](SpecArgs& a, const Nested&) {
         Cge r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      // --- end of the rules after 2020.
  };
  return catalog;
}

}  // namespace robustagg

ROBUSTAGG_FP_END
