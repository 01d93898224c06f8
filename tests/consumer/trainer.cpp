// A trainer that uses robustagg the way the README's first screen says: a
// plain #include, compiled with nothing but the include paths of robustagg,
// Eigen and xsimd (tests/cmake/consumers.cmake builds it with plain g++ under
// -Wall -Wextra -Werror, at -O2 and at -O2 -march=native, and runs it). Two
// translation units include the headers (trainer_b.cpp), so the header-only
// definitions must link. With --digest it prints every rule's output digest
// (digest.hpp) for the comparison with the compiled library.
#include <cstdio>
#include <cstring>
#include <robustagg/robustagg.hpp>

#include "digest.hpp"

float median_of_column(const robustagg::GradientMatrix<float>& g);  // trainer_b.cpp

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--digest") == 0) return digest::print_all();
  robustagg::GradientMatrix<float> g(5, 3);
  g << 1, 10, -1,
       2, 20, -2,
       3, 30, -3,
       4, 40, -4,
       100, 1000, -100;  // one outlier row
  // trimmed mean, f = 1: the mean of the middle three values of each column
  const Eigen::VectorXf tm = robustagg::aggregate(g, robustagg::parse_rule("trimmed-mean(f=1)"));
  // Krum, f = 1 (n - f - 2 = 2 neighbours): rows 1 and 2 both score 2 * 102 (their
  // neighbours differ by 1, 10, 1 per coordinate), the tie goes to row 1 = (2, 20, -2)
  const Eigen::VectorXf kr = robustagg::aggregate<robustagg::Krum>(g, 1);
  robustagg::Workspace ws;
  Eigen::VectorXf md;
  robustagg::aggregate(g, robustagg::Median{}, md, ws);
  const bool ok = tm[0] == 3.0f && tm[1] == 30.0f && tm[2] == -3.0f && kr[0] == 2.0f &&
                  kr[1] == 20.0f && kr[2] == -2.0f && md[1] == 30.0f && median_of_column(g) == 3.0f;
  std::printf("%s (header-only, simd %s)\n", ok ? "plain trainer ok" : "WRONG", robustagg::simd_arch());
  return ok ? 0 : 1;
}
