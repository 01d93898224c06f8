// robustagg: reusable scratch memory, so a training loop allocates nothing
// after its first aggregation.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "gradients.hpp"

namespace robustagg {

/// What one stage of an aggregation did (DETOX's vote and buckets report
/// here): rows in and out, and the indices of dropped groups or rows.
struct StageReport {
  std::string stage;           // "majority-vote(r=3)", "buckets(k=5)", ...
  Index rows_in = 0;
  Index rows_out = 0;
  std::vector<Index> dropped;  // e.g. the groups without a majority
  std::string detail;          // free text for humans
  Index changed = 0;           // rows the stage rewrote (clip, arc: rows clipped)
};

/// Scratch buffers for aggregation, grown on demand and kept between calls.
/// One Workspace per thread of use: it is not synchronised. Rules that run
/// other rules (DETOX stages) use child workspaces.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  /// A buffer of at least `count` objects of trivial type U in slot `slot`,
  /// 64-byte aligned. Its contents are unspecified. A later call with the same
  /// slot may invalidate earlier pointers from that slot only.
  template <class U>
  U* get(std::size_t slot, std::size_t count) {
    static_assert(std::is_trivially_copyable_v<U>, "workspace buffers hold trivial types");
    if (slot >= buffers_.size()) buffers_.resize(slot + 1);
    Buffer& b = buffers_[slot];
    const std::size_t bytes = count * sizeof(U);
    if (bytes > b.bytes) {
      b.data.reset(static_cast<unsigned char*>(::operator new(bytes, std::align_val_t(64))));
      b.bytes = bytes;
    }
    return reinterpret_cast<U*>(b.data.get());
  }

  /// A nested workspace, for rules run inside another rule.
  Workspace& child(std::size_t i) {
    if (i >= children_.size()) children_.resize(i + 1);
    if (!children_[i]) children_[i] = std::make_unique<Workspace>();
    return *children_[i];
  }

  /// The stages of the last aggregation run with this workspace, in order
  /// (empty for single-step rules). aggregate() clears it before each run.
  std::vector<StageReport>& report() { return report_; }
  const std::vector<StageReport>& report() const { return report_; }

  /// Bytes currently held by this workspace and its children.
  std::size_t capacity_bytes() const {
    std::size_t total = 0;
    for (const Buffer& b : buffers_) total += b.bytes;
    for (const auto& c : children_)
      if (c) total += c->capacity_bytes();
    return total;
  }

 private:
  struct AlignedDelete {
    void operator()(unsigned char* p) const { ::operator delete(p, std::align_val_t(64)); }
  };
  struct Buffer {
    std::unique_ptr<unsigned char[], AlignedDelete> data;
    std::size_t bytes = 0;
  };
  std::vector<Buffer> buffers_;
  std::vector<std::unique_ptr<Workspace>> children_;
  std::vector<StageReport> report_;
};

namespace detail {

/// with_rows_view (gradients.hpp), evaluating a layout that cannot bind into a buffer of `ws`
/// (slot 0 of that workspace), so repeated calls allocate nothing after the
/// first.
template <class Derived, class Fn>
decltype(auto) with_rows_view(const Eigen::MatrixBase<Derived>& g, Workspace& ws, Fn&& fn) {
  using T = typename Derived::Scalar;
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  if constexpr (has_direct_rows_v<Derived>) {
    const Derived& m = g.derived();
    if (m.innerStride() == 1 || m.cols() <= 1) {
      return fn(RowsView<T>::strided(m.data(), m.rows(), m.cols(), m.outerStride()));
    }
  }
  const Index n = g.rows(), d = g.cols();
  T* buffer = ws.get<T>(0, std::size_t(n * d));
  Eigen::Map<GradientMatrix<T>>(buffer, n, d) = g;  // the one copy, into the workspace
  return fn(RowsView<T>::strided(buffer, n, d, d));
}

}  // namespace detail
}  // namespace robustagg
