// libFuzzer target: the rule-spec parser (parse_rule) on arbitrary text.
// Invariants: no crash, no UB; robustagg::Error is the only exception; a spec
// that parses has a canonical spec() that parses again to the same spec();
// validate() at the rule's own min_rows() either accepts or throws Error;
// when it accepts, aggregating min_rows() small rows works and writes d
// values (rules with huge requirements are only validated).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <robustagg/robustagg.hpp>

#include "fuzz_budget.hpp"

namespace {

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_spec invariant violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;  // specs are short; keep the search focused
  const std::string text(reinterpret_cast<const char*>(data), size);
  robustagg::AnyRule rule;
  try {
    rule = robustagg::parse_rule(text);
  } catch (const robustagg::Error&) {
    return 0;
  }
  if (rule.empty()) violated("parse_rule returned an empty rule", text);
  const std::string canonical = rule.spec();
  try {
    const std::string again = robustagg::parse_rule(canonical).spec();
    if (again != canonical) violated("spec() does not round-trip", canonical + " -> " + again);
  } catch (const robustagg::Error& e) {
    violated("spec() does not parse", canonical + ": " + e.what());
  }
  const robustagg::Index n = rule.min_rows();
  if (n < 1) violated("min_rows() < 1", canonical);
  try {
    rule.validate(n, 3);
  } catch (const robustagg::Error&) {
    return 0;  // e.g. a negative noise scale: rejected at the boundary
  }
  if (n > 64) return 0;
  if (fuzz::over_fuzz_budget(canonical, n)) return 0;  // cost only (fuzz_budget.hpp)
  // Rows that agree (so a DETOX vote keeps every group) but differ between
  // coordinates.
  robustagg::GradientMatrix<double> g(n, 3);
  for (robustagg::Index i = 0; i < n; ++i) g.row(i) << 1.0, -2.0, 0.5;
  try {
    const robustagg::Vector<double> out = robustagg::aggregate(g, rule);
    if (out.size() != 3) violated("output has the wrong size", canonical);
  } catch (const robustagg::Error& e) {
    violated("validated rule failed on equal rows", canonical + ": " + e.what());
  }
  return 0;
}
