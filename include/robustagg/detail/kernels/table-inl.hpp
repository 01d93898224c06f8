// robustagg::detail kernels: the table of one architecture's kernels.
//
// A -inl file (see expand.hpp): no include guard, no includes; expanded
// inside one namespace per SIMD architecture.

// ---------------------------------------------------------------------------
// The table.

/// The table of the compiled library (all kernels of T).
template <class T>
inline constexpr KernelSet<T> kernel_set = {
    &median_kernel<T>,          &sorted_kernel<T>,         &mean_kernel<T>,
    &sign_vote_kernel<T>,       &distance_tiles_kernel<T>, &compare_rows_kernel<T>,
    &add_noise_kernel<T>,       &gather_kernel<T>,          &sq_distance_to_kernel<T>,
    &add_scaled_kernel<T>,      &sum_squares_kernel<T>,     &all_finite_kernel<T>,
    kFixedNetworks,
};

/// The same kernels for header-only mode, as static members: a member (and
/// the kernel behind it) is instantiated only where a rule uses it, so a file
/// that calls one rule does not compile every kernel for both types.
template <class T>
struct Kernels {
  static constexpr auto median = &median_kernel<T>;
  static constexpr auto sorted = &sorted_kernel<T>;
  static constexpr auto mean = &mean_kernel<T>;
  static constexpr auto sign_vote = &sign_vote_kernel<T>;
  static constexpr auto distance_tiles = &distance_tiles_kernel<T>;
  static constexpr auto compare_rows = &compare_rows_kernel<T>;
  static constexpr auto add_noise = &add_noise_kernel<T>;
  static constexpr auto gather = &gather_kernel<T>;
  static constexpr auto sq_distance_to = &sq_distance_to_kernel<T>;
  static constexpr auto add_scaled = &add_scaled_kernel<T>;
  static constexpr auto sum_squares = &sum_squares_kernel<T>;
  static constexpr auto all_finite = &all_finite_kernel<T>;
  static constexpr int fixed_networks = kFixedNetworks;
};

