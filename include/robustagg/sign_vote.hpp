// robustagg: majority-vote signSGD aggregation.
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"

namespace robustagg {


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
