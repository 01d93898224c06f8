// robustagg::detail kernels: the mean and the sign vote over a tile.
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

// ---------------------------------------------------------------------------
// Mean and sign vote over one tile of coordinates [j0, j1).

/// Coordinates per block of the row-after-row form.
inline constexpr Index kRowBlock = 4096;

template <class T>
void mean_kernel(const T* const* ptrs, Index n, Index j0, Index j1, T* out) {
  constexpr Index WD = simd_width<double>;
  const vec<double> count = vec<double>(double(n));
  Index j = j0;
  if (n > kDirectStreams) {
    // Many rows: accumulate blocks row after row (sequential row segments),
    // the same per-coordinate sums in the same (row) order.
    alignas(64) double acc[kRowBlock];
    for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
      const Index len = imin(j1, b0 + kRowBlock) - b0;
      const Index vlen = len / WD * WD;
      for (Index jj = 0; jj < len; ++jj) acc[jj] = 0.0;
      for (Index i = 0; i < n; ++i) {
        const T* r = ptrs[i] + b0;
        Index jj = 0;
        for (; jj < vlen; jj += WD)
          (vec<double>::load_aligned(acc + jj) + load_as_double<T>(r + jj)).store_aligned(acc + jj);
        for (; jj < len; ++jj) acc[jj] += double(r[jj]);
      }
      for (Index jj = 0; jj < len; ++jj) out[b0 + jj] = T(acc[jj] / double(n));
    }
    return;
  }
  constexpr Index U = 4;  // 4 batches of doubles per row pass
  for (; j + U * WD <= j1; j += U * WD) {
    vec<double> acc[U];
    ROBUSTAGG_UNROLL
    for (Index u = 0; u < U; ++u) acc[u] = vec<double>(0.0);
    for (Index i = 0; i < n; ++i) {
      const T* r = ptrs[i] + j;
      ROBUSTAGG_UNROLL
      for (Index u = 0; u < U; ++u) acc[u] += load_as_double<T>(r + u * WD);
    }
    ROBUSTAGG_UNROLL
    for (Index u = 0; u < U; ++u) store_from_double<T>(acc[u] / count, out + j + u * WD);
  }
  for (; j < j1; ++j) {
    double s = 0.0;
    for (Index i = 0; i < n; ++i) s += double(ptrs[i][j]);
    out[j] = T(s / double(n));
  }
}

template <class T>
void sign_vote_kernel(const T* const* ptrs, Index n, Index j0, Index j1, T* out) {
  constexpr Index W = simd_width<T>;
  const vec<T> zero(T(0)), one(T(1));
  Index j = j0;
  if (n > kDirectStreams) {
    // Many rows: count blocks row after row (sequential row segments).
    alignas(64) T votes[kRowBlock];
    for (Index b0 = j0; b0 < j1; b0 += kRowBlock) {
      const Index len = imin(j1, b0 + kRowBlock) - b0;
      const Index vlen = len / W * W;
      for (Index jj = 0; jj < len; ++jj) votes[jj] = T(0);
      for (Index i = 0; i < n; ++i) {
        const T* r = ptrs[i] + b0;
        Index jj = 0;
        for (; jj < vlen; jj += W) {
          const vec<T> x = vec<T>::load_unaligned(r + jj);
          (vec<T>::load_aligned(votes + jj) + xsimd::select(x > zero, one, zero) -
           xsimd::select(x < zero, one, zero))
              .store_aligned(votes + jj);
        }
        for (; jj < len; ++jj) votes[jj] += T(int(r[jj] > T(0)) - int(r[jj] < T(0)));
      }
      for (Index jj = 0; jj < len; ++jj) out[b0 + jj] = T((votes[jj] > T(0)) - (votes[jj] < T(0)));
    }
    return;
  }
  constexpr Index U = 2;
  for (; j + U * W <= j1; j += U * W) {
    vec<T> votes[U];
    ROBUSTAGG_UNROLL
    for (Index u = 0; u < U; ++u) votes[u] = zero;
    for (Index i = 0; i < n; ++i) {
      ROBUSTAGG_UNROLL
      for (Index u = 0; u < U; ++u) {
        const vec<T> x = vec<T>::load_unaligned(ptrs[i] + j + u * W);
        votes[u] += xsimd::select(x > zero, one, zero) - xsimd::select(x < zero, one, zero);
      }
    }
    ROBUSTAGG_UNROLL
    for (Index u = 0; u < U; ++u)
      (xsimd::select(votes[u] > zero, one, zero) - xsimd::select(votes[u] < zero, one, zero))
          .store_unaligned(out + j + u * W);
  }
  for (; j < j1; ++j) {
    int v = 0;
    for (Index i = 0; i < n; ++i) {
      const T x = ptrs[i][j];
      v += int(x > T(0)) - int(x < T(0));
    }
    out[j] = T((v > 0) - (v < 0));
  }
}

