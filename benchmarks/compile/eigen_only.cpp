// Compile-time baseline: an Eigen-only file of about the size of
// parse_rule.cpp (a matrix, a reduction, a product), no robustagg.
#include <Eigen/Core>
#include <cstdio>

int main(int argc, char**) {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> g(15, 1000);
  g.setRandom();
  g *= float(argc);
  const Eigen::VectorXf mean = g.colwise().mean().transpose();
  const Eigen::MatrixXf gram = g * g.transpose();
  std::printf("%g %g\n", double(mean[0]), double(gram(0, 0)));
  return 0;
}
