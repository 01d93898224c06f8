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
#include "detail/linkage.hpp"
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

ROBUSTAGG_FP_BEGIN

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

namespace detail {
/// True when `word` is one of the comma-separated names in `list`.
inline bool takes_word(const std::string& list, const std::string& word) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(pos, end - pos);
    const std::size_t a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
    if (a != std::string::npos && item.substr(a, b - a + 1) == word) return true;
    pos = end + 1;
  }
  return false;
}
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

  /// True when `key` is given as a bare name (`p=std`), not a number.
  bool has_word(const std::string& key) const {
    const int k = find(key);
    return k >= 0 && node_.args[std::size_t(k)].second.node &&
           node_.args[std::size_t(k)].second.node->args.empty();
  }

  /// A bare name given as the value (`p=std`, `start=mean`): one of the
  /// names in `allowed` ("std, unit, sign").
  std::string get_word(const std::string& key, const std::string& allowed) {
    const SpecNode::Value& v = node_.args[require(key)].second;
    if (v.node && v.node->args.empty() && detail::takes_word(allowed, v.node->name))
      return v.node->name;
    error(key, "must be one of " + allowed + ", got '" + (v.node ? v.node->name : v.number) + "'");
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

/// Every rule parse_rule knows, in the order the docs list them. Defined in
/// detail/catalog_impl.hpp and compiled once, in the library (src/catalog.cpp):
/// the catalogue instantiates every rule for float and double, which a
/// translation unit calling parse_rule would otherwise compile again.
ROBUSTAGG_LINKAGE const std::vector<RuleInfo>& rule_catalog();

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

ROBUSTAGG_FP_END

#if !defined(ROBUSTAGG_COMPILED_LIB)
#include "detail/catalog_impl.hpp"
#endif
