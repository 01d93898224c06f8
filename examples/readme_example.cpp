// The README's example: aggregate 7 workers' gradients, one of them hostile.
#include <iostream>
#include <robustagg/robustagg.hpp>

int main() {
  const int n = 7, d = 4;
  robustagg::GradientMatrix<float> grads(n, d);  // one row per worker
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) grads(i, j) = 1.0f + 0.01f * float(i) + float(j);
  grads.row(6).setConstant(1e30f);  // a Byzantine worker
  grads(5, 0) = std::numeric_limits<float>::quiet_NaN();  // a faulty one

  // A rule chosen at compile time, in its short form, ...
  Eigen::VectorXf m = robustagg::aggregate<robustagg::Bulyan>(grads, 1);
  // ... or at run time from a spec string.
  const robustagg::AnyRule rule = robustagg::parse_rule("multi-krum(f=2)");
  Eigen::VectorXf k = robustagg::aggregate(grads, rule);

  // In a training loop: reuse the output and a workspace (no allocation
  // after the first step).
  robustagg::Workspace ws;
  Eigen::VectorXf out;
  for (int step = 0; step < 3; ++step) robustagg::aggregate(grads, robustagg::Median{}, out, ws);

  std::cout << "bulyan(f=1):     " << m.transpose() << "\n"
            << rule.spec() << ": " << k.transpose() << "\n"
            << "median:          " << out.transpose() << "\n";
  try {
    robustagg::aggregate<robustagg::Bulyan>(grads, 2);
  } catch (const robustagg::Error& e) {
    std::cout << "error: " << e.what() << "\n";
  }
}
