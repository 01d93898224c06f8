// Reporting: the one rounding of every printed number (progress lines,
// tables, conclusions and the CSV all go through these functions), tables
// printed as Markdown, the progress log and the CSV.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "setup.hpp"

namespace demo {

/// An accuracy (a fraction) in tenths of a percentage point, rounded half
/// away from zero: the only rounding of an accuracy. Conclusions compare
/// and subtract these integers, so they agree with the printed tables.
int tenths(double fraction);
/// "77.8" for 778 tenths; "-1.2" for -12.
std::string points(int tenths);
/// The accuracy of a run as printed everywhere: "77.8", or "diverged".
std::string cell(const Result* r);
/// Milliseconds to 3 significant digits ("15.1", "0.842"): the only
/// rounding of a time.
std::string ms(double milliseconds);
/// Seconds to 3 significant digits.
std::string secs(double seconds);
/// A ratio with one decimal ("6.7x").
std::string times(double ratio);
/// A time as ms() and secs() print it, back as a number: ratios and
/// conclusions are computed from these, so they agree with the printed times.
double as_printed(double time);

/// A canonical rule spec as printed in tables: without DETOX's default
/// "buckets=0, inner=mean, " and Multi-Krum's default ", m=0" (the CSV keeps
/// the canonical spec).
std::string shown(std::string spec);

/// A table printed as Markdown (aligned for the terminal). Row labels
/// must be distinct: a duplicate throws (a table lists each thing once).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells);
  void print(std::FILE* to = stdout) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// The first run in `rs` with this attack and rule (and q, when q >= 0).
const Result* find(const std::vector<Result>& rs, const std::string& attack, const std::string& rule, int q = -1);

/// One training run for the job list: a name for the progress line and
/// the work.
struct Job {
  std::string what;
  std::function<Result()> run;
};

/// Runs jobs two at a time, one per core (each run computes its gradients
/// and aggregates on its own thread; main sets robustagg to one thread), and
/// writes one progress line per finished run, in job order, to the log.
/// A run's result does not depend on which thread ran it.
class Runner {
 public:
  explicit Runner(std::FILE* log) : log_(log) {}
  std::vector<Result> run(const std::string& experiment, const std::vector<Job>& jobs);

 private:
  std::FILE* log_;
};

/// The median time (ms) of one robustagg::aggregate call per (gradients,
/// rule) job, over `reps` rounds after a warm-up round; a round calls every
/// job once, so every rule sees the same machine load. Uses robustagg's
/// thread setting (one thread in the demo).
std::vector<double> time_rules(const std::vector<std::pair<const robustagg::GradientMatrix<float>*, std::string>>& jobs,
                               int reps);
/// The simulated time (s) at which a run's curve first reaches `target`
/// tenths (on the curve subset); < 0: never.
double time_to(const Result& r, int target);
/// time_to as printed: seconds, "not reached" or "diverged".
std::string tta_cell(const Result* r, int target);

/// The CSV of every run (docs/experiments.md documents the columns).
void write_csv(const std::string& path, const std::vector<Result>& results);

}  // namespace demo
