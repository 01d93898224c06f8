// A one-hidden-layer perceptron In-Hidden-Out (ReLU, softmax cross-entropy)
// written with Eigen, its parameters one flat float vector so a worker's
// gradient is one row of a robustagg::GradientMatrix<float>. Two sizes:
// Mlp (64-32-10, 2,410 parameters, the digits) and FashionMlp (784-128-10,
// 101,770 parameters, Fashion-MNIST).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <random>

#include "digits.hpp"

namespace demo {

template <int In, int Hidden, int Out>
struct MlpT {
  static constexpr int kIn = In, kHidden = Hidden, kOut = Out;
  // Layout: W1 (Hidden x In, row-major), b1 (Hidden), W2 (Out x Hidden,
  // row-major), b2 (Out).
  static constexpr std::ptrdiff_t kW1 = 0;
  static constexpr std::ptrdiff_t kB1 = kW1 + kHidden * kIn;
  static constexpr std::ptrdiff_t kW2 = kB1 + kHidden;
  static constexpr std::ptrdiff_t kB2 = kW2 + kOut * kHidden;
  static constexpr std::ptrdiff_t kParams = kB2 + kOut;

  using W1 = Eigen::Matrix<float, kHidden, kIn, Eigen::RowMajor>;
  using W2 = Eigen::Matrix<float, kOut, kHidden, Eigen::RowMajor>;
  using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// Scratch for forward/backward passes (reused between calls).
  struct Scratch {
    Rows x, h, z, dh;
  };

  /// He-style initialisation: weights N(0, 2 / fan_in), biases 0.
  static void init(float* params, std::uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x1417a11e5eedULL);
    std::normal_distribution<float> n1(0.0f, std::sqrt(2.0f / kIn)), n2(0.0f, std::sqrt(2.0f / kHidden));
    for (std::ptrdiff_t i = kW1; i < kB1; ++i) params[i] = n1(rng);
    for (std::ptrdiff_t i = kB1; i < kW2; ++i) params[i] = 0.0f;
    for (std::ptrdiff_t i = kW2; i < kB2; ++i) params[i] = n2(rng);
    for (std::ptrdiff_t i = kB2; i < kParams; ++i) params[i] = 0.0f;
  }

  /// Forward pass over the rows `idx[0..count)` of `data` into s.z (logits).
  static void forward(const float* params, const Dataset& data, const int* idx, std::ptrdiff_t count,
                      Scratch& s) {
    Eigen::Map<const W1> w1(params + kW1);
    Eigen::Map<const Eigen::Matrix<float, 1, kHidden>> b1(params + kB1);
    Eigen::Map<const W2> w2(params + kW2);
    Eigen::Map<const Eigen::Matrix<float, 1, kOut>> b2(params + kB2);
    s.x.resize(count, kIn);
    for (std::ptrdiff_t i = 0; i < count; ++i) s.x.row(i) = data.x.row(idx[i]);
    s.h.noalias() = s.x * w1.transpose();
    s.h.rowwise() += b1;
    s.h = s.h.cwiseMax(0.0f);
    s.z.noalias() = s.h * w2.transpose();
    s.z.rowwise() += b2;
  }

  /// Mean softmax cross-entropy over the batch; writes its gradient
  /// (kParams values) to grad.
  /// `flip` (label flipping, a data attack): train on label 9 - y.
  static double gradient(const float* params, const Dataset& data, const int* idx,
                         std::ptrdiff_t count, float* grad, Scratch& s, bool flip = false) {
    forward(params, data, idx, count, s);
    Eigen::Map<const W2> w2(params + kW2);
    double loss = 0.0;
    // s.z becomes dL/dz = (softmax - onehot) / count.
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      auto z = s.z.row(i);
      const float m = z.maxCoeff();
      z = (z.array() - m).exp().matrix();
      const float sum = z.sum();
      z /= sum;
      const int y = data.y[std::size_t(idx[i])];
      const int label = flip ? kOut - 1 - y : y;
      loss -= std::log(std::max(double(z(label)), 1e-30));
      z(label) -= 1.0f;
    }
    s.z /= float(count);
    Eigen::Map<W2> gw2(grad + kW2);
    Eigen::Map<Eigen::Matrix<float, 1, kOut>> gb2(grad + kB2);
    Eigen::Map<W1> gw1(grad + kW1);
    Eigen::Map<Eigen::Matrix<float, 1, kHidden>> gb1(grad + kB1);
    gw2.noalias() = s.z.transpose() * s.h;
    gb2 = s.z.colwise().sum();
    s.dh.noalias() = s.z * w2;
    s.dh = (s.h.array() > 0.0f).select(s.dh, 0.0f);
    gw1.noalias() = s.dh.transpose() * s.x;
    gb1 = s.dh.colwise().sum();
    return loss / double(count);
  }

  /// Fraction of `data` classified correctly (a NaN logit row counts wrong).
  static double accuracy(const float* params, const Dataset& data, Scratch& s) {
    std::vector<int> idx(std::size_t(data.size()));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    forward(params, data, idx.data(), data.size(), s);
    std::ptrdiff_t correct = 0;
    for (std::ptrdiff_t i = 0; i < data.size(); ++i) {
      int best = -1;
      float best_v = 0.0f;
      for (int c = 0; c < kOut; ++c) {
        const float v = s.z(i, c);
        if (std::isfinite(v) && (best < 0 || v > best_v)) {
          best = c;
          best_v = v;
        }
      }
      if (best == data.y[std::size_t(i)]) ++correct;
    }
    return double(correct) / double(data.size());
  }
};

using Mlp = MlpT<kFeatures, 32, kClasses>;  // 2,410 parameters
using FashionMlp = MlpT<784, 128, kClasses>;  // 101,770 parameters
static_assert(Mlp::kParams == 2410 && FashionMlp::kParams == 101770, "parameter counts");

}  // namespace demo
