// The attack catalogue (attacks/spec.hpp): every entry parses with its listed
// parameters, round-trips its spec, changes only the Byzantine rows, and the
// parser's errors come from the catalogue. Label flipping is a data attack.
#include <catch2/catch.hpp>

#include <robustagg/attacks.hpp>
#include <set>
#include <string>
#include <vector>

namespace ra = robustagg;
namespace atk = robustagg::attacks;
using ra::Index;

namespace {

std::string error_of(const std::string& spec) {
  try {
    atk::parse_attack(spec);
  } catch (const ra::Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// A spec for a catalogue entry: its required parameters filled in.
std::string sample_spec(const atk::AttackInfo& info) {
  if (info.name == "optimal-alie" || info.name == "optimal-ipm") return info.name + "(rule=median, steps=4)";
  return info.name;
}

}  // namespace

TEST_CASE("the attack catalogue: names, kinds and parameters", "[attacks][catalog]") {
  const auto& cat = atk::attack_catalog();
  std::vector<std::string> names;
  for (const auto& info : cat) names.push_back(info.name);
  CHECK(names == std::vector<std::string>{"none", "alie", "ipm", "reverse", "constant", "gaussian", "nan",
                                          "inf", "sign-flip", "mimic", "optimal-alie", "optimal-ipm",
                                          "min-max", "min-sum", "label-flip"});
  for (const auto& info : cat) {
    INFO(info.name);
    CHECK_FALSE(info.summary.empty());
    CHECK_FALSE(info.requirement.empty());
    CHECK(info.kind == (info.name == "label-flip" ? atk::Attack::Kind::data : atk::Attack::Kind::gradient));
    const atk::Attack a = atk::parse_attack(sample_spec(info));
    CHECK(a.name() == info.name);
    CHECK(a.kind() == info.kind);
    CHECK(atk::parse_attack(a.spec()).spec() == a.spec());
    // Every listed default can be written out and gives the same attack.
    std::string with_defaults = info.name, sep = "(";
    std::size_t pos = 0;
    const std::string& p = info.parameters;
    while (pos < p.size()) {
      std::size_t end = p.find(',', pos);
      if (end == std::string::npos) end = p.size();
      std::string item = p.substr(pos, end - pos);
      item.erase(0, item.find_first_not_of(' '));
      if (item.find('=') != std::string::npos) {
        with_defaults += sep + item;
        sep = ", ";
      } else {
        CHECK(item == "rule");  // the only required attack parameter
        with_defaults += sep + "rule=median";
        sep = ", ";
      }
      pos = end + 1;
    }
    if (sep == ", ") with_defaults += ")";
    const std::string minimal = info.name.rfind("optimal", 0) == 0 ? info.name + "(rule=median)" : info.name;
    CHECK(atk::parse_attack(with_defaults).spec() == atk::parse_attack(minimal).spec());
  }
}

TEST_CASE("every gradient attack rewrites the Byzantine rows only", "[attacks][catalog]") {
  ra::GradientMatrix<double> honest(7, 4);
  for (Index i = 0; i < 7; ++i)
    for (Index j = 0; j < 4; ++j) honest(i, j) = double((i * 7 + j * 3) % 11) - 4.5;
  for (const auto& info : atk::attack_catalog()) {
    if (info.kind != atk::Attack::Kind::gradient) continue;
    INFO(info.name);
    ra::GradientMatrix<double> g = honest;
    atk::parse_attack(sample_spec(info)).apply(g, {1, 5}, 3);
    for (Index i : {0, 2, 3, 4, 6}) CHECK(g.row(i) == honest.row(i));
    if (info.name == "none")
      CHECK(g == honest);
    else
      CHECK(g.row(1) != honest.row(1));
    ra::GradientMatrix<float> gf = honest.cast<float>();
    atk::parse_attack(sample_spec(info)).apply(gf, {1, 5}, 3);  // float too
    CHECK(gf.row(0) == honest.row(0).cast<float>());
  }
}

TEST_CASE("label flipping is a data attack", "[attacks][catalog]") {
  CHECK(atk::flip_label(0, 10) == 9);
  CHECK(atk::flip_label(9, 10) == 0);
  CHECK(atk::flip_label(3, 10) == 6);
  CHECK(atk::flip_label(1, 2) == 0);
  CHECK_THROWS_WITH(atk::flip_label(10, 10),
                    "label-flip(classes=10) needs 0 <= label < classes and classes >= 2, got label 10");
  const atk::Attack a = atk::parse_attack("label-flip");
  CHECK(a.spec() == "label-flip(classes=10)");
  CHECK(a.kind() == atk::Attack::Kind::data);
  CHECK(atk::parse_attack("label-flip(classes=3)").spec() == "label-flip(classes=3)");
  ra::GradientMatrix<float> g = ra::GradientMatrix<float>::Ones(3, 2);
  CHECK_THROWS_WITH(a.apply(g, {0}), Catch::StartsWith("label-flip(classes=10) is a data attack"));
  CHECK(g.isOnes());
  CHECK(error_of("label-flip(classes=1)") == "label-flip(classes=1): classes must be >= 2, got classes = 1");
}

TEST_CASE("parse_attack errors come from the catalogue", "[attacks][catalog]") {
  std::string known;
  for (const auto& info : atk::attack_catalog()) known += (known.empty() ? "" : ", ") + info.name;
  CHECK(error_of("lie") == "attack 'lie': unknown attack 'lie' (known: " + known + ")");
  CHECK(error_of("ipm(c=1)") == "attack 'ipm(c=1)': ipm has no parameter 'c' (ipm takes eps=0.5)");
  CHECK(error_of("nan(c=1)") == "attack 'nan(c=1)': nan has no parameter 'c' (nan takes no parameters)");
  CHECK(error_of("min-max(p=2)") == "rule spec 'min-max(p=2)': min-max: p must be one of std, unit, sign, got '2'");
  CHECK(error_of("alie(z=often)") == "rule spec 'alie(z=often)': alie: z must be one of auto, got 'often'");
  CHECK(error_of("gaussian(sigma=-1)") == "attack 'gaussian(sigma=-1)': sigma must be >= 0");
  std::set<std::string> seen;
  for (const auto& info : atk::attack_catalog()) CHECK(seen.insert(info.name).second);
  CHECK(std::string(atk::kind_name(atk::Attack::Kind::data)) == "data");
  CHECK(std::string(atk::kind_name(atk::Attack::Kind::gradient)) == "gradient");
}
