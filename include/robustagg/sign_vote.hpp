// robustagg: majority-vote signSGD aggregation.
#pragma once

#include <string>

#include "detail/checks.hpp"
#include "detail/coordinate.hpp"
#include "detail/tiles.hpp"
#include "gradients.hpp"
#include "workspace.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg {


/// sign-vote: out[j] = sign(sum_i sign(g[i][j])) in {-1, 0, +1}; a tie gives 0,
/// sign(0) = 0 and NaN abstains. Requires n >= 1.
struct SignVote {
  std::string spec() const { return "sign-vote"; }
  Index min_rows() const { return 1; }
  void validate(Index n, Index d) const { detail::check_shape(*this, n, d, min_rows(), ""); }
  /// Reads column-major and other strided input in place.
  bool reads_strided() const { return true; }

  template <class T>
  void run(const RowsView<T>& g, T* out, Workspace& ws) const {
    detail::sign_vote_rows(g, out, ws);
  }
};

}  // namespace robustagg

ROBUSTAGG_FP_END
