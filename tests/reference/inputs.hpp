// Test inputs and comparisons shared by the rule tests: deterministic input
// families (random, tied, duplicated, nearly equal, offset, signed zeros,
// non-finite) and a comparison of a result against the reference with
// tolerances stated in units of the value scale.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <robustagg/gradients.hpp>

#include "reference.hpp"

namespace robustagg::testing {

using reference::VectorD;

enum class Kind { Random, Tied, Duplicated, NearlyEqual, Offset, SignedZeros, NonFinite };

inline const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Random: return "random";
    case Kind::Tied: return "tied";
    case Kind::Duplicated: return "duplicated";
    case Kind::NearlyEqual: return "nearly-equal";
    case Kind::Offset: return "offset";
    case Kind::SignedZeros: return "signed-zeros";
    case Kind::NonFinite: return "non-finite";
  }
  return "?";
}

inline const std::vector<Kind>& all_kinds() {
  static const std::vector<Kind> k = {Kind::Random,      Kind::Tied,   Kind::Duplicated,
                                      Kind::NearlyEqual, Kind::Offset, Kind::SignedZeros,
                                      Kind::NonFinite};
  return k;
}

/// A seed for one (kind, n, d, salt) so every case has its own fixed input.
inline std::uint64_t case_seed(Kind k, Index n, Index d, std::uint64_t salt = 0) {
  return 0x9e3779b97f4a7c15ULL * (std::uint64_t(k) + 1) ^ (std::uint64_t(n) << 20) ^
         (std::uint64_t(d) << 36) ^ (salt * 0x2545f4914f6cdd1dULL);
}

/// An n x d input of the given family. Every family except Random and
/// Duplicated is built from values whose sums and squared differences are
/// exact in double, so ties in distances and scores are exact ties.
template <class T>
GradientMatrix<T> make_input(Kind kind, Index n, Index d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto uniform_int = [&rng](int lo, int hi) {  // inclusive
    return lo + int(rng() % std::uint64_t(hi - lo + 1));
  };
  GradientMatrix<T> g(n, d);
  switch (kind) {
    case Kind::Random:
      for (Index i = 0; i < n; ++i) {
        const double scale = 1.0 + 0.1 * double(i % 5);
        for (Index j = 0; j < d; ++j) g(i, j) = T(scale * normal(rng));
      }
      break;
    case Kind::Tied:
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = T(uniform_int(-2, 2));
      break;
    case Kind::Duplicated: {
      const Index distinct = std::max<Index>(1, n / 3);
      GradientMatrix<T> base(distinct, d);
      for (Index i = 0; i < distinct; ++i)
        for (Index j = 0; j < d; ++j) base(i, j) = T(normal(rng));
      for (Index i = 0; i < n; ++i) g.row(i) = base.row(Index(rng() % std::uint64_t(distinct)));
      break;
    }
    case Kind::NearlyEqual: {
      // base values in +-[1, 2): one ulp is epsilon everywhere, so every
      // value is base + k * eps, k in [-3, 3], and all arithmetic is exact.
      std::vector<T> base(static_cast<std::size_t>(d));
      for (auto& b : base)
        b = T((1.0 + double(rng() % 1024) / 1024.0) * (rng() % 2 ? 1.0 : -1.0));
      const T eps = std::numeric_limits<T>::epsilon();
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) {
          const T b = base[std::size_t(j)];
          g(i, j) = b + T(uniform_int(-3, 3)) * eps * (b < 0 ? T(-1) : T(1));
        }
      break;
    }
    case Kind::Offset:
      // 1e6 + k/16: exact in float (ulp of 1e6 is 1/16) and in double.
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = T(1e6 + double(uniform_int(-64, 64)) / 16.0);
      break;
    case Kind::SignedZeros: {
      const T pool[] = {T(0), -T(0), T(0), -T(0), T(1), T(-1), T(0.5)};
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = pool[rng() % 7];
      break;
    }
    case Kind::NonFinite: {
      const T inf = std::numeric_limits<T>::infinity();
      const T nan = std::numeric_limits<T>::quiet_NaN();
      const T pool[] = {nan, -nan, inf, -inf, T(1e30), T(-1e30),
                        std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest()};
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = T(normal(rng));
      // about one row in four gets hostile values, in about one coordinate in three
      for (Index i = 0; i < n; ++i) {
        if (rng() % 4 != 0) continue;
        for (Index j = 0; j < d; ++j)
          if (rng() % 3 == 0) g(i, j) = pool[rng() % 8];
      }
      break;
    }
  }
  return g;
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Largest finite |value| of each column (at least the smallest normal).
template <class Derived>
VectorD column_scale(const Eigen::MatrixBase<Derived>& g) {
  VectorD s = VectorD::Constant(g.cols(), double(std::numeric_limits<float>::min()));
  for (Index i = 0; i < g.rows(); ++i)
    for (Index j = 0; j < g.cols(); ++j) {
      const double x = std::fabs(double(g(i, j)));
      if (std::isfinite(x)) s[j] = std::max(s[j], x);
    }
  return s;
}

/// How closely a result must match the reference.
enum class Match {
  Bitwise,  // the definition picks one input value (or computes it exactly)
  Rounded,  // an average: 4 ulps of T at the value scale, plus n ulps of
            // double for the double accumulation
};

/// Empty when got matches want everywhere; else the first mismatches.
template <class T>
std::string compare(const T* got, const VectorD& want, Match match, const VectorD& scale,
                    Index n) {
  std::ostringstream os;
  os.precision(17);
  int bad = 0;
  const double eps_t = double(std::numeric_limits<T>::epsilon());
  const double eps_d = std::numeric_limits<double>::epsilon();
  for (Index j = 0; j < want.size(); ++j) {
    const double w = want[j];
    const T g = got[j];
    bool ok;
    if (std::isnan(w)) {
      ok = std::isnan(g);
    } else if (match == Match::Bitwise) {
      ok = same_bits(g, T(w));
    } else if (std::isinf(w)) {
      ok = double(g) == w;
    } else {
      const double tol = (4.0 * eps_t + double(n + 2) * eps_d) * scale[j];
      ok = std::fabs(double(g) - w) <= tol;
    }
    if (!ok && bad++ < 3)
      os << "[j=" << j << " got " << double(g) << " want " << w << "] ";
  }
  if (bad) os << bad << " of " << want.size() << " coordinates differ";
  return os.str();
}

}  // namespace robustagg::testing
