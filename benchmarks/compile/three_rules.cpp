// Compile-time probe: the umbrella header and three rules called by type
// (Median, Krum, Bulyan), as a trainer that knows its rule writes it.
#include <cstdio>
#include <robustagg/robustagg.hpp>

int main() {
  robustagg::GradientMatrix<float> g(15, 1000);
  g.setRandom();
  const Eigen::VectorXf a = robustagg::aggregate(g, robustagg::Median{});
  const Eigen::VectorXf b = robustagg::aggregate(g, robustagg::Krum{2});
  const Eigen::VectorXf c = robustagg::aggregate(g, robustagg::Bulyan{2});
  std::printf("%g %g %g\n", double(a[0]), double(b[0]), double(c[0]));
  return 0;
}
