// robustagg: the command-line tool. Aggregates a stack of gradients saved with
// numpy.save and writes the robust gradient back as .npy (or a stage's own
// output matrix), lists the rules and the attacks, and never crashes or leaves a
// partial file behind on bad input.
//
//   robustagg aggregate --rule SPEC [--report] IN.npy OUT.npy
//   robustagg stage --stage SPEC [--report] IN.npy OUT.npy
//   robustagg rules | attacks
//   robustagg --help | --version
//
// Exit codes: 0 success, 1 bad input or I/O failure, 2 usage error (bad command
// line, malformed rule spec, OUT is IN). Every failure prints exactly one line
// "robustagg: <message>" on stderr.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <robustagg/aggregate.hpp>
#include <robustagg/any_stage.hpp>
#include <robustagg/attacks/spec.hpp>
#include <robustagg/spec.hpp>
#include <robustagg/version.hpp>

#include "npy.hpp"

namespace {

namespace npy = robustagg::tools::npy;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

/// A command-line mistake: exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

/// Bad input data or an I/O failure: exit code 1.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

const char* const kMainHelp =
    "robustagg - Byzantine-robust aggregation of gradients stored as NumPy .npy files\n"
    "\n"
    "Usage:\n"
    "  robustagg aggregate --rule SPEC [--report] IN.npy OUT.npy\n"
    "  robustagg stage --stage SPEC [--report] IN.npy OUT.npy\n"
    "  robustagg rules\n"
    "  robustagg attacks\n"
    "  robustagg --help | --version\n"
    "\n"
    "Commands:\n"
    "  aggregate   read an n x d float32/float64 matrix (one row per worker) from IN.npy,\n"
    "              aggregate its rows with the rule SPEC and write the d-vector to OUT.npy\n"
    "  stage       run one stage (clip, nnm, arc, bucketing; no then=) on IN.npy and write\n"
    "              the matrix it outputs to OUT.npy (n x d; ceil(n/s) x d for bucketing)\n"
    "  rules       list every rule and stage with its parameters and requirement\n"
    "              (a stage takes the rule that follows as then=, e.g.\n"
    "              'nnm(f=2, then=trimmed-mean(f=2))')\n"
    "  attacks     list the attack models of robustagg::attacks (simulations)\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help (robustagg aggregate --help: the command's help)\n"
    "  -V, --version  print the version\n"
    "\n"
    "Exit codes: 0 success, 1 bad input or I/O error, 2 usage error.\n"
    "Example: robustagg aggregate --rule 'multi-krum(f=2)' grads.npy robust.npy\n";

const char* const kAggregateHelp =
    "Usage: robustagg aggregate --rule SPEC [--report] IN.npy OUT.npy\n"
    "\n"
    "Reads IN.npy, a 2-D C-order array of float32 or float64 (n gradients x d coordinates,\n"
    ".npy format 1.0, 2.0 or 3.0, little-endian), aggregates its rows with the rule SPEC\n"
    "and writes the result as a 1-D array of d values of the same dtype to OUT.npy (.npy 1.0).\n"
    "\n"
    "Options:\n"
    "  -r, --rule SPEC  the rule, e.g. 'median', 'trimmed-mean(f=2)', 'multi-krum(f=2, m=8)',\n"
    "                   or stages before a rule: 'clip(c=2, then=nnm(f=1, then=krum(f=1)))'\n"
    "                   (see robustagg rules)\n"
    "  --report         print what the aggregation did on stderr: the rule, n and d, and one\n"
    "                   line per stage for multi-stage rules (dropped groups, buckets,\n"
    "                   rows changed by clip and arc)\n"
    "  -h, --help       show this help\n"
    "  --               end of options\n"
    "\n"
    "OUT.npy is written to a temporary file in its directory and renamed over OUT.npy only\n"
    "when complete: a failure never leaves a partial or half-replaced file. OUT.npy must\n"
    "not be IN.npy. Exit codes: 0 success, 1 bad input or I/O error, 2 usage error.\n";

const char* const kStageHelp =
    "Usage: robustagg stage --stage SPEC [--report] IN.npy OUT.npy\n"
    "\n"
    "Reads IN.npy as `aggregate` does (n x d, float32 or float64), runs the stage SPEC on its\n"
    "rows and writes the matrix the stage outputs, same dtype, to OUT.npy (.npy 1.0, C order):\n"
    "n x d for clip, nnm and arc, ceil(n/s) x d for bucketing. SPEC is a stage of\n"
    "robustagg rules without then=, e.g. 'nnm(f=2)', 'clip(c=1)', 'bucketing(s=2, seed=7)'.\n"
    "\n"
    "Options:\n"
    "  -s, --stage SPEC  the stage\n"
    "  --report          print the stage's report line on stderr (rows in and out, rows changed)\n"
    "  -h, --help        show this help\n"
    "  --                end of options\n"
    "\n"
    "OUT.npy is written atomically, as by aggregate. Exit codes: 0 success, 1 bad input or\n"
    "I/O error, 2 usage error.\n";

/// The message as one printable line (paths and header bytes are untrusted).
std::string one_line(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// ---------------------------------------------------------------------------
// Atomic output: a temporary file next to OUT, renamed over it when complete.

// The temporary file's path for the signal handler (async-signal-safe unlink).
char g_temp_path[8192];
volatile std::sig_atomic_t g_temp_active = 0;

extern "C" void remove_temp_and_reraise(int sig) {
  if (g_temp_active) ::unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

class AtomicOutput {
 public:
  explicit AtomicOutput(const std::string& out) : path_(destination(out)) {
    const std::string& path = path_;
    const std::size_t slash = path.find_last_of('/');
    const std::string dir =
        slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
      throw InputError(quoted(path) + " is a directory, not a file name");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) throw InputError(quoted(path) + " is a directory");
      if (!S_ISREG(st.st_mode))
        throw InputError(quoted(path) + " exists and is not a regular file; not replacing it");
    }
    // ".OUT.tmp-XXXXXX" in OUT's directory, so the rename stays on one file system.
    temp_ = dir + "/." + base.substr(0, 200) + ".tmp-XXXXXX";
    if (temp_.size() >= sizeof g_temp_path)
      throw InputError("output path too long: " + quoted(path));
    std::vector<char> name(temp_.begin(), temp_.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
      throw InputError("cannot create a file in the directory of " + quoted(path) + ": " +
                       std::strerror(errno));
    temp_.assign(name.data());
    std::memcpy(g_temp_path, name.data(), name.size());
    g_temp_active = 1;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, remove_temp_and_reraise);
    // mkstemp creates the file 0600; give it the mode a plain create would.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      const int e = errno;
      ::close(fd);
      discard();
      throw InputError(std::string("cannot open the temporary output file: ") + std::strerror(e));
    }
  }
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    if (!committed_) discard();
  }

  std::FILE* stream() { return file_; }

  /// Where the output goes: OUT itself, or the file a symbolic link OUT points
  /// to (the link is kept and its target replaced).
  static std::string destination(const std::string& out) {
    struct stat st {};
    if (::lstat(out.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return out;
    char* resolved = ::realpath(out.c_str(), nullptr);
    if (!resolved)
      throw InputError(quoted(out) + " is a symbolic link that cannot be resolved: " +
                       std::strerror(errno));
    std::string target(resolved);
    std::free(resolved);
    return target;
  }

  /// Flushes, syncs and renames the temporary file over the output path.
  void commit() {
    std::FILE* f = file_;
    file_ = nullptr;
    const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int e1 = errno;
    const bool closed = std::fclose(f) == 0;
    if (!flushed || !closed)
      throw InputError("cannot write " + quoted(path_) + ": " + std::strerror(flushed ? errno : e1));
    if (std::rename(temp_.c_str(), path_.c_str()) != 0)
      throw InputError("cannot replace " + quoted(path_) + ": " + std::strerror(errno));
    committed_ = true;
    g_temp_active = 0;
  }

 private:
  void discard() {
    g_temp_active = 0;
    ::unlink(temp_.c_str());
  }

  std::string path_;
  std::string temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

/// Refuses OUT when it names IN: the same path, or the same file reached
/// through another path, a hard link or a symbolic link.
void refuse_same_file(const std::string& in, const std::string& out) {
  if (in == out)
    throw UsageError("refusing to overwrite the input " + quoted(in) + " with the output");
  struct stat si {}, so {};
  if (::stat(in.c_str(), &si) == 0 && ::stat(out.c_str(), &so) == 0 && si.st_dev == so.st_dev &&
      si.st_ino == so.st_ino)
    throw UsageError("refusing to overwrite the input " + quoted(in) + ": " + quoted(out) +
                     " is the same file");
}

// ---------------------------------------------------------------------------
// Commands.

std::string shape_text(robustagg::Index n, robustagg::Index d) {
  return "n=" + std::to_string(n) + " d=" + std::to_string(d);
}

void print_report(const char* what, const std::string& spec, robustagg::Index n, robustagg::Index d,
                  const robustagg::Workspace& ws) {
  std::fprintf(stderr, "%s %s: %s\n", what, one_line(spec).c_str(), shape_text(n, d).c_str());
  for (const robustagg::StageReport& r : ws.report()) {
    std::string line = "stage " + r.stage + ": rows " + std::to_string(r.rows_in) + " -> " +
                       std::to_string(r.rows_out);
    if (!r.dropped.empty()) {
      line += ", dropped [";
      const std::size_t shown = r.dropped.size() < 32 ? r.dropped.size() : 32;
      for (std::size_t i = 0; i < shown; ++i)
        line += (i ? ", " : "") + std::to_string(r.dropped[i]);
      if (shown < r.dropped.size())
        line += ", ... (" + std::to_string(r.dropped.size()) + " in all)";
      line += "]";
    }
    if (r.changed) line += ", changed " + std::to_string(r.changed);
    if (!r.detail.empty()) line += " (" + r.detail + ")";
    std::fprintf(stderr, "%s\n", one_line(line).c_str());
  }
}

template <class T>
void aggregate_into(const robustagg::GradientMatrix<T>& g, const robustagg::AnyRule& rule,
                    bool report, AtomicOutput& out) {
  robustagg::Vector<T> result;
  robustagg::Workspace ws;
  try {
    robustagg::aggregate(g, rule, result, ws);
  } catch (const robustagg::Error& e) {
    throw InputError(e.what());
  }
  if (report) print_report("rule", rule.spec(), g.rows(), g.cols(), ws);
  try {
    npy::write_vector<T>(out.stream(), result.data(), std::uint64_t(result.size()));
  } catch (const npy::Error& e) {
    throw InputError(e.what());
  }
}

/// The arguments of aggregate and stage: the spec option, --report, IN, OUT.
struct RunArgs {
  std::string spec;
  bool report = false;
  bool help = false;
  std::vector<std::string> files;
};

RunArgs parse_run_args(const std::vector<std::string>& args, const std::string& cmd,
                       const std::string& option, const char* short_option, const std::string& what) {
  RunArgs r;
  bool have_spec = false, options_done = false;
  const std::string eq = option + "=";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!options_done && a.size() > 1 && a[0] == '-') {
      if (a == "--") {
        options_done = true;
      } else if (a == "-h" || a == "--help") {
        r.help = true;
        return r;
      } else if (a == "--report") {
        r.report = true;
      } else if (a == short_option || a == option || a.rfind(eq, 0) == 0) {
        if (have_spec) throw UsageError(cmd + ": " + option + " given twice");
        have_spec = true;
        if (a.rfind(eq, 0) == 0) {
          r.spec = a.substr(eq.size());
        } else {
          if (i + 1 >= args.size()) throw UsageError(cmd + ": " + a + " needs a " + what + " spec");
          r.spec = args[++i];
        }
      } else {
        throw UsageError(cmd + ": unknown option '" + a + "' (see robustagg " + cmd + " --help)");
      }
    } else {
      r.files.push_back(a);
    }
  }
  if (!have_spec)
    throw UsageError(cmd + ": missing " + option + " SPEC (see robustagg rules for the " + what + "s)");
  if (r.files.size() != 2)
    throw UsageError(cmd + ": need IN.npy and OUT.npy, got " + std::to_string(r.files.size()) +
                     (r.files.size() == 1 ? " file name" : " file names") + " (see robustagg " + cmd +
                     " --help)");
  return r;
}

/// Reads IN (after refusing OUT == IN).
npy::Matrix read_input(const std::string& in, const std::string& out) {
  refuse_same_file(in, out);
  try {
    return npy::read_matrix(in);
  } catch (const npy::Error& e) {
    throw InputError(in + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw InputError(in + ": out of memory reading the array");
  }
}

int cmd_aggregate(const std::vector<std::string>& args) {
  const RunArgs ra = parse_run_args(args, "aggregate", "--rule", "-r", "rule");
  if (ra.help) {
    std::fputs(kAggregateHelp, stdout);
    return kExitOk;
  }
  const std::string& spec = ra.spec;
  const bool report = ra.report;
  const std::vector<std::string>& files = ra.files;
  robustagg::AnyRule rule;
  try {
    rule = robustagg::parse_rule(spec);
  } catch (const robustagg::Error& e) {
    throw UsageError(e.what());
  }
  const std::string& in = files[0];
  const std::string& out = files[1];
  const npy::Matrix m = read_input(in, out);
  // Check the rule against the shape before touching the output directory.
  try {
    rule.validate(m.rows(), m.cols());
  } catch (const robustagg::Error& e) {
    throw InputError(e.what());
  }
  AtomicOutput output(out);
  if (m.dtype == npy::Dtype::float32)
    aggregate_into(m.f32, rule, report, output);
  else
    aggregate_into(m.f64, rule, report, output);
  output.commit();
  return kExitOk;
}

int cmd_rules(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs("Usage: robustagg rules\n\nLists every rule and stage with its parameters, "
                 "requirement and definition.\n",
                 stdout);
      return kExitOk;
    }
    throw UsageError("rules: unexpected argument '" + a + "'");
  }
  std::printf("Rules (n = number of gradients; use with --rule, parameters as key=value,\n"
              "e.g. --rule 'multi-krum(f=2, m=8)'). A stage (clip, nnm, arc, bucketing)\n"
              "takes the rule that follows as then=, e.g. --rule 'nnm(f=2, then=krum(f=2))':\n\n");
  for (const robustagg::RuleInfo& r : robustagg::rule_catalog()) {
    const std::string head = r.parameters.empty() ? r.name : r.name + "(" + r.parameters + ")";
    std::printf("  %s\n      %s\n      requires %s\n", head.c_str(), r.summary.c_str(),
                r.requirement.c_str());
  }
  return kExitOk;
}

template <class T>
void stage_into(const robustagg::GradientMatrix<T>& g, const robustagg::AnyStage& stage,
                bool report, AtomicOutput& out) {
  robustagg::Workspace ws;
  robustagg::RowsView<T> v;
  try {
    v = stage.apply(robustagg::RowsView<T>::strided(g.data(), g.rows(), g.cols(), g.cols()), ws,
                    ws.report());
  } catch (const robustagg::Error& e) {
    throw InputError(e.what());
  }
  if (report) print_report("stage", stage.spec(), g.rows(), g.cols(), ws);
  std::vector<const T*> rows(std::size_t(v.rows()));
  for (robustagg::Index i = 0; i < v.rows(); ++i) rows[std::size_t(i)] = v.row(i);
  try {
    npy::write_matrix<T>(out.stream(), rows.data(), std::uint64_t(v.rows()), std::uint64_t(g.cols()));
  } catch (const npy::Error& e) {
    throw InputError(e.what());
  }
}

int cmd_stage(const std::vector<std::string>& args) {
  const RunArgs ra = parse_run_args(args, "stage", "--stage", "-s", "stage");
  if (ra.help) {
    std::fputs(kStageHelp, stdout);
    return kExitOk;
  }
  robustagg::AnyStage stage;
  try {
    stage = robustagg::parse_stage(ra.spec);
  } catch (const robustagg::Error& e) {
    throw UsageError(e.what());
  }
  const npy::Matrix m = read_input(ra.files[0], ra.files[1]);
  // Check the stage against the shape before touching the output directory.
  try {
    stage.validate(m.rows(), m.cols());
  } catch (const robustagg::Error& e) {
    throw InputError(e.what());
  }
  AtomicOutput output(ra.files[1]);
  if (m.dtype == npy::Dtype::float32)
    stage_into(m.f32, stage, ra.report, output);
  else
    stage_into(m.f64, stage, ra.report, output);
  output.commit();
  return kExitOk;
}

int cmd_attacks(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs("Usage: robustagg attacks\n\nLists the attack models of robustagg::attacks "
                 "(for simulations and tests) with their parameters, kind and requirement.\n",
                 stdout);
      return kExitOk;
    }
    throw UsageError("attacks: unexpected argument '" + a + "'");
  }
  std::printf("Attacks (robustagg::attacks::parse_attack, Python robustagg.attacks.apply; parameters\n"
              "as key=value, e.g. 'alie(z=1.5)'). A gradient attack replaces the Byzantine rows;\n"
              "a data attack changes what the Byzantine workers train on:\n\n");
  for (const robustagg::attacks::AttackInfo& a : robustagg::attacks::attack_catalog()) {
    const std::string head = a.parameters.empty() ? a.name : a.name + "(" + a.parameters + ")";
    std::printf("  %s  [%s]\n      %s\n      requires %s\n", head.c_str(),
                robustagg::attacks::kind_name(a.kind), a.summary.c_str(), a.requirement.c_str());
  }
  return kExitOk;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) throw UsageError("missing command (see robustagg --help)");
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kMainHelp, stdout);
    return kExitOk;
  }
  if (cmd == "-V" || cmd == "--version") {
    std::printf("robustagg %s\n", robustagg::version);
    return kExitOk;
  }
  if (cmd == "aggregate") return cmd_aggregate(rest);
  if (cmd == "rules") return cmd_rules(rest);
  if (cmd == "stage") return cmd_stage(rest);
  if (cmd == "attacks") return cmd_attacks(rest);
  if (!cmd.empty() && cmd[0] == '-') throw UsageError("unknown option '" + cmd + "' (see robustagg --help)");
  throw UsageError("unknown command '" + cmd + "' (see robustagg --help)");
}

int fail(int code, const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "robustagg: %s\n", one_line(message).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f), report the failed write and clean up
  // instead of being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  int code = kExitOk;
  try {
    code = run(argc, argv);
  } catch (const UsageError& e) {
    return fail(kExitUsage, e.what());
  } catch (const InputError& e) {
    return fail(kExitError, e.what());
  } catch (const std::bad_alloc&) {
    return fail(kExitError, "out of memory");
  } catch (const std::exception& e) {
    return fail(kExitError, e.what());
  } catch (...) {
    return fail(kExitError, "unexpected error");
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return fail(kExitError, std::string("cannot write to standard output: ") + std::strerror(errno));
  return code;
}
