// The handwritten digits data set (UCI optical digits, 1797 8x8 images, see
// examples/data/README.md): loading from .csv.gz (zlib) and a seeded
// train/test split. Shared by the demo and the MPI parameter-server example.
#pragma once

#include <zlib.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace demo {

/// N examples: features (N x features, row-major; the digits: 64 pixel
/// values / 16 in [0, 1]) and labels 0..9.
struct Dataset {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x;
  std::vector<int> y;
  std::ptrdiff_t size() const { return std::ptrdiff_t(y.size()); }
};

inline constexpr int kFeatures = 64;
inline constexpr int kClasses = 10;

/// Reads a whole gzip (or plain) file with zlib.
inline std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      throw std::runtime_error("cannot read " + path + ": " + msg);
    }
    if (got == 0) break;
    data.append(buf, std::size_t(got));
  }
  gzclose(f);
  return data;
}

/// Parses rows of 64 integer pixels (0..16) and a label (0..9).
inline Dataset load_digits(const std::string& path) {
  const std::string text = read_gzip(path);
  std::vector<float> pixels;
  std::vector<int> labels;
  std::size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    if (end > pos) {
      int values[kFeatures + 1];
      int count = 0;
      std::size_t i = pos;
      while (i < end) {
        if (count > kFeatures) break;
        char* stop = nullptr;
        const long v = std::strtol(text.c_str() + i, &stop, 10);
        if (stop == text.c_str() + i) break;
        values[count++] = int(v);
        i = std::size_t(stop - text.c_str());
        if (i < end && text[i] == ',') ++i;
        while (i < end && (text[i] == '\r' || text[i] == ' ')) ++i;
      }
      if (count != kFeatures + 1 || i != end || values[kFeatures] < 0 ||
          values[kFeatures] >= kClasses)
        throw std::runtime_error(path + ":" + std::to_string(line) +
                                 ": expected 64 pixel values and a label 0..9");
      for (int j = 0; j < kFeatures; ++j) pixels.push_back(float(values[j]) / 16.0f);
      labels.push_back(values[kFeatures]);
    }
    pos = end + 1;
  }
  Dataset d;
  d.y = std::move(labels);
  d.x.resize(std::ptrdiff_t(d.y.size()), kFeatures);
  std::copy(pixels.begin(), pixels.end(), d.x.data());
  return d;
}

/// The rows `idx` of `d`.
inline Dataset subset(const Dataset& d, const std::vector<int>& idx) {
  Dataset s;
  s.x.resize(std::ptrdiff_t(idx.size()), d.x.cols());
  s.y.resize(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) {
    s.x.row(std::ptrdiff_t(i)) = d.x.row(idx[i]);
    s.y[i] = d.y[std::size_t(idx[i])];
  }
  return s;
}

/// A seeded shuffle split: the last `test_fraction` of a permutation is the
/// test set.
inline void split(const Dataset& all, double test_fraction, std::uint64_t seed, Dataset& train,
                  Dataset& test) {
  std::vector<int> idx(std::size_t(all.size()));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed ^ 0x5d1e5eedULL);
  for (std::size_t i = idx.size(); i > 1; --i)
    std::swap(idx[i - 1], idx[std::size_t(rng() % i)]);
  const std::size_t n_test = std::size_t(double(idx.size()) * test_fraction + 0.5);
  const std::size_t n_train = idx.size() - n_test;
  train = subset(all, std::vector<int>(idx.begin(), idx.begin() + std::ptrdiff_t(n_train)));
  test = subset(all, std::vector<int>(idx.begin() + std::ptrdiff_t(n_train), idx.end()));
}

}  // namespace demo
