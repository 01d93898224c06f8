// robustagg::detail kernels: order keys and the scalar reducers over sorted
// keys, the one definition of each.
//
// A -inl file (see expand.hpp): no include guard, no includes. It is expanded
// once in robustagg::detail (order_key.hpp: the portable engine and the
// references) and once inside each SIMD architecture's namespace (the
// kernels' tails), so the portable and the SIMD paths run the same source and
// an architecture's copy never shares a symbol with another's (a std::sort
// instantiation gets a comparator type local to its namespace).
//
// Order keys: k = bits ^ ((bits >> 31) & 0x7fffffff) (arithmetic shift; 63
// for double) maps a float to a signed integer whose ordinary order is the
// IEEE 754 totalOrder: -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN. The
// map is its own inverse. Order-based rules sort keys, so a NaN from a hostile
// worker is an extreme value that gets trimmed like any other outlier.

template <class T>
using key_t = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

template <class T>
ROBUSTAGG_KERNEL_INLINE key_t<T> to_key(T x) {
  using K = key_t<T>;
  K b;
  std::memcpy(&b, &x, sizeof b);
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));  // 0x7fff...
  return b ^ ((b >> kShift) & kMagnitude);
}

template <class T>
ROBUSTAGG_KERNEL_INLINE T from_key(key_t<T> k) {
  using K = key_t<T>;
  constexpr int kShift = int(sizeof(K) * 8 - 1);
  constexpr K kMagnitude = static_cast<K>(~(K(1) << kShift));
  const K b = k ^ ((k >> kShift) & kMagnitude);
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// Mean of two values, correctly rounded and never outside [a, b]: (a + b)/2
/// while the sum cannot overflow, a/2 + b/2 beyond (halving a denormal first
/// would lose its last bit: a/2 + b/2 of two denorm_min is 0). The two forms
/// agree bit for bit unless a half underflows; NaN and Inf take the second.
template <class T>
ROBUSTAGG_KERNEL_INLINE T midpoint(T a, T b) {
  constexpr T kHalf = std::numeric_limits<T>::max() / 2;
  if (std::fabs(a) <= kHalf && std::fabs(b) <= kHalf) return (a + b) * T(0.5);
  return a * T(0.5) + b * T(0.5);
}

/// Sorts a short run of keys ascending (insertion sort up to 32, else
/// std::sort with a comparator local to this namespace).
template <class K>
inline void sort_keys(K* k, Index n) {
  if (n <= 32) {
    for (Index i = 1; i < n; ++i) {
      const K v = k[i];
      Index j = i;
      for (; j > 0 && k[j - 1] > v; --j) k[j] = k[j - 1];
      k[j] = v;
    }
  } else {
    struct Less {
      bool operator()(K a, K b) const { return a < b; }
    };
    std::sort(k, k + n, Less{});
  }
}

/// Median of n sorted keys: the middle value, or the mean of the two middle
/// values for even n.
template <class T>
inline T median_of_sorted(const key_t<T>* k, Index n) {
  if (n % 2 == 1) return from_key<T>(k[n / 2]);
  return midpoint(from_key<T>(k[n / 2 - 1]), from_key<T>(k[n / 2]));
}

/// Mean (double accumulation, ascending order) of sorted keys k[lo, hi).
template <class T>
inline T mean_of_sorted(const key_t<T>* k, Index lo, Index hi) {
  double s = 0.0;
  for (Index i = lo; i < hi; ++i) s += double(from_key<T>(k[i]));
  return T(s / double(hi - lo));
}

/// Bulyan's coordinate step over theta sorted keys: the mean of the beta
/// values closest to their median. The window [lo, hi) starts at all theta
/// values and drops, beta times less than theta, the end farther from the
/// median (the low end on a tie is kept: ties drop the high end); distances in
/// double, a NaN distance counting as +Inf. The median in double: for float,
/// rounding the mean of the two middle values to float would break the exact
/// ties the rule resolves.
template <class T>
inline T mean_closest_to_median(const key_t<T>* k, Index theta, Index beta) {
  const double med = theta % 2 == 1 ? double(from_key<T>(k[theta / 2]))
                                     : 0.5 * double(from_key<T>(k[theta / 2 - 1])) +
                                           0.5 * double(from_key<T>(k[theta / 2]));
  auto dist = [med](T v) {
    const double t = std::fabs(double(v) - med);
    return std::isnan(t) ? std::numeric_limits<double>::infinity() : t;
  };
  Index lo = 0, hi = theta;
  while (hi - lo > beta) {
    if (dist(from_key<T>(k[lo])) > dist(from_key<T>(k[hi - 1])))
      ++lo;
    else
      --hi;
  }
  return mean_of_sorted<T>(k, lo, hi);
}
