// Digests of every rule's output on fixed inputs, float and double: the same
// source is built header-only by plain g++ (tests/cmake/consumers.cmake, at -O2
// and -O2 -march=native, GCC's default GNU mode, which contracts a*b+c into
// FMA where the target has it) and against the compiled library
// (robustagg::robustagg, run-time dispatch); the outputs must be bitwise equal.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <robustagg/robustagg.hpp>
#include <string>
#include <vector>

namespace digest {

inline const std::vector<std::string>& specs() {
  static const std::vector<std::string> s = {
      "mean", "median", "trimmed-mean(f=2)", "meamed(f=2)", "sign-vote",
      "noisy-median(b=0.5, seed=3)", "noisy-sign-vote(b=0.5, seed=3)", "krum(f=2)",
      "multi-krum(f=2)", "bulyan(f=2)", "geometric-median", "centered-clipping(tau=0.7, iterations=5)",
      "mda(f=2)", "monna(f=2, trusted=1)", "caf(f=2)", "smea(f=2)", "clip(c=3, then=mean)",
      "nnm(f=2, then=trimmed-mean(f=2))", "arc(f=2, then=krum(f=2))",
      "bucketing(s=2, seed=1, then=geometric-median(iterations=8))",
      "detox(r=3, buckets=3, inner=mean, outer=median)"};
  return s;
}

/// A deterministic input with fractions (practically no ties), rows at
/// different scales and one outlier row: the products and sums of the row
/// rules (geometric median, centered clipping, CAF) are rounded, so a fused
/// multiply-add inside the library would change their bits. The input itself
/// is computed exactly (24-bit integers times powers of two and small
/// integers), so this file's own arithmetic gives the same values whether or
/// not the compiler contracts it (GCC does at -march=native in GNU mode).
template <class T>
robustagg::GradientMatrix<T> input(robustagg::Index n, robustagg::Index d) {
  robustagg::GradientMatrix<T> g(n, d);
  std::uint64_t s = 0x9e3779b97f4a7c15ull;
  for (robustagg::Index i = 0; i < n; ++i)
    for (robustagg::Index j = 0; j < d; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const double k = double(std::int64_t(s >> 40) - (std::int64_t(1) << 23)) * 0x1p-20;  // exact
      g(i, j) = T(k * double(1 + i % 4) + 0.25 * double(j % 7));  // exact in double
    }
  g.row(n - 1) *= T(40);
  return g;
}

inline std::uint64_t fnv(const void* p, std::size_t bytes) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* c = static_cast<const unsigned char*>(p);
  for (std::size_t k = 0; k < bytes; ++k) h = (h ^ c[k]) * 1099511628211ull;
  return h;
}

/// One line per (type, spec): "float median 0123...". Returns 0.
template <class T>
void print_type(const char* type) {
  const auto g = input<T>(15, 1003);
  // DETOX's groups of 3 are replicas (each group's rows equal its first row)
  robustagg::GradientMatrix<T> groups = g;
  for (robustagg::Index i = 0; i < groups.rows(); ++i) groups.row(i) = g.row(i - i % 3);
  for (const std::string& spec : specs()) {
    const bool detox = spec.rfind("detox", 0) == 0;
    const robustagg::Vector<T> out = robustagg::aggregate(detox ? groups : g, robustagg::parse_rule(spec));
    std::printf("%s %s %016llx\n", type, spec.c_str(),
                static_cast<unsigned long long>(fnv(out.data(), sizeof(T) * std::size_t(out.size()))));
  }
}

inline int print_all() {
  print_type<float>("float");
  print_type<double>("double");
  return 0;
}

}  // namespace digest
