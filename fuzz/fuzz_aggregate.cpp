// libFuzzer target: aggregate() over fuzzer-chosen shapes, rules, input forms
// and raw float bits (NaN payloads, +-Inf, denormals, +-max, -0).
//
// The input picks a scalar type, an input form, a rule (or a spec string for
// any rule the parser knows), n, d, f, m, a set H of hostile rows and the
// raw bits of every value. Hostile rows take the bits as they come; honest
// rows are made finite (and, for double, at most 1e150 in magnitude: beyond
// that squared distances overflow double, see docs/security.md).
//
// Invariants, with h = |H| (docs/rules.md and docs/security.md):
//  * no crash, no UB, robustagg::Error is the only exception, and it is
//    thrown exactly when n misses the rule's requirement;
//  * the input is never modified; the same call with a fresh workspace and
//    with the reused one gives the same bits;
//  * median, noisy-median: h <= (n-1)/2  => out in the honest range (for the
//    noisy rule, the range of the honest rows after perturb());
//  * trimmed-mean(f): h <= f => out in the honest range;
//  * krum(f): h <= f => out is one of the input rows, all finite; if every
//    hostile row holds a non-finite value, an honest row;
//  * multi-krum(f, m): h <= f, m' <= n-h => out finite; if every hostile row
//    holds a non-finite value, in the honest range;
//  * bulyan(f): h <= f => out finite and within [lo - w, hi + w], w = hi - lo
//    of the honest range; if every hostile row is non-finite, in [lo, hi];
//  * sign votes: out in {-1, 0, +1};
//  * mean: with no hostile rows, in the honest range;
//  * geometric-median, centered-clipping, caf(f) and cge(f) (h <= f): if every
//    hostile row holds a non-finite value, in the honest range (they average
//    finite rows);
//  * meamed(f): h <= f => within [lo - w, hi + w];
//  * mda(f), smea(f), monna(f, trusted=0) (row 0 honest): h <= f => out
//    finite; if every hostile row is non-finite, in the honest range.
// "In the range" allows n rounding errors of the double accumulation for
// rules that average (the mean of k equal doubles is not always exact).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <robustagg/robustagg.hpp>

#include "fuzz_budget.hpp"

namespace {

using robustagg::Index;

/// Reads the fuzzer's bytes; past the end, a fixed pseudo-random stream.
class Bytes {
 public:
  Bytes(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  std::uint8_t u8() {
    if (pos_ < n_) return p_[pos_++];
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return std::uint8_t(z ^ (z >> 31));
  }
  std::uint64_t u64(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(u8()) << (8 * i);
    return v;
  }
  /// Up to `len` bytes of text (fewer at the end of the input).
  std::string text(std::size_t len) {
    const std::size_t k = std::min(len, n_ - std::min(pos_, n_));
    std::string s(reinterpret_cast<const char*>(p_ + pos_), k);
    pos_ += k;
    return s;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  std::uint64_t state_ = 0x1234567;
};

[[noreturn]] void violated(const std::string& spec, const std::string& what) {
  std::fprintf(stderr, "fuzz_aggregate invariant violated: %s: %s\n", spec.c_str(), what.c_str());
  std::abort();
}

enum RuleId { kMean, kMedian, kTrimmed, kKrum, kMultiKrum, kBulyan, kSign, kNoisyMedian,
              kNoisySign, kSpec,
              // the rules after 2020
              kGeoMedian, kClipping, kMeamed, kMda, kMonna, kCaf, kSmea, kCge, kRuleCount };

template <class T>
struct Bits;
template <>
struct Bits<float> {
  using U = std::uint32_t;
  static constexpr int kExpBits = 8, kMantBits = 23;
};
template <>
struct Bits<double> {
  using U = std::uint64_t;
  static constexpr int kExpBits = 11, kMantBits = 52;
};

template <class T>
T from_bits(typename Bits<T>::U b) {
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// An honest value from raw bits: finite, and for double below 2^498 ~ 1e150.
template <class T>
T honest_value(typename Bits<T>::U b, int mode) {
  using U = typename Bits<T>::U;
  constexpr int kM = Bits<T>::kMantBits;
  constexpr U kExpMask = ((U(1) << Bits<T>::kExpBits) - 1) << kM;
  constexpr U kMaxExp = std::is_same_v<T, float> ? U(254) : U(1023 + 498);
  switch (mode) {
    case 0: {  // any finite value (bounded for double)
      U e = (b & kExpMask) >> kM;
      if (e > kMaxExp) e %= kMaxExp + 1;
      return from_bits<T>((b & ~kExpMask) | (e << kM));
    }
    case 1:  // small integers: many exact ties
      return T(int(b % 7) - 3);
    case 2:  // denormals and zeros
      return from_bits<T>(b & ~kExpMask);
    default:  // moderate values
      return T(double(std::int64_t(b % 2000001) - 1000000) / 1024.0);
  }
}

/// A hostile value: raw bits, or one of the values attackers like.
template <class T>
T hostile_value(typename Bits<T>::U b, int mode) {
  using L = std::numeric_limits<T>;
  switch (mode) {
    case 0: return from_bits<T>(b);
    case 1: return L::quiet_NaN();
    case 2: return (b & 1) ? L::infinity() : -L::infinity();
    case 3: return (b & 1) ? L::max() : L::lowest();
    default: {
      // A signalling or quiet NaN with a fuzzer payload, either sign.
      using U = typename Bits<T>::U;
      constexpr int kM = Bits<T>::kMantBits;
      const U exp = ((U(1) << Bits<T>::kExpBits) - 1) << kM;
      const U sign = (b >> 1) & 1 ? U(1) << (sizeof(T) * 8 - 1) : 0;
      return from_bits<T>(sign | exp | ((b & ((U(1) << kM) - 1)) | 1));
    }
  }
}

template <class T>
bool row_finite(const T* r, Index d) {
  for (Index j = 0; j < d; ++j)
    if (!std::isfinite(r[j])) return false;
  return true;
}

template <class T>
void run_case(Bytes& in, int form, int rule_id) {
  using U = typename Bits<T>::U;
  const Index n = 1 + Index(in.u8() % 40);
  const Index d = 1 + Index(in.u64(2) % 600);
  const int f = in.u8() % 12;
  const int m = in.u8() % int(n + 2);  // m > n is an error
  const int hostile_wanted = in.u8() % (f + 2);
  const int honest_mode = in.u8() % 4;
  const int hostile_mode = in.u8() % 5;
  const double b = double(in.u8()) / 16.0;
  const std::uint64_t seed = in.u64(2);
  std::uint64_t pick = in.u64(8);
  // For the spec path: the spec text comes before the values.
  const std::string text = rule_id == kSpec ? in.text(in.u8() % 96) : std::string();

  // The hostile rows: a fuzzer-chosen subset of size min(wanted, n).
  std::vector<char> hostile(std::size_t(n), 0);
  int h = 0;
  for (int k = 0; k < hostile_wanted && h < n; ++k) {
    Index i = Index(pick % std::uint64_t(n));
    pick = pick * 6364136223846793005ULL + 1442695040888963407ULL;
    while (hostile[std::size_t(i)]) i = (i + 1) % n;
    hostile[std::size_t(i)] = 1;
    ++h;
  }

  // Storage with padding between rows (form 1) and row buffers (form 2).
  const Index stride = form == 1 ? d + 3 : d;
  std::vector<T> buffer(std::size_t(n * stride), T(0));
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) {
      const U bits = U(in.u64(int(sizeof(T))));
      buffer[std::size_t(i * stride + j)] = hostile[std::size_t(i)]
                                                ? hostile_value<T>(bits, hostile_mode)
                                                : honest_value<T>(bits, honest_mode);
    }
  // Every hostile row non-finite? (then distance rules never pick it)
  bool hostile_all_nonfinite = true;
  for (Index i = 0; i < n; ++i)
    if (hostile[std::size_t(i)] && row_finite(&buffer[std::size_t(i * stride)], d))
      hostile_all_nonfinite = false;

  // The rule.
  robustagg::AnyRule rule;
  Index need = 1;
  bool m_ok = true;
  switch (rule_id) {
    case kMean: rule = robustagg::Mean{}; break;
    case kMedian: rule = robustagg::Median{}; break;
    case kTrimmed: rule = robustagg::TrimmedMean{f}; need = 2 * f + 1; break;
    case kKrum: rule = robustagg::Krum{f}; need = 2 * f + 3; break;
    case kMultiKrum:
      rule = robustagg::MultiKrum{f, m};
      need = 2 * f + 3;
      m_ok = m <= n;
      break;
    case kBulyan: rule = robustagg::Bulyan{f}; need = 4 * f + 3; break;
    case kSign: rule = robustagg::SignVote{}; break;
    case kNoisyMedian: rule = robustagg::NoisyMedian{b, seed}; break;
    case kNoisySign: rule = robustagg::NoisySignVote{b, seed}; break;
    case kGeoMedian: rule = robustagg::GeometricMedian{1 + f, 1e-6, 1e-7}; break;
    case kClipping: rule = robustagg::CenteredClipping{b + 0.0625, 1 + f % 3}; break;
    case kMeamed: rule = robustagg::Meamed{f}; need = 2 * f + 1; break;
    case kMda:
      rule = robustagg::Mda{f};
      need = 2 * f + 1;
      m_ok = robustagg::detail::mda_search_work(n, f) <= robustagg::kMaxMdaWork;
      break;
    case kMonna: rule = robustagg::Monna{f, 0}; need = 2 * f + 1; break;
    case kCaf: rule = robustagg::Caf{f}; need = 2 * f + 1; break;
    case kCge: rule = robustagg::Cge{f}; need = 2 * f + 1; break;
    case kSmea:  // f at most 2: C(n, f) eigenproblems of n - f rows per input
      rule = robustagg::Smea{f % 3};
      need = 2 * (f % 3) + 1;
      break;
    default:
      try {
        rule = robustagg::parse_rule(text);
      } catch (const robustagg::Error&) {
        return;
      }
  }
  const std::string spec = rule.spec();
  if (fuzz::over_fuzz_budget(spec, n)) return;  // cost only (fuzz_budget.hpp)
  const bool valid = n >= need && m_ok;

  std::vector<const T*> rows(static_cast<std::size_t>(n));
  std::vector<std::vector<T>> separate;
  if (form == 2) {
    separate.resize(std::size_t(n));
    for (Index i = 0; i < n; ++i) {
      separate[std::size_t(i)].assign(buffer.begin() + i * stride, buffer.begin() + i * stride + d);
      rows[std::size_t(i)] = separate[std::size_t(i)].data();
    }
  } else {
    for (Index i = 0; i < n; ++i) rows[std::size_t(i)] = buffer.data() + i * stride;
  }
  const robustagg::RowsView<T> view =
      form == 2 ? robustagg::RowsView<T>::from_rows(rows.data(), n, d)
                : robustagg::RowsView<T>::strided(buffer.data(), n, d, stride);
  const std::vector<T> before = buffer;

  // A workspace reused across fuzz inputs of every shape, and a fresh one.
  static robustagg::Workspace reused;
  std::vector<T> out(std::size_t(d), T(0)), again(std::size_t(d), T(0));
  try {
    robustagg::aggregate(view, rule, out.data(), reused);
  } catch (const robustagg::Error& e) {
    if (valid && rule_id != kSpec) violated(spec, std::string("Error on a valid input: ") + e.what());
    return;
  }
  if (!valid && rule_id != kSpec) violated(spec, "no Error although n misses the requirement");
  {
    robustagg::Workspace fresh;
    robustagg::aggregate(view, rule, again.data(), fresh);
    if (std::memcmp(out.data(), again.data(), sizeof(T) * std::size_t(d)) != 0)
      violated(spec, "a reused workspace changed the result");
  }
  if (std::memcmp(before.data(), buffer.data(), sizeof(T) * before.size()) != 0)
    violated(spec, "the input was modified");
  for (Index i = 0; form == 2 && i < n; ++i)
    if (std::memcmp(separate[std::size_t(i)].data(), &before[std::size_t(i * stride)],
                    sizeof(T) * std::size_t(d)) != 0)
      violated(spec, "the input was modified");

  // Honest per-coordinate range (of the perturbed rows for the noisy median).
  std::vector<double> lo(std::size_t(d), std::numeric_limits<double>::infinity());
  std::vector<double> hi(std::size_t(d), -std::numeric_limits<double>::infinity());
  for (Index i = 0; i < n; ++i) {
    if (hostile[std::size_t(i)]) continue;
    robustagg::Vector<T> r =
        Eigen::Map<const robustagg::Vector<T>>(&before[std::size_t(i * stride)], d);
    if (rule_id == kNoisyMedian) r = robustagg::perturb(r, b, seed, std::uint64_t(i));
    for (Index j = 0; j < d; ++j) {
      lo[std::size_t(j)] = std::min(lo[std::size_t(j)], double(r[j]));
      hi[std::size_t(j)] = std::max(hi[std::size_t(j)], double(r[j]));
    }
  }
  // Rounding allowance for averages: a few ulps of T per value averaged.
  auto tolerance = [&](Index j) {
    const double mag = std::max(std::fabs(lo[std::size_t(j)]), std::fabs(hi[std::size_t(j)]));
    return std::is_same_v<T, double> ? mag * double(n + 2) * std::numeric_limits<double>::epsilon()
                                     : 0.0;
  };
  auto check_range = [&](double widen_by_width, bool average) {
    for (Index j = 0; j < d; ++j) {
      const double x = double(out[std::size_t(j)]);
      const double w = (hi[std::size_t(j)] - lo[std::size_t(j)]) * widen_by_width;
      const double tol = average ? tolerance(j) : 0.0;
      if (!std::isfinite(x)) violated(spec, "non-finite output at coordinate " + std::to_string(j));
      if (x < lo[std::size_t(j)] - w - tol || x > hi[std::size_t(j)] + w + tol) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "coordinate %td: %.17g outside [%.17g, %.17g] (h=%d)", j,
                      x, lo[std::size_t(j)], hi[std::size_t(j)], h);
        violated(spec, buf);
      }
    }
  };

  const int majority_ok = h <= int((n - 1) / 2);
  switch (rule_id) {
    case kMean:
      if (h == 0) check_range(0.0, true);
      break;
    case kMedian:
    case kNoisyMedian:
      if (majority_ok) check_range(0.0, false);
      break;
    case kTrimmed:
      if (h <= f) check_range(0.0, true);
      break;
    case kKrum:
      if (h <= f) {
        Index which = -1;
        for (Index i = 0; i < n && which < 0; ++i)
          if (std::memcmp(out.data(), &before[std::size_t(i * stride)], sizeof(T) * std::size_t(d)) == 0)
            which = i;
        if (which < 0) violated(spec, "the output is not an input row");
        if (!row_finite(out.data(), d)) violated(spec, "a non-finite row won");
        if (hostile_all_nonfinite && hostile[std::size_t(which)])
          violated(spec, "a hostile row won although every hostile row is non-finite");
      }
      break;
    case kMultiKrum: {
      const Index selected = m == 0 ? n - f : Index(m);
      if (h <= f && selected <= n - h) {
        if (!row_finite(out.data(), d)) violated(spec, "non-finite output");
        if (hostile_all_nonfinite) check_range(0.0, true);
      }
      break;
    }
    case kBulyan:
      if (h <= f) check_range(hostile_all_nonfinite ? 0.0 : 1.0, true);
      break;
    case kSign:
    case kNoisySign:
      for (Index j = 0; j < d; ++j) {
        const T x = out[std::size_t(j)];
        if (!(x == T(-1) || x == T(0) || x == T(1))) violated(spec, "a sign vote outside {-1,0,1}");
      }
      break;
    case kGeoMedian:
    case kClipping:
    case kCaf:
    case kCge:
      // convex combinations of the finite rows (a start inside their range);
      // cge(f): h <= f non-finite rows rank after the n - f finite ones
      if (hostile_all_nonfinite && h < n && ((rule_id != kCaf && rule_id != kCge) || h <= f))
        check_range(0.0, true);
      break;
    case kMeamed:
      // the n - f values closest to the median lie within w of it
      if (h <= f) check_range(1.0, true);
      break;
    case kMda:
    case kSmea:
    case kMonna: {
      const int ff = rule_id == kSmea ? f % 3 : f;
      if (h > ff || (rule_id == kMonna && hostile[0])) break;
      // a subset of finite rows wins (an honest-only subset has a finite value)
      if (!row_finite(out.data(), d)) violated(spec, "non-finite output");
      if (hostile_all_nonfinite) check_range(0.0, true);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Bytes in(data, size);
  const std::uint8_t head = in.u8();
  const int rule_id = in.u8() % kRuleCount;
  const int form = (head >> 1) % 3;  // 0 tight strided, 1 padded strided, 2 row pointers
  if (head & 1)
    run_case<double>(in, form, rule_id);
  else
    run_case<float>(in, form, rule_id);
  return 0;
}
