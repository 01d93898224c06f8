// robustagg-mpi-ps: the model, data and attack pieces the parameter server
// needs (temporary minimal versions until the demo's headers land).
#pragma once

#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <robustagg/robustagg.hpp>

namespace mpi_model {

using robustagg::Index;
using Matrix = robustagg::GradientMatrix<float>;

struct Data {
  Eigen::MatrixXf train_x, test_x;  // one image per row, pixels / 16
  Eigen::VectorXi train_y, test_y;
  Index train_size() const { return train_x.rows(); }
};

inline Data load_data(const std::string& path, std::uint64_t /*seed*/) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw robustagg::Error("cannot open the digits data '" + path + "'");
  std::string text;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) text.append(buf, std::size_t(got));
  gzclose(f);
  std::vector<float> px;
  std::vector<int> lab;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::string cell;
    std::vector<float> row;
    while (std::getline(ls, cell, ',')) row.push_back(std::stof(cell));
    if (row.size() != 65) throw robustagg::Error("bad row in '" + path + "'");
    for (int j = 0; j < 64; ++j) px.push_back(row[j] / 16.0f);
    lab.push_back(int(row[64]));
  }
  const Index n = Index(lab.size()), test = n / 5, train = n - test;
  Data d;
  d.train_x.resize(train, 64);
  d.test_x.resize(test, 64);
  d.train_y.resize(train);
  d.test_y.resize(test);
  Index a = 0, b = 0;
  for (Index i = 0; i < n; ++i) {
    if (i % 5 == 4 && b < test) {
      for (int j = 0; j < 64; ++j) d.test_x(b, j) = px[std::size_t(i * 64 + j)];
      d.test_y(b++) = lab[std::size_t(i)];
    } else {
      for (int j = 0; j < 64; ++j) d.train_x(a, j) = px[std::size_t(i * 64 + j)];
      d.train_y(a++) = lab[std::size_t(i)];
    }
  }
  return d;
}

/// 64-32-10 MLP, ReLU, softmax cross-entropy. Flat parameters:
/// W1 (32 x 64, row-major), b1 (32), W2 (10 x 32), b2 (10).
class Mlp {
 public:
  static constexpr Index kIn = 64, kHidden = 32, kOut = 10;
  static Index parameter_count() { return kHidden * kIn + kHidden + kOut * kHidden + kOut; }

  static void init(float* w, std::uint64_t seed) {
    Index k = 0;
    auto fill = [&](Index count, double scale) {
      for (Index i = 0; i < count; ++i, ++k)
        w[k] = float(scale * robustagg::detail::gaussian(seed, 7, std::uint64_t(k)));
    };
    fill(kHidden * kIn, std::sqrt(2.0 / kIn));
    fill(kHidden, 0.0);
    fill(kOut * kHidden, std::sqrt(1.0 / kHidden));
    fill(kOut, 0.0);
  }

  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CW1 = Eigen::Map<const Eigen::Matrix<float, kHidden, kIn, Eigen::RowMajor>>;
  using CW2 = Eigen::Map<const Eigen::Matrix<float, kOut, kHidden, Eigen::RowMajor>>;

  void gradient(const float* w, const Data& data, const std::vector<Index>& batch, float* g) {
    const Index B = Index(batch.size());
    x_.resize(B, kIn);
    for (Index i = 0; i < B; ++i) x_.row(i) = data.train_x.row(batch[std::size_t(i)]);
    CW1 W1(w);
    Eigen::Map<const Eigen::VectorXf> b1(w + kHidden * kIn, kHidden);
    CW2 W2(w + kHidden * kIn + kHidden);
    Eigen::Map<const Eigen::VectorXf> b2(w + kHidden * kIn + kHidden + kOut * kHidden, kOut);
    h_ = (x_ * W1.transpose()).rowwise() + b1.transpose();
    h_ = h_.cwiseMax(0.0f);
    z_ = (h_ * W2.transpose()).rowwise() + b2.transpose();
    for (Index i = 0; i < B; ++i) {
      const float m = z_.row(i).maxCoeff();
      z_.row(i) = (z_.row(i).array() - m).exp().matrix();
      z_.row(i) /= z_.row(i).sum();
      z_(i, data.train_y(batch[std::size_t(i)])) -= 1.0f;
    }
    z_ /= float(B);
    Eigen::Map<Eigen::Matrix<float, kHidden, kIn, Eigen::RowMajor>> gW1(g);
    Eigen::Map<Eigen::VectorXf> gb1(g + kHidden * kIn, kHidden);
    Eigen::Map<Eigen::Matrix<float, kOut, kHidden, Eigen::RowMajor>> gW2(g + kHidden * kIn +
                                                                         kHidden);
    Eigen::Map<Eigen::VectorXf> gb2(g + kHidden * kIn + kHidden + kOut * kHidden, kOut);
    gW2.noalias() = z_.transpose() * h_;
    gb2 = z_.colwise().sum().transpose();
    dh_ = (z_ * W2).cwiseProduct((h_.array() > 0.0f).cast<float>().matrix());
    gW1.noalias() = dh_.transpose() * x_;
    gb1 = dh_.colwise().sum().transpose();
  }

  static double accuracy(const float* w, const Eigen::MatrixXf& x, const Eigen::VectorXi& y) {
    CW1 W1(w);
    Eigen::Map<const Eigen::VectorXf> b1(w + kHidden * kIn, kHidden);
    CW2 W2(w + kHidden * kIn + kHidden);
    Eigen::Map<const Eigen::VectorXf> b2(w + kHidden * kIn + kHidden + kOut * kHidden, kOut);
    Eigen::MatrixXf h = ((x * W1.transpose()).rowwise() + b1.transpose()).cwiseMax(0.0f);
    Eigen::MatrixXf z = (h * W2.transpose()).rowwise() + b2.transpose();
    Index right = 0;
    for (Index i = 0; i < x.rows(); ++i) {
      Index best = 0;
      for (Index j = 1; j < kOut; ++j)
        if (z(i, j) > z(i, best)) best = j;
      right += best == y(i);
    }
    return x.rows() ? double(right) / double(x.rows()) : 0.0;
  }

 private:
  Eigen::MatrixXf x_, h_, z_, dh_;
};

inline int group_size(const robustagg::AnyRule&) { return 1; }

struct Attack {
  std::string name = "none";
  int p = 0, q = 0;
  std::uint64_t seed = 0;
  bool active() const { return name != "none"; }
};

inline Attack make_attack(const std::string& name, int p, int q, std::uint64_t seed) {
  if (name != "none" && name != "alie" && name != "ipm" && name != "reverse" &&
      name != "constant" && name != "gaussian" && name != "nan")
    throw robustagg::Error("unknown attack '" + name + "'");
  return Attack{name, p, q, seed};
}

class Attacker {
 public:
  explicit Attacker(Attack a) : a_(std::move(a)) {}
  void from_own(const Matrix& own, int row, int /*step*/, float* out) const {
    const Index d = own.cols();
    Eigen::Map<Eigen::VectorXf> o(out, d);
    Eigen::VectorXf mean = own.colwise().mean().transpose();
    if (a_.name == "alie") {
      Eigen::VectorXf var = (own.rowwise() - mean.transpose()).array().square().colwise().mean();
      o = mean - 1.0f * var.cwiseSqrt();
    } else if (a_.name == "ipm") {
      o = -0.5f * mean;
    } else if (a_.name == "reverse") {
      o = -own.row(row).transpose();
    } else if (a_.name == "constant") {
      o.setConstant(-1.0f);
    } else if (a_.name == "nan") {
      o.setConstant(std::nanf(""));
    }
  }
  void omniscient(Matrix&, const std::vector<Index>&, int) const {}

 private:
  Attack a_;
};

}  // namespace mpi_model
