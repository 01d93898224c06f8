// robustagg::detail kernels: the coordinate engine: sorting and selection
// networks over batches (each lane a coordinate), their reducers, and the
// median and sorted-coordinate kernels.
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

// ---------------------------------------------------------------------------
// Networks over batches.

template <int Lo, int Hi, int Kind, class V>
ROBUSTAGG_KERNEL_INLINE void compare_exchange(V* v) {
  if constexpr (Kind == 3) {
    const V a = v[Lo], b = v[Hi];
    v[Lo] = xsimd::min(a, b);
    v[Hi] = xsimd::max(a, b);
  } else if constexpr (Kind == 1) {
    v[Lo] = xsimd::min(v[Lo], v[Hi]);
  } else {
    v[Hi] = xsimd::max(v[Lo], v[Hi]);
  }
}

template <class Net, class V, std::size_t... I>
ROBUSTAGG_KERNEL_INLINE void apply_fixed(V* v, std::index_sequence<I...>) {
  (void)v;
  (compare_exchange<Net::value.c[I].lo, Net::value.c[I].hi, Net::value.c[I].kind>(v), ...);
}

/// Applies the compile-time network Net (SortNetwork<N> or MedianNetwork<N>).
template <class Net, class V>
ROBUSTAGG_KERNEL_INLINE void apply_network(V* v) {
  apply_fixed<Net>(v, std::make_index_sequence<std::size_t(Net::value.count)>{});
}

/// Applies a run-time comparator list to batches held in memory.
template <class V>
inline void apply_network(V* v, const Comparator* net, int count) {
  for (int c = 0; c < count; ++c) {
    const Comparator x = net[c];
    const V a = v[x.lo], b = v[x.hi];
    if (x.kind & 1) v[x.lo] = xsimd::min(a, b);
    if (x.kind & 2) v[x.hi] = xsimd::max(a, b);
  }
}

// ---------------------------------------------------------------------------
// Coordinate kernels. A block kernel processes `count` coordinates (a multiple
// of the SIMD width W) starting at column j0 of n row pointers.

/// midpoint lane by lane.
template <class T>
ROBUSTAGG_KERNEL_INLINE vec<T> midpoint_batch(const vec<T>& a, const vec<T>& b) {
  const vec<T> half(T(0.5));
  const vec<T> half_max(kHalfMax<T>);
  const auto small = (xsimd::abs(a) <= half_max) & (xsimd::abs(b) <= half_max);
  return xsimd::select(small, (a + b) * half, a * half + b * half);
}

template <class T>
using block_fn = void (*)(const T* const* rows, Index j0, Index count, T* dst);

/// dst[j] = median of rows[.][j0 + j], j in [0, count).
template <class T, int N>
void median_block(const T* const* rows, Index j0, Index count, T* dst) {
  constexpr Index W = simd_width<T>;
  const T* r[N];
  ROBUSTAGG_UNROLL
  for (int i = 0; i < N; ++i) r[i] = rows[i] + j0;
  for (Index j = 0; j + W <= count; j += W) {
    kvec<T> v[N];
    ROBUSTAGG_UNROLL
    for (int i = 0; i < N; ++i) v[i] = load_keys<T>(r[i] + j);
    apply_network<MedianNetwork<N>>(v);
    if constexpr (N % 2 == 1) {
      from_keys<T>(v[N / 2]).store_unaligned(dst + j);
    } else {
      midpoint_batch<T>(from_keys<T>(v[N / 2 - 1]), from_keys<T>(v[N / 2])).store_unaligned(dst + j);
    }
  }
}

/// Sorted values of each group of W coordinates: dst[(g * N + i) * W + lane]
/// is the i-th smallest value of coordinate j0 + g * W + lane.
template <class T, int N>
void sort_block(const T* const* rows, Index j0, Index count, T* dst) {
  constexpr Index W = simd_width<T>;
  const T* r[N];
  ROBUSTAGG_UNROLL
  for (int i = 0; i < N; ++i) r[i] = rows[i] + j0;
  for (Index j = 0; j + W <= count; j += W) {
    kvec<T> v[N];
    ROBUSTAGG_UNROLL
    for (int i = 0; i < N; ++i) v[i] = load_keys<T>(r[i] + j);
    apply_network<SortNetwork<N>>(v);
    T* o = dst + j * N;
    ROBUSTAGG_UNROLL
    for (int i = 0; i < N; ++i) from_keys<T>(v[i]).store_unaligned(o + i * W);
  }
}

template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> median_blocks(std::index_sequence<I...>) {
  return {{&median_block<T, int(I) + 1>...}};
}
template <class T, std::size_t... I>
constexpr std::array<block_fn<T>, sizeof...(I)> sort_blocks(std::index_sequence<I...>) {
  return {{&sort_block<T, int(I) + 1>...}};
}

/// The same kernels with a run-time network over n batches of scratch `v`.
template <class T>
void median_block_dynamic(const T* const* rows, Index n, Index j0, Index count, T* dst,
                          const Comparator* net, int net_count, kvec<T>* v) {
  constexpr Index W = simd_width<T>;
  for (Index j = 0; j + W <= count; j += W) {
    for (Index i = 0; i < n; ++i) v[i] = load_keys<T>(rows[i] + j0 + j);
    apply_network(v, net, net_count);
    if (n % 2 == 1) {
      from_keys<T>(v[n / 2]).store_unaligned(dst + j);
    } else {
      midpoint_batch<T>(from_keys<T>(v[n / 2 - 1]), from_keys<T>(v[n / 2])).store_unaligned(dst + j);
    }
  }
}

template <class T>
void sort_block_dynamic(const T* const* rows, Index n, Index j0, Index count, T* dst,
                        const Comparator* net, int net_count, kvec<T>* v) {
  constexpr Index W = simd_width<T>;
  for (Index j = 0; j + W <= count; j += W) {
    for (Index i = 0; i < n; ++i) v[i] = load_keys<T>(rows[i] + j0 + j);
    apply_network(v, net, net_count);
    T* o = dst + j * n;
    for (Index i = 0; i < n; ++i) from_keys<T>(v[i]).store_unaligned(o + i * W);
  }
}

/// Mean over [lo, hi) of the sorted values, accumulated in double in
/// ascending order (bitwise the portable result).
template <class T>
ROBUSTAGG_KERNEL_INLINE void mean_of_sorted_group(const T* s, Index lo, Index hi, T* out) {
  constexpr Index W = simd_width<T>;
  constexpr Index WD = simd_width<double>;
  const vec<double> count = vec<double>(double(hi - lo));
  ROBUSTAGG_UNROLL
  for (Index h = 0; h < W; h += WD) {
    vec<double> acc(0.0);
    for (Index i = lo; i < hi; ++i) acc += load_as_double<T>(s + i * W + h);
    store_from_double<T>(acc / count, out + h);
  }
}

/// Bulyan's coordinate step over theta sorted values, lane by lane in double,
/// with the window ends fetched by selects instead of gathers.
template <class T>
void bulyan_of_sorted_group(const T* s, Index theta, Index beta, T* out) {
  constexpr Index W = simd_width<T>;
  constexpr Index WD = simd_width<double>;
  using D = vec<double>;
  const D inf(kInfinity);
  const D zero(0.0), one(1.0);
  // The median in double (as the portable path): rounding the mean of the
  // two middle values to float would break exact ties.
  alignas(64) double med_buf[W];
  ROBUSTAGG_UNROLL
  for (Index l = 0; l < W; ++l) {
    med_buf[l] = theta % 2 == 1 ? double(s[(theta / 2) * W + l])
                                : 0.5 * double(s[(theta / 2 - 1) * W + l]) +
                                      0.5 * double(s[(theta / 2) * W + l]);
  }
  const Index drops = theta - beta;
  ROBUSTAGG_UNROLL
  for (Index h = 0; h < W; h += WD) {
    const D med = D::load_aligned(med_buf + h);
    auto value = [&](Index i) { return load_as_double<T>(s + i * W + h); };
    auto dist = [&](const D& v) {
      const D t = xsimd::abs(v - med);
      // xsimd::isnan, not t != t: xsimd 8.1 compiles != on AVX/AVX-512 as an
      // ordered compare (NaN != NaN is false there).
      return xsimd::select(xsimd::isnan(t), inf, t);
    };
    D lo(0.0);
    D hi = D(double(theta));  // window [lo, hi), as exact small integers
    for (Index it = 0; it < drops; ++it) {
      // lo is in [0, it], hi - 1 in [theta - 1 - it, theta - 1].
      D vlo = value(0), vhi = value(theta - 1);
      for (Index p = 1; p <= it; ++p) {
        vlo = xsimd::select(lo == D(double(p)), value(p), vlo);
        vhi = xsimd::select(hi == D(double(theta - p)), value(theta - 1 - p), vhi);
      }
      const auto drop_low = dist(vlo) > dist(vhi);
      lo = xsimd::select(drop_low, lo + one, lo);
      hi = xsimd::select(drop_low, hi, hi - one);
    }
    D acc(0.0);
    for (Index p = 0; p < theta; ++p) {
      const D P = D(double(p));
      acc += xsimd::select((P >= lo) & (P < hi), value(p), zero);
    }
    store_from_double<T>(acc / D(double(beta)), out + h);
  }
}

/// Portable tail: coordinates [from, count) of a block, reduced per coordinate.
template <class T, class Reduce>
inline void scalar_block(const T* const* rows, Index n, Index j0, Index from, Index count,
                         key_type<T>* keys, T* dst, Reduce&& reduce) {
  for (Index jj = from; jj < count; ++jj) {
    for (Index i = 0; i < n; ++i) keys[i] = to_key<T>(rows[i][j0 + jj]);
    sort_keys(keys, n);
    dst[jj] = reduce(static_cast<const key_type<T>*>(keys), n);
  }
}

/// Scratch layout (coordinate_scratch_bytes): n batches, the sorted block,
/// n keys.
struct CoordinateScratch {
  unsigned char* batches;
  unsigned char* sorted;
  unsigned char* keys;
};
template <class T>
inline CoordinateScratch split_scratch(unsigned char* p, Index n) {
  return {p, p + std::size_t(n) * kMaxBatchBytes,
          p + std::size_t(n) * kMaxBatchBytes + sorted_scratch_values(n, sizeof(T)) * sizeof(T)};
}

template <class T>
void median_kernel(const T* const* rows, Index n, Index j0, Index count, T* dst,
                   unsigned char* scratch, const Comparator* net, int net_count) {
  using K = key_type<T>;
  constexpr Index W = simd_width<T>;
  static constexpr auto kBlocks = median_blocks<T>(std::make_index_sequence<kFixedNetworks>{});
  const CoordinateScratch s = split_scratch<T>(scratch, n);
  Index done = 0;
  if (n <= kFixedNetworks) {
    done = count / W * W;
    kBlocks[std::size_t(n - 1)](rows, j0, done, dst);
  } else if (n <= kMaxNetworkWires) {
    done = count / W * W;
    median_block_dynamic(rows, n, j0, done, dst, net, net_count, reinterpret_cast<kvec<T>*>(s.batches));
  }
  scalar_block(rows, n, j0, done, count, reinterpret_cast<K*>(s.keys), dst,
               [](const K* k, Index m) { return median_of_sorted<T>(k, m); });
}

template <class T>
void sorted_kernel(const T* const* rows, Index n, Index j0, Index count, T* dst,
                   unsigned char* scratch, const Comparator* net, int net_count,
                   SortedReducer reducer, Index param) {
  using K = key_type<T>;
  constexpr Index W = simd_width<T>;
  static constexpr auto kBlocks = sort_blocks<T>(std::make_index_sequence<kFixedNetworks>{});
  const CoordinateScratch s = split_scratch<T>(scratch, n);
  T* sorted = reinterpret_cast<T*>(s.sorted);
  Index done = 0;
  auto reduce_group = [&](const T* group, T* out) {
    if (reducer == SortedReducer::kTrimmedMean)
      mean_of_sorted_group<T>(group, param, n - param, out);
    else
      bulyan_of_sorted_group<T>(group, n, param, out);
  };
  if (n <= kFixedNetworks) {
    // The whole block sorted in registers first, then reduced.
    done = count / W * W;
    kBlocks[std::size_t(n - 1)](rows, j0, done, sorted);
    for (Index j = 0; j < done; j += W) reduce_group(sorted + j * n, dst + j);
  } else if (n <= kMaxNetworkWires) {
    // One batch of W coordinates at a time: sorted holds n x W values.
    done = count / W * W;
    for (Index j = 0; j < done; j += W) {
      sort_block_dynamic(rows, n, j0 + j, W, sorted, net, net_count, reinterpret_cast<kvec<T>*>(s.batches));
      reduce_group(sorted, dst + j);
    }
  }
  K* keys = reinterpret_cast<K*>(s.keys);
  if (reducer == SortedReducer::kTrimmedMean)
    scalar_block(rows, n, j0, done, count, keys, dst,
                 [param](const K* k, Index m) { return mean_of_sorted<T>(k, param, m - param); });
  else
    scalar_block(rows, n, j0, done, count, keys, dst,
                 [param](const K* k, Index m) { return mean_closest_to_median<T>(k, m, param); });
}

