// Compile-time probe: the umbrella header and a rule chosen at run time
// (what the first-hour issue measured at 23-27 s with g++ -O2 before the
// kernels moved into the compiled library).
#include <cstdio>
#include <robustagg/robustagg.hpp>

int main(int argc, char** argv) {
  robustagg::GradientMatrix<float> g(15, 1000);
  g.setRandom();
  const Eigen::VectorXf out = robustagg::aggregate(g, robustagg::parse_rule(argc > 1 ? argv[1] : "bulyan(f=2)"));
  std::printf("%g\n", double(out[0]));
  return 0;
}
