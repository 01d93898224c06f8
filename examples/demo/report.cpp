#include "report.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace demo {

int tenths(double fraction) { return int(std::lround(1000.0 * fraction)); }

std::string points(int t) {
  const int a = std::abs(t);
  return (t < 0 ? "-" : "") + std::to_string(a / 10) + "." + std::to_string(a % 10);
}

std::string cell(const Result* r) {
  if (!r) return "-";
  if (r->diverged) return "diverged";
  return points(tenths(r->accuracy));
}

namespace {
std::string sig3(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}
}  // namespace

std::string ms(double milliseconds) { return sig3(milliseconds); }
std::string secs(double seconds) { return sig3(seconds); }
double as_printed(double time) { return std::stod(sig3(time)); }
std::string times(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fx", ratio);
  return buf;
}

std::string shown(std::string spec) {
  for (const std::string cut : {"buckets=0, inner=mean, ", ", m=0"})
    for (std::size_t at; (at = spec.find(cut)) != std::string::npos;) spec.erase(at, cut.size());
  return spec;
}

void Table::row(std::vector<std::string> cells) {
  for (const auto& r : rows_)
    if (!r.empty() && !cells.empty() && r[0] == cells[0])
      throw std::logic_error("table row '" + cells[0] + "' listed twice");
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::FILE* to) const {
  std::vector<std::size_t> w(header_.size(), 3);
  auto widen = [&](const std::vector<std::string>& cells) {
    for (std::size_t k = 0; k < cells.size(); ++k) w[k] = std::max(w[k], cells[k].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (std::size_t k = 0; k < cells.size(); ++k) {
      const std::string pad(w[k] - cells[k].size(), ' ');
      s += " " + (k == 0 ? cells[k] + pad : pad + cells[k]) + " |";
    }
    std::fprintf(to, "%s\n", s.c_str());
  };
  line(header_);
  std::string rule = "|";
  for (std::size_t k = 0; k < header_.size(); ++k)
    rule += k == 0 ? std::string(w[k] + 2, '-') + "|" : std::string(w[k] + 1, '-') + ":|";
  std::fprintf(to, "%s\n", rule.c_str());
  for (const auto& r : rows_) line(r);
}

const Result* find(const std::vector<Result>& rs, const std::string& attack, const std::string& rule, int q) {
  for (const Result& r : rs)
    if (r.attack == attack && r.rule == rule && (q < 0 || r.q == q)) return &r;
  return nullptr;
}

std::vector<Result> Runner::run(const std::string& experiment, const std::vector<Job>& jobs) {
  using Clock = std::chrono::steady_clock;
  std::vector<Result> results(jobs.size());
  std::vector<double> seconds(jobs.size(), 0.0);
  std::vector<char> done(jobs.size(), 0);
  std::size_t printed = 0, finished = 0;
  std::mutex lock;
  const bool tty = isatty(fileno(stderr)) != 0;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  auto worker = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      try {
        const auto t0 = Clock::now();
        Result r = jobs[j].run();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        const std::lock_guard<std::mutex> hold(lock);
        results[j] = std::move(r);
        seconds[j] = s;
        done[j] = 1;
        ++finished;
        // Progress: the finished runs, in job order.
        for (; printed < jobs.size() && done[printed]; ++printed) {
          const Result& x = results[printed];
          std::fprintf(log_, "[%s %zu/%zu] %s: %s (%s s)\n", experiment.c_str(), printed + 1, jobs.size(),
                       jobs[printed].what.c_str(),
                       x.diverged ? ("diverged at step " + std::to_string(x.steps)).c_str() : (cell(&x) + "%").c_str(),
                       secs(seconds[printed]).c_str());
        }
        std::fflush(log_);
        if (tty && log_ != stdout) {
          std::fprintf(stderr, "\r[%s] %zu/%zu runs", experiment.c_str(), finished, jobs.size());
          if (finished == jobs.size()) std::fprintf(stderr, "\r%40s\r", "");
          std::fflush(stderr);
        }
      } catch (...) {
        const std::lock_guard<std::mutex> hold(lock);
        if (!failure) failure = std::current_exception();
        next = jobs.size();
      }
    }
  };
  std::thread other(worker);
  worker();
  other.join();
  if (failure) std::rethrow_exception(failure);
  return results;
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

void write_csv(const std::string& path, const std::vector<Result>& results) {
  std::ofstream f(path);
  f << "experiment,q,attack,rule,lr,status,steps,accuracy,ms_per_gradient,ms_per_aggregation,sim_seconds,note\n";
  std::size_t rows = 0;
  for (const Result& r : results) {
    const std::string head = r.experiment + ',' + std::to_string(r.q) + ',' + csv_field(r.attack) + ',' +
                             csv_field(r.rule) + ',' + (r.lr > 0 ? secs(r.lr) : std::string()) + ',';
    const bool timed = r.sim_ms_step > 0;
    const std::string timing =
        timed ? ms(r.ms_gradient) + ',' + ms(r.ms_aggregation) : std::string(",");
    f << head << (r.diverged ? "diverged" : "ok") << ',' << r.steps << ','
      << (r.diverged ? std::string() : cell(&r)) << ',' << timing << ','
      << (timed ? secs(r.steps * r.sim_ms_step / 1e3) : std::string()) << ',' << csv_field(r.cause) << '\n';
    ++rows;
    for (const auto& [step, a] : r.curve) {
      f << head << "curve," << step << ',' << points(tenths(a)) << ',' << timing << ','
        << (timed ? secs(step * r.sim_ms_step / 1e3) : std::string()) << ",\n";
      ++rows;
    }
  }
  if (!f) throw std::runtime_error("cannot write " + path);
  std::printf("\nwrote %zu rows to %s\n", rows, path.c_str());
}

std::vector<double> time_rules(const std::vector<std::pair<const robustagg::GradientMatrix<float>*, std::string>>& jobs,
                               int reps) {
  std::vector<robustagg::AnyRule> rules;
  for (const auto& j : jobs) rules.push_back(robustagg::parse_rule(j.second));
  robustagg::Workspace ws;
  robustagg::Vector<float> out;
  std::vector<std::vector<double>> t(jobs.size());
  for (int k = 0; k <= reps; ++k)  // round k = 0: warm-up, not counted
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const auto t0 = std::chrono::steady_clock::now();
      robustagg::aggregate(*jobs[j].first, rules[j], out, ws);
      if (k > 0) t[j].push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  std::vector<double> median;
  for (auto& v : t) {
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    median.push_back(v[v.size() / 2]);
  }
  return median;
}

double time_to(const Result& r, int target) {
  for (const auto& [step, acc] : r.curve)
    if (tenths(acc) >= target) return step * r.sim_ms_step / 1e3;
  return -1.0;
}

std::string tta_cell(const Result* r, int target) {
  if (!r || r->diverged) return "diverged";
  const double t = time_to(*r, target);
  return t < 0 ? "not reached" : secs(t);
}

}  // namespace demo
