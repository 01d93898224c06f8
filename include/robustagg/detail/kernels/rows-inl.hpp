// robustagg::detail kernels: whole-row kernels: DETOX's row comparison, the
// noise of the noisy rules, the gather of strided (column-major) input, and
// the row primitives of the row passes (rows.hpp) and stages (stages.hpp).
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

// ---------------------------------------------------------------------------
// The DETOX vote's row comparison.

template <class T>
RowCompare compare_rows_kernel(const T* x, const T* y, Index d) {
  using V = vec<T>;
  constexpr Index W = simd_width<T>;
  constexpr Index kBlock = 1024;
  const Index vend = d / W * W;
  V diff(T(0));  // OR of x ^ y, bit by bit
  Index j = 0;
  while (j < vend) {
    const Index end = imin(vend, j + kBlock);
    auto nan = xsimd::isnan(V(T(0)));  // all false
    for (; j < end; j += W) {
      const V vx = V::load_unaligned(x + j);
      diff = diff | (vx ^ V::load_unaligned(y + j));
      nan = nan | xsimd::isnan(vx);
    }
    if (xsimd::any(nan)) return {false, true};
  }
  bool equal = !xsimd::any(xsimd::bitwise_cast<kvec<T>>(diff) != kvec<T>(0));
  for (; j < d; ++j) {
    if (std::isnan(x[j])) return {false, true};
    equal = equal && std::memcmp(x + j, y + j, sizeof(T)) == 0;
  }
  return {equal, false};
}

// ---------------------------------------------------------------------------
// The noise of the noisy rules (noise_kernel.hpp: every function there is a
// template on the architecture, so each kernel library copy is its own).

template <class T>
void add_noise_kernel(const T* src, T* dst, Index count, double b, std::uint64_t seed,
                      std::uint64_t worker, std::uint64_t j0) {
  robustagg::detail::add_noise<arch, T>(src, dst, count, b, seed, worker, j0);
}


// ---------------------------------------------------------------------------
// Strided input (column-major and other layouts): a block of rows gathered
// into contiguous rows.

/// The gather of column-major blocks transposes Q x Q tiles in 128-bit
/// registers (4 floats, 2 doubles) on every x86-64 architecture: xsimd 8.1's
/// zips interleave within each 128-bit lane of a wider register, so a wider
/// transpose would need cross-lane permutes of each architecture.
#if defined(__SSE2__)
template <class T>
using qvec = xsimd::batch<T, xsimd::sse2>;

/// Transposes Q batches of Q lanes: afterwards b[r][c] = old b[c][r]
/// (log2(Q) rounds of zips pairing batch i with batch i + Q/2).
template <class T>
ROBUSTAGG_KERNEL_INLINE void transpose_q(qvec<T>* b) {
  constexpr Index Q = Index(qvec<T>::size);
  qvec<T> t[Q];
  ROBUSTAGG_UNROLL
  for (Index width = 1; width < Q; width *= 2) {
    ROBUSTAGG_UNROLL
    for (Index i = 0; i < Q / 2; ++i) {
      t[2 * i] = xsimd::zip_lo(b[i], b[i + Q / 2]);
      t[2 * i + 1] = xsimd::zip_hi(b[i], b[i + Q / 2]);
    }
    ROBUSTAGG_UNROLL
    for (Index i = 0; i < Q; ++i) b[i] = t[i];
  }
}
#endif

template <class T>
void gather_kernel(const T* src, Index n, Index row_stride, Index col_stride, Index j0, Index count,
                   Index extent, T* dst, Index dst_stride) {
  Index jj = 0;
#if defined(__SSE2__)
  constexpr Index Q = Index(qvec<T>::size);
  if (row_stride == 1) {
    // Column-major: Q columns' Q consecutive values per load, transposed in
    // registers. The rows past n of a last partial block of rows are loaded
    // when the load stays below `extent`, and never stored.
    const Index vcount = count / Q * Q;
    for (; jj < vcount; jj += Q) {
      const T* col0 = src + (j0 + jj) * col_stride;
      const bool over_ok = (j0 + jj + Q - 1) * col_stride + (n + Q - 1) / Q * Q <= extent;
      const Index iend = over_ok ? n : n / Q * Q;
      Index i0 = 0;
      for (; i0 < iend; i0 += Q) {
        qvec<T> b[Q];
        ROBUSTAGG_UNROLL
        for (Index c = 0; c < Q; ++c) b[c] = qvec<T>::load_unaligned(col0 + c * col_stride + i0);
        transpose_q<T>(b);
        const Index rows = imin(Q, n - i0);
        for (Index r = 0; r < rows; ++r) b[r].store_unaligned(dst + (i0 + r) * dst_stride + jj);
      }
      for (Index i = i0; i < n; ++i)
        ROBUSTAGG_UNROLL
        for (Index c = 0; c < Q; ++c) dst[i * dst_stride + jj + c] = col0[c * col_stride + i];
    }
  }
#endif
  for (Index i = 0; i < n; ++i) {
    const T* s = src + i * row_stride + (j0 + jj) * col_stride;
    T* o = dst + i * dst_stride;
    for (Index k = jj; k < count; ++k, s += col_stride) o[k] = *s;
  }
}


// ---------------------------------------------------------------------------
// The row primitives (rows.hpp, stages.hpp). Each keeps the lanes of the
// plain loop it replaces (kRowLanes or kNormLanes doubles, whatever the
// register width) and the same operations per lane, multiply and add apart,
// so every architecture gives that loop's bits.

template <class T>
double sq_distance_to_kernel(const T* x, const double* z, Index d) {
  constexpr Index WD = simd_width<double>;
  constexpr Index U = kRowLanes, R = U / WD;
  static_assert(U % WD == 0, "kRowLanes must be a multiple of the double width");
  vec<double> acc[R];
  ROBUSTAGG_UNROLL
  for (Index r = 0; r < R; ++r) acc[r] = vec<double>(0.0);
  Index j = 0;
  for (; j + U <= d; j += U)
    ROBUSTAGG_UNROLL
    for (Index r = 0; r < R; ++r) {
      const vec<double> t =
          load_as_double<T>(x + j + r * WD) - vec<double>::load_unaligned(z + j + r * WD);
      acc[r] = acc[r] + t * t;
    }
  // lane u += lane u + w for w = U/2 ... 1: whole registers while w >= WD
  Index w = U / 2;
  for (; w >= WD; w /= 2)
    for (Index r = 0; r < w / WD; ++r) acc[r] = acc[r] + acc[r + w / WD];
  alignas(64) double lanes[WD];
  acc[0].store_aligned(lanes);
  for (; w >= 1; w /= 2)
    for (Index u = 0; u < w; ++u) lanes[u] += lanes[u + w];
  double s = lanes[0];
  for (; j < d; ++j) {
    const double t = double(x[j]) - z[j];
    s += t * t;
  }
  return s;
}

template <class T>
void add_scaled_kernel(double* acc, const T* x, const double* z, double w, Index d) {
  constexpr Index WD = simd_width<double>;
  const vec<double> vw(w);
  Index j = 0;
  if (z) {
    for (; j + WD <= d; j += WD)
      (vec<double>::load_unaligned(acc + j) +
       vw * (load_as_double<T>(x + j) - vec<double>::load_unaligned(z + j)))
          .store_unaligned(acc + j);
    for (; j < d; ++j) acc[j] += w * (double(x[j]) - z[j]);
  } else {
    for (; j + WD <= d; j += WD)
      (vec<double>::load_unaligned(acc + j) + vw * load_as_double<T>(x + j)).store_unaligned(acc + j);
    for (; j < d; ++j) acc[j] += w * double(x[j]);
  }
}

template <class T>
double sum_squares_kernel(const T* x, Index d) {
  constexpr Index WD = simd_width<double>;
  constexpr Index L = kNormLanes;
  alignas(64) double lanes[L > WD ? L : WD];
  Index j = 0;
  if constexpr (L % WD == 0) {
    constexpr Index R = L / WD;
    vec<double> acc[R];
    ROBUSTAGG_UNROLL
    for (Index r = 0; r < R; ++r) acc[r] = vec<double>(0.0);
    for (; j + L <= d; j += L)
      ROBUSTAGG_UNROLL
      for (Index r = 0; r < R; ++r) {
        const vec<double> v = load_as_double<T>(x + j + r * WD);
        acc[r] = acc[r] + v * v;
      }
    ROBUSTAGG_UNROLL
    for (Index r = 0; r < R; ++r) acc[r].store_aligned(lanes + r * WD);
  } else {  // registers wider than the lanes: the plain loop
    for (Index l = 0; l < L; ++l) lanes[l] = 0.0;
    for (; j + L <= d; j += L)
      for (Index l = 0; l < L; ++l) lanes[l] += double(x[j + l]) * double(x[j + l]);
  }
  double s = 0.0;
  for (Index l = 0; l < L; ++l) s += lanes[l];
  for (; j < d; ++j) s += double(x[j]) * double(x[j]);
  return s;
}

template <class T>
bool all_finite_kernel(const T* x, Index d) {
  constexpr Index W = simd_width<T>;
  constexpr Index U = 4 * W;
  // x - x is 0 for a finite value and NaN for +-Inf and NaN
  vec<T> acc[4] = {vec<T>(T(0)), vec<T>(T(0)), vec<T>(T(0)), vec<T>(T(0))};
  Index j = 0;
  for (; j + U <= d; j += U) {
    ROBUSTAGG_UNROLL
    for (Index r = 0; r < 4; ++r) {
      const vec<T> v = vec<T>::load_unaligned(x + j + r * W);
      acc[r] = acc[r] + (v - v);
    }
  }
  if (!xsimd::all((acc[0] + acc[1] + acc[2] + acc[3]) == vec<T>(T(0)))) return false;
  T s = T(0);
  for (; j < d; ++j) s += x[j] - x[j];
  return s == T(0);
}
