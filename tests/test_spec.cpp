// The rule spec parser: good strings (white space, defaults, canonical
// round trip) and bad strings, each with a message that says what is wrong
// and where.
#include <catch2/catch.hpp>

#include <robustagg/robustagg.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ra = robustagg;
using Catch::Matchers::Contains;

namespace {

std::string error_of(const std::string& spec) {
  try {
    const ra::AnyRule r = ra::parse_rule(spec);
    return "(parsed as " + r.spec() + ")";
  } catch (const ra::Error& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("good specs parse to their canonical form", "[spec]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mean", "mean"},
      {"  mean  ", "mean"},
      {"mean()", "mean"},
      {"mean ( )", "mean"},
      {"median", "median"},
      {"trimmed-mean(f=2)", "trimmed-mean(f=2)"},
      {"trimmed-mean(f=0)", "trimmed-mean(f=0)"},
      {"krum( f = 1 )", "krum(f=1)"},
      {"\tkrum(f=007)\n", "krum(f=7)"},
      {"multi-krum(f=2)", "multi-krum(f=2, m=0)"},  // m defaults to 0 (n - f)
      {"multi-krum(f=2, m=8)", "multi-krum(f=2, m=8)"},
      {"multi-krum(m=8,f=2)", "multi-krum(f=2, m=8)"},  // key order does not matter
      {"bulyan(f=3)", "bulyan(f=3)"},
      {"sign-vote", "sign-vote"},
      {"noisy-median(b=0.1)", "noisy-median(b=0.1, seed=0)"},  // seed defaults to 0
      {"noisy-median(b=.5, seed=3)", "noisy-median(b=0.5, seed=3)"},
      {"noisy-median(b=1e-3)", "noisy-median(b=0.001, seed=0)"},
      {"noisy-median(b=0)", "noisy-median(b=0, seed=0)"},
      // plain notation from 1e-4 up to 1e16, exponent notation outside it
      {"noisy-median(b=100)", "noisy-median(b=100, seed=0)"},
      {"noisy-median(b=1e2)", "noisy-median(b=100, seed=0)"},
      {"noisy-median(b=1234.5)", "noisy-median(b=1234.5, seed=0)"},
      {"noisy-median(b=0.0001)", "noisy-median(b=0.0001, seed=0)"},
      {"noisy-median(b=1e15)", "noisy-median(b=1000000000000000, seed=0)"},
      {"noisy-median(b=1e-5)", "noisy-median(b=1e-05, seed=0)"},
      {"noisy-median(b=2e20)", "noisy-median(b=2e+20, seed=0)"},
      {"noisy-median(b=0.1234567890123)", "noisy-median(b=0.1234567890123, seed=0)"},
      {"noisy-sign-vote(seed=18446744073709551615, b=2.5)",
       "noisy-sign-vote(b=2.5, seed=18446744073709551615)"},
  };
  for (const auto& c : cases) {
    INFO(c.first);
    const ra::AnyRule r = ra::parse_rule(c.first);
    CHECK(r.spec() == c.second);
    // the canonical form is a fixed point of parse -> spec
    CHECK(ra::parse_rule(r.spec()).spec() == r.spec());
  }
}

TEST_CASE("parsed rules hold the concrete rule with its parameters", "[spec]") {
  const ra::AnyRule mk = ra::parse_rule("multi-krum(m=8, f=2)");
  REQUIRE(mk.target<ra::MultiKrum>() != nullptr);
  CHECK(mk.target<ra::MultiKrum>()->f == 2);
  CHECK(mk.target<ra::MultiKrum>()->m == 8);
  CHECK(mk.target<ra::Krum>() == nullptr);
  const ra::AnyRule nm = ra::parse_rule("noisy-median(b=0.25, seed=42)");
  REQUIRE(nm.target<ra::NoisyMedian>() != nullptr);
  CHECK(nm.target<ra::NoisyMedian>()->b == 0.25);
  CHECK(nm.target<ra::NoisyMedian>()->seed == 42u);
  CHECK(ra::parse_rule("bulyan(f=3)").min_rows() == 15);
  CHECK(ra::parse_rule("krum(f=2)").min_rows() == 7);
  CHECK(ra::parse_rule("trimmed-mean(f=2)").min_rows() == 5);
}

TEST_CASE("every rule in the catalog parses, and the canonical spec round-trips", "[spec]") {
  // one example per rule of docs/rules.md; rules added later (detox, ...) have their own tests
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"mean", "mean"},
      {"median", "median"},
      {"trimmed-mean", "trimmed-mean(f=1)"},
      {"krum", "krum(f=1)"},
      {"multi-krum", "multi-krum(f=1)"},
      {"bulyan", "bulyan(f=1)"},
      {"sign-vote", "sign-vote"},
      {"noisy-median", "noisy-median(b=0.5)"},
      {"noisy-sign-vote", "noisy-sign-vote(b=0.5)"}};
  std::size_t found = 0;
  for (const ra::RuleInfo& info : ra::rule_catalog()) {
    INFO(info.name);
    CHECK_FALSE(info.requirement.empty());
    CHECK_FALSE(info.summary.empty());
    for (const auto& ex : examples) {
      if (ex.first != info.name) continue;
      ++found;
      const ra::AnyRule r = ra::parse_rule(ex.second);
      CHECK(r.spec().rfind(info.name, 0) == 0);
      CHECK(ra::parse_rule(r.spec()).spec() == r.spec());
    }
  }
  CHECK(found == examples.size());
}

TEST_CASE("bad specs: names and keys", "[spec]") {
  CHECK_THAT(error_of("krumm(f=1)"),
             Contains("rule spec 'krumm(f=1)': unknown rule 'krumm'") &&
                 Contains("known: mean, median, trimmed-mean, krum, multi-krum, bulyan, "
                          "sign-vote, noisy-median, noisy-sign-vote"));
  CHECK_THAT(error_of("krum(f=1, inner=krum(f=0))"), Contains("krum has no parameter 'inner'"));
  CHECK_THAT(error_of("Mean"), Contains("unknown rule 'Mean'"));
  // an unknown key is reported as such, even when a required parameter is missing
  CHECK_THAT(error_of("krum(g=2)"),
             Contains("rule spec 'krum(g=2)': krum has no parameter 'g' (krum takes f)"));
  CHECK_THAT(error_of("krum(f=1, g=2)"), Contains("krum has no parameter 'g'"));
  CHECK_THAT(error_of("mean(f=1)"),
             Contains("mean has no parameter 'f' (mean takes no parameters)"));
  CHECK_THAT(error_of("noisy-median(b=1, sed=2)"),
             Contains("noisy-median has no parameter 'sed' (noisy-median takes b, seed=0)"));
  CHECK_THAT(error_of("krum(f=1, f=2)"), Contains("parameter 'f' given twice at position"));
  CHECK_THAT(error_of("krum"), Contains("rule spec 'krum': krum needs parameter 'f'"));
  CHECK_THAT(error_of("krum()"), Contains("krum needs parameter 'f'"));
  CHECK_THAT(error_of("noisy-median(seed=1)"), Contains("noisy-median needs parameter 'b'"));
}

TEST_CASE("bad specs: values", "[spec]") {
  CHECK_THAT(error_of("krum(f=)"), Contains("expected a value at position 7"));
  CHECK_THAT(error_of("krum(f)"),
             Contains("expected '=' after 'f' (parameters are key=value) at position 6"));
  CHECK_THAT(error_of("krum(f=2.5)"),
             Contains("krum: f must be a non-negative integer, got '2.5'"));
  CHECK_THAT(error_of("krum(f=-1)"), Contains("krum: f must be a non-negative integer, got '-1'"));
  CHECK_THAT(error_of("krum(f=1e2)"), Contains("f must be a non-negative integer, got '1e2'"));
  CHECK_THAT(error_of("krum(f=99999999999)"),
             Contains("krum: f is out of range (at most 2147483647), got 99999999999"));
  CHECK_THAT(error_of("krum(f=123456789012345678901234567890)"), Contains("f is out of range"));
  CHECK_THAT(error_of("noisy-median(b=1, seed=-3)"),
             Contains("seed must be a non-negative integer, got '-3'"));
  CHECK_THAT(error_of("noisy-median(b=1, seed=18446744073709551616)"),
             Contains("seed is out of range"));
  CHECK_THAT(error_of("noisy-median(b=1e999)"),
             Contains("noisy-median: b must be a finite number, got '1e999'"));
  CHECK_THAT(error_of("noisy-median(b=1.2.3)"), Contains("b must be a finite number, got '1.2.3'"));
  CHECK_THAT(error_of("noisy-median(b=1x)"), Contains("b must be a finite number, got '1x'"));
  // a negative noise scale is rejected when the spec is parsed
  CHECK_THAT(error_of("noisy-median(b=-1)"),
             Contains("noisy-median(b=-1, seed=0): b must be finite and >= 0, got b = -1"));
  CHECK_THAT(error_of("noisy-sign-vote(b=-0.5)"), Contains("b must be finite and >= 0"));
  // a nested rule where a number is expected
  CHECK_THAT(error_of("krum(f=mean)"), Contains("krum: f must be a number, got the rule 'mean'"));
  CHECK_THAT(error_of("noisy-median(b=median(x=1))"),
             Contains("b must be a number, got the rule 'median'"));
}

TEST_CASE("bad specs: syntax", "[spec]") {
  CHECK_THAT(error_of(""), Contains("rule spec '': expected a rule name at position 0"));
  CHECK_THAT(error_of("   "), Contains("expected a rule name at position 3"));
  CHECK_THAT(error_of("(f=2)"), Contains("expected a rule name at position 0"));
  CHECK_THAT(error_of("3krum"), Contains("expected a rule name at position 0"));
  CHECK_THAT(error_of("krum(f=2)x"), Contains("unexpected 'x' at position 9"));
  CHECK_THAT(error_of("krum(f=2) median"), Contains("unexpected 'm' at position 10"));
  CHECK_THAT(error_of("krum(f=2"), Contains("expected ',' or ')' at position 8"));
  CHECK_THAT(error_of("krum(f=2 m=1)"), Contains("expected ',' or ')' at position 9"));
  CHECK_THAT(error_of("krum(f=2,)"), Contains("expected a parameter name at position 9"));
  CHECK_THAT(error_of("krum(,f=2)"), Contains("expected a parameter name at position 5"));
  CHECK_THAT(error_of("krum(f==2)"), Contains("expected a value at position 7"));
  CHECK_THAT(error_of("krum(f=(2))"), Contains("expected a value at position 7"));
  CHECK_THAT(error_of("krum[f=2]"), Contains("unexpected '[' at position 4"));
  // deep nesting is refused, not a stack overflow
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "a(b=";
  CHECK_THAT(error_of(deep), Contains("specs nest too deeply"));
}

TEST_CASE("parse_spec gives the tree, nested specs included", "[spec]") {
  const ra::SpecNode node = ra::parse_spec("outer(inner=krum(f=1), k=5)");
  CHECK(node.name == "outer");
  REQUIRE(node.args.size() == 2);
  CHECK(node.args[0].first == "inner");
  REQUIRE(node.args[0].second.node != nullptr);
  CHECK(node.args[0].second.node->name == "krum");
  CHECK(node.args[0].second.node->args[0].second.number == "1");
  CHECK(node.args[1].first == "k");
  CHECK(node.args[1].second.number == "5");
  CHECK(node.args[1].second.node == nullptr);
}
