// The warning check: a consumer that instantiates every public rule, form
// and helper for float and double. Built by CTest with
// -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror at
// -O2 -march=native against the installed package's compiled library
// (tests/cmake/consumers.cmake; the plain g++ builds of trainer.cpp check the
// header-only mode at -O2 and -O2 -march=native with the same warnings): the library's
// headers must not warn.
#include <cstdio>
#include <robustagg/robustagg.hpp>
#include <vector>

namespace ra = robustagg;

template <class T>
int exercise() {
  const ra::Index n = 15, d = 40;
  ra::GradientMatrix<T> g(n, d);
  for (ra::Index i = 0; i < n; ++i)
    for (ra::Index j = 0; j < d; ++j) g(i, j) = T(i / 3) + T(j) / T(8);  // groups of 3 replicas (DETOX)
  ra::Workspace ws;
  ra::Vector<T> out;
  ra::aggregate(g, ra::Mean{}, out, ws);
  ra::aggregate(g, ra::Median{}, out, ws);
  ra::aggregate(g, ra::TrimmedMean{2}, out, ws);
  ra::aggregate(g, ra::Krum{2}, out, ws);
  ra::aggregate(g, ra::MultiKrum{2, 0}, out, ws);
  ra::aggregate(g, ra::Bulyan{2}, out, ws);
  ra::aggregate(g, ra::SignVote{}, out, ws);
  ra::aggregate(g, ra::NoisyMedian{0.1, 1}, out, ws);
  ra::aggregate(g, ra::NoisySignVote{0.1, 1}, out, ws);
  ra::aggregate(g, ra::parse_rule("detox(r=3, outer=bulyan(f=0))"), out, ws);
  for (const ra::RuleInfo& info : ra::rule_catalog()) {
    if (info.parameters.empty()) ra::aggregate(g, ra::parse_rule(info.name), out, ws);
  }
  ra::aggregate(g, ra::Cge{2}, out, ws);
  ra::GradientMatrix<T> staged;
  ra::apply_stage(g, ra::parse_stage("nnm(f=2)"), staged, ws);
  ra::Aggregator<> agg(ra::parse_rule("multi-krum(f=1)"));
  agg(g, out);
  const ra::Vector<T> v = ra::aggregate(g * T(2), ra::Median{});  // an expression: copied once
  std::vector<const T*> rows;
  for (ra::Index i = 0; i < n; ++i) rows.push_back(g.row(i).data());
  std::vector<T> buf(static_cast<std::size_t>(d));
  ra::aggregate(rows.data(), n, d, ra::Median{}, buf.data(), ws);
  const ra::Vector<T> p = ra::perturb(v, 0.5, 7, 3);
  return int(p.size() + out.size()) == 2 * int(d) ? 0 : 1;
}

int main() {
  const int bad = exercise<float>() + exercise<double>();
  std::printf("%s (simd %s)\n", bad ? "strict consumer FAILED" : "strict consumer ok", robustagg::simd_arch());
  return bad;
}
