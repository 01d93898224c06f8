// robustagg::detail kernels: the distance engine.
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

// ---------------------------------------------------------------------------
// The distance engine (distances.hpp describes it). Each pair accumulates
// (x - y)^2 in kDistanceLanes<T> virtual lanes (lane l: the coordinates
// j = l mod L of a run), with one multiply and one add (never an FMA, which
// SSE2 lacks), over runs of kDistanceRun * L coordinates; each run's lanes are
// added into double accumulators. The lane count is fixed, not the vector
// width, so every architecture computes the same sums.

/// Coordinates per L1 sub-block of a distance tile (a multiple of every run).
inline constexpr Index kDistanceL1 = 512;

/// Per row and tile, the distance engine's flags: bit 0, every value of the
/// row in the tile is finite; bit 1 (float only), some value is tiny,
/// 0 < |x| < 2^-40. Where neither row of a pair has a tiny value, a nonzero
/// difference of two floats is at least 2^-63 (both are multiples of 2^-63),
/// so its square is a normal float: no underflow.
inline constexpr unsigned char kTileFinite = 1;
inline constexpr unsigned char kTileTiny = 2;

/// A float run lane below this may hold underflowed squares that matter
/// (their error, <= 16 * 2^-150 per lane, is <= 2^-46 of a lane above it).
inline constexpr float kDistanceSmallRun = 0x1p-100f;

/// Adds one run's float (or double) lanes of a pair into its double lanes
/// o[0, L). For float, where both rows are finite in the tile, the run's lanes
/// are summed in double instead when its float sum is not finite (squares of
/// ~1e19 overflow) or when either row has a tiny value in the tile and some
/// lane of the run is below kDistanceSmallRun (squares may have underflowed).
template <class T>
ROBUSTAGG_KERNEL_INLINE void distance_flush(const vec<T>* acc, double* o, const T* x, const T* y, Index r0,
                                            Index r1, unsigned char fx, unsigned char fy) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;
  if constexpr (std::is_same_v<T, float>) {
    bool exact = false;
    if ((fx & fy & kTileFinite) != 0) {
      ROBUSTAGG_UNROLL
      for (Index g = 0; g < G; ++g) exact = exact || !xsimd::all(acc[g] - acc[g] == vec<T>(T(0)));
      if (((fx | fy) & kTileTiny) != 0)
        ROBUSTAGG_UNROLL
        for (Index g = 0; g < G; ++g) exact = exact || xsimd::any(acc[g] < vec<T>(kDistanceSmallRun));
    }
    if (exact) {
      for (Index l = 0; l < L; ++l) {
        double s = 0.0;
        for (Index j = r0 + l; j < r1; j += L) {
          const double t = double(x[j]) - double(y[j]);
          s += t * t;
        }
        o[l] += s;
      }
      return;
    }
  }
  alignas(64) T tmp[L];
  ROBUSTAGG_UNROLL
  for (Index g = 0; g < G; ++g) acc[g].store_aligned(tmp + g * W);
  for (Index l = 0; l < L; ++l) o[l] += double(tmp[l]);
}

/// Pairs (x, ys[q]), q < NB, over [a, b) (b - a a multiple of L): adds each
/// run's lanes into acc_d[q * L + lane].
template <class T, int NB>
void distance_block(const T* x, const T* const* ys, Index a, Index b, double* acc_d,
                    const unsigned char* y_flags, unsigned char x_flags) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;  // registers per virtual lane group
  constexpr Index kRun = kDistanceRun * L;
  for (Index r0 = a; r0 < b; r0 += kRun) {
    const Index r1 = imin(b, r0 + kRun);
    vec<T> acc[NB][G];
    ROBUSTAGG_UNROLL
    for (int q = 0; q < NB; ++q)
      ROBUSTAGG_UNROLL
      for (Index g = 0; g < G; ++g) acc[q][g] = vec<T>(T(0));
    for (Index j = r0; j < r1; j += L) {
      ROBUSTAGG_UNROLL
      for (Index g = 0; g < G; ++g) {
        const vec<T> xv = vec<T>::load_unaligned(x + j + g * W);
        ROBUSTAGG_UNROLL
        for (int q = 0; q < NB; ++q) {
          const vec<T> t = xv - vec<T>::load_unaligned(ys[q] + j + g * W);
          acc[q][g] = acc[q][g] + t * t;
        }
      }
    }
    ROBUSTAGG_UNROLL
    for (int q = 0; q < NB; ++q)
      distance_flush<T>(acc[q], acc_d + q * L, x, ys[q], r0, r1, x_flags, y_flags[q]);
  }
}

/// Pairs (xs[m], ys[q]), m < MI, q < NB, over [a, b) (b - a a multiple of
/// L): each pair's arithmetic is distance_block's (so the same bits), but one
/// load of a batch of x serves NB pairs and one of y serves MI pairs. acc_d[m]
/// is x row m's accumulator of pair (xs[m], ys[0]); pair q follows at q * L.
template <class T, int MI, int NB>
void distance_block_2d(const T* const* xs, const T* const* ys, Index a, Index b, double* const* acc_d,
                       const unsigned char* x_flags, const unsigned char* y_flags) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr Index G = L / W;
  constexpr Index kRun = kDistanceRun * L;
  for (Index r0 = a; r0 < b; r0 += kRun) {
    const Index r1 = imin(b, r0 + kRun);
    vec<T> acc[MI][NB][G];
    ROBUSTAGG_UNROLL
    for (int m = 0; m < MI; ++m)
      ROBUSTAGG_UNROLL
      for (int q = 0; q < NB; ++q)
        ROBUSTAGG_UNROLL
        for (Index g = 0; g < G; ++g) acc[m][q][g] = vec<T>(T(0));
    for (Index j = r0; j < r1; j += L) {
      ROBUSTAGG_UNROLL
      for (Index g = 0; g < G; ++g) {
        vec<T> xv[MI];
        ROBUSTAGG_UNROLL
        for (int m = 0; m < MI; ++m) xv[m] = vec<T>::load_unaligned(xs[m] + j + g * W);
        ROBUSTAGG_UNROLL
        for (int q = 0; q < NB; ++q) {
          const vec<T> yv = vec<T>::load_unaligned(ys[q] + j + g * W);
          ROBUSTAGG_UNROLL
          for (int m = 0; m < MI; ++m) {
            const vec<T> t = xv[m] - yv;
            acc[m][q][g] = acc[m][q][g] + t * t;
          }
        }
      }
    }
    ROBUSTAGG_UNROLL
    for (int m = 0; m < MI; ++m)
      ROBUSTAGG_UNROLL
      for (int q = 0; q < NB; ++q)
        distance_flush<T>(acc[m][q], acc_d[m] + q * L, xs[m], ys[q], r0, r1, x_flags[m], y_flags[q]);
  }
}

/// Pairs per register block of distance_block: as many as the registers hold
/// (a pair needs L/W accumulators).
template <class T>
inline constexpr int kDistanceBlock = int(8 * simd_width<T> / kDistanceLanes<T>) < 2
                                          ? 2
                                          : int(8 * simd_width<T> / kDistanceLanes<T>);

/// Rows x columns of distance_block_2d's register block: 4 x 4 pairs where a
/// pair's lanes are one register (AVX-512: 16 accumulators + 4 + 1 loads of
/// its 32 registers), 2 x 2 where they are two (AVX2: 8 + 2 + 1 of 16); 1 (no
/// 2D block) where they are four (SSE2, which keeps distance_block).
template <class T>
inline constexpr int kDistanceRowBlock =
    kDistanceLanes<T> / simd_width<T> == 1 ? 4 : kDistanceLanes<T> / simd_width<T> == 2 ? 2 : 1;
template <class T>
inline constexpr int kDistanceColBlock = kDistanceLanes<T> / simd_width<T> == 1 ? 4 : 2;

/// Accumulator bytes (all pairs) up to which the tile is swept in L1
/// sub-blocks of kDistanceL1 coordinates, every pair per sub-block (the rows'
/// sub-block segments stay in L1, the accumulators in L1/L2). Beyond, each
/// pair block sweeps the whole tile at once (its accumulators stay in L1),
/// over panels of rows that fit kDistancePanelBytes (L2).
inline constexpr std::size_t kDistanceSweepAccBytes = std::size_t(256) << 10;
inline constexpr std::size_t kDistancePanelBytes = std::size_t(512) << 10;

template <class T, int NB>
void distance_block_dispatch(int nb, const T* x, const T* const* ys, Index a, Index b,
                             double* acc_d, const unsigned char* y_flags, unsigned char x_flags) {
  if constexpr (NB > 1) {
    if (nb < NB) return distance_block_dispatch<T, NB - 1>(nb, x, ys, a, b, acc_d, y_flags, x_flags);
  }
  distance_block<T, NB>(x, ys, a, b, acc_d, y_flags, x_flags);
}

/// Pairs (i, k), k in [k_lo, k_hi), over [a, b): 1D register blocks.
template <class T>
void distance_row(const T* const* ptrs, Index n, Index i, Index k_lo, Index k_hi, Index a, Index b,
                  double* acc, const unsigned char* tile_flags) {
  constexpr Index L = kDistanceLanes<T>;
  constexpr int kBlock = kDistanceBlock<T>;
  for (Index k0 = k_lo; k0 < k_hi; k0 += kBlock) {
    const int nb = int(imin(kBlock, k_hi - k0));
    distance_block_dispatch<T, kBlock>(nb, ptrs[i], ptrs + k0, a, b, acc + pair_index(n, i, k0) * L,
                                       tile_flags + k0, tile_flags[i]);
  }
}

template <class T>
void distance_tiles_kernel(const T* const* ptrs, Index n, Index d, Index tile_len, Index t0,
                           Index t1, double* acc, unsigned char* tile_flags, unsigned char* bad) {
  constexpr Index W = simd_width<T>;
  constexpr Index L = kDistanceLanes<T>;
  constexpr int MI = kDistanceRowBlock<T>;
  constexpr int NB = kDistanceColBlock<T>;
  const Index pairs = n * (n - 1) / 2;
  const bool sweep = std::size_t(pairs * L) * sizeof(double) <= kDistanceSweepAccBytes;
  for (Index t = t0; t < t1; ++t) {
    const Index a = t * tile_len;
    const Index e = imin(d, a + tile_len);
    const Index v_end = a + (e - a) / L * L;
    for (Index i = 0; i < n; ++i) {
      const T* x = ptrs[i];
      bool ok = true, tiny = false;
      if constexpr (std::is_same_v<T, float>) {
        // On the magnitude bits u = bits(x) & 0x7fffffff: finite iff
        // u < bits(inf); tiny iff 0 < u < bits(2^-40), i.e. (u - 1) & mask
        // below bits(2^-40) - 1 (u = 0 wraps to the mask).
        using IV = kvec<T>;
        constexpr std::int32_t kMag = 0x7fffffff, kInfBits = 0x7f800000, kTinyBits = 0x2b800000;
        const IV mag(kMag), one(1);
        if constexpr (W > 4) {
          // AVX2, AVX-512: integer max and min are single instructions.
          IV umax(0), wmin(kMag);
          for (Index j = a; j < v_end; j += W) {
            const IV u = xsimd::bitwise_cast<IV>(vec<T>::load_unaligned(x + j)) & mag;
            umax = xsimd::max(umax, u);
            wmin = xsimd::min(wmin, (u - one) & mag);
          }
          ok = !xsimd::any(umax >= IV(kInfBits));
          tiny = xsimd::any(wmin < IV(kTinyBits - 1));
        } else {
          // SSE2 has no 32-bit integer max/min: accumulate the comparisons.
          // (u - 1) ^ sign bit orders u - 1 as unsigned under signed compares.
          const IV sign(std::int32_t(0x80000000u)), limit(std::int32_t(std::uint32_t(kTinyBits - 1) ^ 0x80000000u));
          auto nonfinite = IV(0) > IV(0), small = IV(0) > IV(0);  // all false
          for (Index j = a; j < v_end; j += W) {
            const IV u = xsimd::bitwise_cast<IV>(vec<T>::load_unaligned(x + j)) & mag;
            nonfinite = nonfinite | (u > IV(kInfBits - 1));
            small = small | (((u - one) ^ sign) < limit);
          }
          ok = !xsimd::any(nonfinite);
          tiny = xsimd::any(small);
        }
        for (Index j = v_end; j < e; ++j) {
          std::int32_t b;
          std::memcpy(&b, x + j, sizeof b);
          b &= kMag;
          ok = ok && b < kInfBits;
          tiny = tiny || (b > 0 && b < kTinyBits);
        }
      } else {
        vec<T> check(T(0));
        for (Index j = a; j < v_end; j += W) check += vec<T>::load_unaligned(x + j) * vec<T>(T(0));
        T tail = 0;
        for (Index j = v_end; j < e; ++j) tail += x[j] * T(0);
        ok = xsimd::all(check == vec<T>(T(0))) && tail == T(0);
      }
      tile_flags[i] = static_cast<unsigned char>((ok ? kTileFinite : 0) | (tiny ? kTileTiny : 0));
      if (!ok) bad[i] = 1;
    }
    // Every pair sees the runs of [a, v_end) in order, whatever the spans and
    // panels (spans are multiples of the run), so the sums do not depend on
    // them. Spans: kDistanceL1 sub-blocks (small n) or the whole tile.
    const Index span = sweep ? kDistanceL1 : imax(v_end - a, L);
    const Index panel =
        sweep ? n
              : imax(MI + NB, Index(kDistancePanelBytes / (std::size_t(span) * sizeof(T))));
    for (Index sb = a; sb < v_end; sb += span) {
      const Index se = imin(v_end, sb + span);
      for (Index p0 = 0; p0 < n; p0 += panel) {  // y rows [p0, p1)
        const Index p1 = imin(n, p0 + panel);
        for (Index i0 = 0; i0 + 1 < p1; i0 += MI) {
          const Index i1 = imin(n, i0 + MI);
          // Columns k >= k_rect pair with every row of the block: full
          // MI x NB blocks take [k2, p1); each row's other pairs in the panel
          // (inside the block, and the columns left over) run as one row.
          const Index k_rect = imax(p0, i1);
          Index k2 = p1;
          if (MI > 1 && i1 - i0 == MI && p1 > k_rect) k2 = k_rect + (p1 - k_rect) % NB;
          for (Index i = i0; i < i1; ++i)
            distance_row<T>(ptrs, n, i, imax(p0, i + 1), imax(k2, imax(p0, i + 1)), sb, se, acc, tile_flags);
          if constexpr (MI > 1) {
            double* acc_rows[MI];
            for (Index k0 = k2; k0 + NB <= p1; k0 += NB) {
              for (int m = 0; m < MI; ++m) acc_rows[m] = acc + pair_index(n, i0 + m, k0) * L;
              distance_block_2d<T, MI, NB>(ptrs + i0, ptrs + k0, sb, se, acc_rows, tile_flags + i0,
                                           tile_flags + k0);
            }
          }
        }
      }
    }
    if (v_end < e) {
      for (Index i = 0; i + 1 < n; ++i) {
        const T* x = ptrs[i];
        for (Index k = i + 1; k < n; ++k) {
          const T* y = ptrs[k];
          double s = 0.0;
          for (Index j = v_end; j < e; ++j) {
            const double q = double(x[j]) - double(y[j]);
            s += q * q;
          }
          acc[pair_index(n, i, k) * L] += s;
        }
      }
    }
  }
}

