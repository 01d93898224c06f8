// A consumer of robustagg: aggregates a small batch and checks the answer.
#include <cstdio>
#include <robustagg/robustagg.hpp>

int main() {
  robustagg::GradientMatrix<float> g(5, 3);
  g << 1, 2, 3,  //
      2, 3, 4,   //
      3, 4, 5,   //
      4, 5, 6,   //
      1e30f, -1e30f, 1e30f;  // a hostile worker
  // coordinate-wise median of 1 2 3 4 1e30 -> 3;  2 3 4 5 -1e30 -> 3;  3 4 5 6 1e30 -> 5
  const Eigen::VectorXf m = robustagg::aggregate(g, robustagg::Median{});
  const Eigen::VectorXf k = robustagg::aggregate(g, robustagg::parse_rule("krum(f=1)"));
  std::printf("median: %g %g %g\nkrum: %g %g %g\n", m[0], m[1], m[2], k[0], k[1], k[2]);
  const bool ok = m[0] == 3 && m[1] == 3 && m[2] == 5 && k[0] < 5;
  std::printf(ok ? "consumer ok\n" : "consumer FAILED\n");
  return ok ? 0 : 1;
}
