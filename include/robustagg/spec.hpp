// robustagg: rule spec strings. parse_rule("multi-krum(f=2, m=8)") returns an
// AnyRule; rule_catalog() lists every rule the parser knows.
//
// Grammar (white space allowed between tokens):
//   spec  := name [ "(" [ arg { "," arg } ] ")" ]
//   arg   := key "=" value
//   value := number | spec
//   name, key := [a-z0-9_-]+ (starting with a letter)
// Unknown names or keys, repeated keys, missing or malformed values are errors
// (robustagg::Error naming the spec and the position).
#pragma once

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bulyan.hpp"
#include "caf.hpp"
#include "centered_clipping.hpp"
#include "detox.hpp"
#include "errors.hpp"
#include "geometric_median.hpp"
#include "krum.hpp"
#include "mda.hpp"
#include "mean.hpp"
#include "meamed.hpp"
#include "median.hpp"
#include "monna.hpp"
#include "noisy.hpp"
#include "rule.hpp"
#include "sign_vote.hpp"
#include "stages.hpp"
#include "smea.hpp"
#include "trimmed_mean.hpp"

namespace robustagg {

/// One node of a parsed spec: a name and its key = value arguments.
struct SpecNode {
  struct Value {
    std::string number;              // the number's text, when a number
    std::shared_ptr<SpecNode> node;  // the nested spec, when a spec
    std::size_t position = 0;        // offset of the value in the spec string
  };
  std::string name;
  std::vector<std::pair<std::string, Value>> args;
  std::size_t position = 0;
};

namespace detail {

class SpecParser {
 public:
  explicit SpecParser(const std::string& text) : s_(text) {}

  SpecNode parse() {
    SpecNode node = parse_node();
    skip_space();
    if (pos_ != s_.size()) error("unexpected '" + std::string(1, s_[pos_]) + "'");
    return node;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail("rule spec '", s_, "': ", what, " at position ", pos_);
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  }
  std::string word(const char* what) {
    skip_space();
    if (pos_ >= s_.size() || !std::isalpha(static_cast<unsigned char>(s_[pos_])))
      error(std::string("expected ") + what);
    const std::size_t start = pos_;
    while (pos_ < s_.size() && word_char(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  SpecNode parse_node() {
    if (++depth_ > 16) error("specs nest too deeply");
    SpecNode node;
    skip_space();
    node.position = pos_;
    node.name = word("a rule name");
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
      } else {
        for (;;) {
          std::string key = word("a parameter name");
          for (const auto& kv : node.args)
            if (kv.first == key) error("parameter '" + key + "' given twice");
          skip_space();
          if (pos_ >= s_.size() || s_[pos_] != '=')
            error("expected '=' after '" + key + "' (parameters are key=value)");
          ++pos_;
          node.args.emplace_back(std::move(key), parse_value());
          skip_space();
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < s_.size() && s_[pos_] == ')') {
            ++pos_;
            break;
          }
          error("expected ',' or ')'");
        }
      }
    }
    --depth_;
    return node;
  }
  SpecNode::Value parse_value() {
    skip_space();
    SpecNode::Value v;
    v.position = pos_;
    if (pos_ >= s_.size()) error("expected a value");
    const char c = s_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c))) {
      v.node = std::make_shared<SpecNode>(parse_node());
      return v;
    }
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '.' || s_[pos_] == '+' || s_[pos_] == '-'))
      ++pos_;
    if (pos_ == start) error("expected a value");
    v.number = s_.substr(start, pos_ - start);
    return v;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace detail

/// Parses the grammar above into a tree, without knowing rule names.
inline SpecNode parse_spec(const std::string& text) { return detail::SpecParser(text).parse(); }

/// The arguments of one spec node, read by a rule builder. Every argument
/// must be read; finish() rejects the rest as unknown.
class SpecArgs {
 public:
  SpecArgs(const SpecNode& node, const std::string& text) : node_(node), text_(text) {
    used_.assign(node.args.size(), false);
  }

  const std::string& name() const { return node_.name; }
  bool has(const std::string& key) const { return find(key) >= 0; }

  /// A non-negative integer that fits an int.
  int get_int(const std::string& key) { return int(get_integer(key, 0x7fffffff)); }
  int get_int(const std::string& key, int fallback) {
    return has(key) ? get_int(key) : fallback;
  }

  /// A non-negative integer up to 2^64 - 1.
  std::uint64_t get_u64(const std::string& key, std::uint64_t fallback) {
    return has(key) ? get_integer(key, ~std::uint64_t(0)) : fallback;
  }

  /// A finite real number.
  double get_double(const std::string& key) {
    const SpecNode::Value& v = number(key);
    const char* begin = v.number.c_str();
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(begin, &end);
    if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(x))
      error(key, "must be a finite number, got '" + v.number + "'");
    return x;
  }

  /// A nested rule spec (built with `build`).
  template <class Build>
  AnyRule get_rule(const std::string& key, Build&& build) {
    const std::size_t k = require(key);
    const SpecNode::Value& v = node_.args[k].second;
    if (!v.node) error(key, "must be a rule spec, got '" + v.number + "'");
    return build(*v.node);
  }

  /// Rejects every argument no builder read.
  void finish(const char* allowed) const {
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i])
        detail::fail("rule spec '", text_, "': ", node_.name, " has no parameter '",
                     node_.args[i].first, "' (", node_.name, " takes ", allowed, ")");
  }

 private:
  int find(const std::string& key) const {
    for (std::size_t i = 0; i < node_.args.size(); ++i)
      if (node_.args[i].first == key) return int(i);
    return -1;
  }
  std::size_t require(const std::string& key) {
    const int k = find(key);
    if (k < 0) detail::fail("rule spec '", text_, "': ", node_.name, " needs parameter '", key, "'");
    used_[std::size_t(k)] = true;
    return std::size_t(k);
  }
  const SpecNode::Value& number(const std::string& key) {
    const SpecNode::Value& v = node_.args[require(key)].second;
    if (v.node && v.node->args.empty() && is_non_finite_word(v.node->name))
      error(key, "must be a finite number, got '" + v.node->name + "'");
    if (v.node) error(key, "must be a number, got the rule '" + v.node->name + "'");
    return v;
  }
  std::uint64_t get_integer(const std::string& key, std::uint64_t max) {
    const SpecNode::Value& v = number(key);
    const std::string& t = v.number;
    bool digits = !t.empty();
    for (char c : t) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) error(key, "must be a non-negative integer, got '" + t + "'");
    errno = 0;
    const unsigned long long x = std::strtoull(t.c_str(), nullptr, 10);
    if (errno == ERANGE || x > max)
      error(key, "is out of range (at most " + std::to_string(max) + "), got " + t);
    return x;
  }
  /// "nan", "inf", "infinity" in any case: parsed as names, meant as numbers.
  static bool is_non_finite_word(const std::string& w) {
    std::string l;
    for (char c : w) l += char(std::tolower(static_cast<unsigned char>(c)));
    return l == "nan" || l == "inf" || l == "infinity";
  }
  [[noreturn]] void error(const std::string& key, const std::string& what) const {
    detail::fail("rule spec '", text_, "': ", node_.name, ": ", key, " ", what);
  }

  const SpecNode& node_;
  const std::string& text_;
  std::vector<bool> used_;
};

/// One rule the parser knows, for listings (robustagg rules, --help).
struct RuleInfo {
  std::string name;         // "multi-krum"
  std::string parameters;   // "f, m=0"
  std::string requirement;  // "n >= 2f+3, 1 <= m <= n (m = 0 means n - f)"
  std::string summary;      // one line
  std::function<AnyRule(SpecArgs&, const std::function<AnyRule(const SpecNode&)>&)> build;
};

/// Every rule parse_rule knows, in the order the docs list them.
inline const std::vector<RuleInfo>& rule_catalog() {
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
      // MDA, MoNNA, CAF, SMEA): static parameters are checked here, at parse time.
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
      {"centered-clipping", "tau, iterations=1, warm-start=0", "n >= 1, tau > 0",
       "from the median, iterations of v += mean_i c_i (x_i - v), c_i = min(1, tau/|x_i - v|) "
       "(warm-start=1: an Aggregator starts from its previous output)",
       [](SpecArgs& a, const Nested&) {
         CenteredClipping r;
         r.tau = a.get_double("tau");
         r.iterations = a.get_int("iterations", r.iterations);
         const int warm = a.get_int("warm-start", 0);
         if (warm > 1)
           detail::fail("rule spec: centered-clipping: warm-start must be 0 or 1, got ", warm);
         r.warm_start = warm == 1;
         a.finish("tau, iterations, warm-start");
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
      {"mda", "f", "n >= 2f+1, C(n, f) <= 1000000",
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
      {"smea", "f", "n >= 2f+1, C(n, f) <= 1000000, C(n, f) * (n-f)^3 <= 5e8",
       "the mean of the n-f rows whose covariance has the smallest top eigenvalue",
       [](SpecArgs& a, const Nested&) {
         Smea r{a.get_int("f")};
         a.finish("f");
         return AnyRule(r);
       }},
      // --- end of the rules after 2020.
  };
  return catalog;
}

namespace detail {

/// True when `key` is one of the parameters listed in `parameters` ("f, m=0").
inline bool takes_parameter(const std::string& parameters, const std::string& key) {
  std::size_t pos = 0;
  while (pos < parameters.size()) {
    std::size_t end = parameters.find(',', pos);
    if (end == std::string::npos) end = parameters.size();
    std::string item = parameters.substr(pos, end - pos);
    item = item.substr(0, item.find('='));
    const std::size_t a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
    if (a != std::string::npos && item.substr(a, b - a + 1) == key) return true;
    pos = end + 1;
  }
  return false;
}

inline AnyRule build_rule(const SpecNode& node, const std::string& text) {
  for (const RuleInfo& info : rule_catalog()) {
    if (info.name != node.name) continue;
    // Unknown keys first, so "krum(g=2)" reports 'g' rather than a missing 'f'.
    for (const auto& kv : node.args)
      if (!takes_parameter(info.parameters, kv.first))
        fail("rule spec '", text, "': ", node.name, " has no parameter '", kv.first, "' (",
             node.name, " takes ", info.parameters.empty() ? "no parameters" : info.parameters,
             ")");
    SpecArgs args(node, text);
    const std::function<AnyRule(const SpecNode&)> nested = [&text](const SpecNode& child) {
      return build_rule(child, text);
    };
    AnyRule rule = info.build(args, nested);
    return rule;
  }
  std::string names;
  for (const RuleInfo& info : rule_catalog()) names += (names.empty() ? "" : ", ") + info.name;
  fail("rule spec '", text, "': unknown rule '", node.name, "' (known: ", names, ")");
}

}  // namespace detail

/// Parses a rule spec such as "multi-krum(f=2, m=8)" into a rule usable with
/// aggregate(). Throws robustagg::Error on anything malformed.
inline AnyRule parse_rule(const std::string& text) {
  const SpecNode node = parse_spec(text);
  return detail::build_rule(node, text);
}

}  // namespace robustagg
