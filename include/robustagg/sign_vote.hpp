// robustagg: majority-vote signSGD aggregation.
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"

namespace robustagg {

namespace detail {

/// out[j] = sign(sum_i sign(transform(i, j, g[i][j]))); sign(0) = 0 and a NaN
/// abstains (counts 0). Counts are exact integers.
template <class T, class Transform>
void sign_vote_kernel(const RowsView<T>& g, T* out, Workspace& ws, Transform&& transform) {
  const Index n = g.rows();
  int* votes = ws.get<int>(0, std::size_t(kCoordinateTile));
  for_each_tile(g.cols(), kCoordinateTile, [&](Index j0, Index j1) {
    const Index w = j1 - j0;
    for (Index jj = 0; jj < w; ++jj) votes[jj] = 0;
    for (Index i = 0; i < n; ++i) {
      const T* r = g.row(i);
      for (Index jj = 0; jj < w; ++jj) {
        const T x = transform(i, j0 + jj, r[j0 + jj]);
        votes[jj] += int(x > T(0)) - int(x < T(0));
      }
    }
    for (Index jj = 0; jj < w; ++jj) out[j0 + jj] = T((votes[jj] > 0) - (votes[jj] < 0));
  });
}

}  // namespace detail

/// sign-vote: out[j] = sign(sum_i sign(g[i][j])) in {-1, 0, +1}; a tie gives 0,
/// sign(0) = 0 and NaN abstains. Requires n >= 1.
struct SignVote {
  std::string spec() const { return "sign-vote"; }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const { detail::check_shape(*this, n, d, min_rows(), ""); }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::sign_vote_rows(g, out, ws);
  }
};

}  // namespace robustagg
