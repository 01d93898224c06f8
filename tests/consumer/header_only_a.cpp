// ROBUSTAGG_HEADER_ONLY (no compiled library): two translation units that
// both include the headers must link (the kernels, the dispatch and the rule
// catalogue are inline there) and compute the rules' defined values.
#include <cstdio>
#include <robustagg/robustagg.hpp>

float median_of_column(const robustagg::GradientMatrix<float>& g);  // header_only_b.cpp

int main() {
  robustagg::GradientMatrix<float> g(5, 3);
  g << 1, 10, -1,
       2, 20, -2,
       3, 30, -3,
       4, 40, -4,
       100, 1000, -100;  // one outlier row
  const Eigen::VectorXf tm = robustagg::aggregate(g, robustagg::parse_rule("trimmed-mean(f=1)"));
  // trimmed mean, f = 1: the mean of the middle three values of each column
  const bool ok = tm[0] == 3.0f && tm[1] == 30.0f && tm[2] == -3.0f && median_of_column(g) == 3.0f;
  std::printf("%s (simd %s): trimmed mean %g %g %g\n", ok ? "header-only consumer ok" : "WRONG",
              robustagg::simd_arch(), double(tm[0]), double(tm[1]), double(tm[2]));
  return ok ? 0 : 1;
}
