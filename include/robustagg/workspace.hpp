// robustagg: reusable scratch memory, so a training loop allocates nothing
// after its first aggregation.
//
// Storage is keyed by type, not by number. A key is a type that names one
// buffer's role and its element type:
//
//   struct KrumDistances {};                                 // a tag, defined once
//   double* D = ws.get<detail::Key<KrumDistances, double>>(n * n);
//
// Two different key types never share storage, whatever headers they come
// from, so an engine called by a stage that holds its own buffers cannot free
// or resize them: the stage's keys and the engine's keys are different types.
// Tags are defined (not just declared) by the header that owns them, so two
// headers defining the same tag name in one namespace would not compile
// together (the umbrella header includes them all); a tag used by one
// function only is a local class of that function. Per-thread
// scratch has its own storage, kMaxThreads buffers per key
// (get_for_thread), so a thread id can never select another key's buffer.
// Nested rules (a stage's next rule, DETOX's inner and outer rules) run in
// child workspaces, also keyed by type.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "gradients.hpp"
#include "threads.hpp"
#include "detail/linkage.hpp"

ROBUSTAGG_FP_BEGIN

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

namespace detail {
/// One address per key type in the whole program (a C++17 static constexpr
/// data member is an inline variable): the identity of a key.
template <class Key>
struct KeyId {
  static constexpr char id = 0;
};
template <class Key>
inline const void* workspace_key() {
  return &KeyId<Key>::id;
}
}  // namespace detail

/// Scratch buffers for aggregation, grown on demand and kept between calls.
/// One Workspace per thread of use: it is not synchronised. Rules that run
/// other rules (stages, DETOX) use child workspaces.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  /// A buffer of at least `count` objects of type Key::type (trivial), 64-byte
  /// aligned, owned by key type Key. Its contents are unspecified. A later
  /// call with the same Key may invalidate earlier pointers of that Key only.
  template <class Key>
  typename Key::type* get(std::size_t count) {
    using U = typename Key::type;
    static_assert(std::is_trivially_copyable_v<U>, "workspace buffers hold trivial types");
    return reinterpret_cast<U*>(grow(find(buffers_, detail::workspace_key<Key>()), count * sizeof(U)));
  }

  /// Thread `tid`'s buffer (0 <= tid < kMaxThreads) of at least `count`
  /// objects of Key::type for key Key: per-thread scratch, kept apart from
  /// get()'s buffers. Call it on the calling thread before a parallel region
  /// (the workspace is not synchronised); the region's threads then use the
  /// pointers.
  template <class Key>
  typename Key::type* get_for_thread(int tid, std::size_t count) {
    using U = typename Key::type;
    static_assert(std::is_trivially_copyable_v<U>, "workspace buffers hold trivial types");
    if (tid < 0 || tid >= kMaxThreads) throw Error("robustagg::Workspace: thread id out of range");
    PerThread& p = find(per_thread_, detail::workspace_key<Key>());
    if (!p.buffers) p.buffers = std::make_unique<std::array<Buffer, kMaxThreads>>();
    return reinterpret_cast<U*>(grow((*p.buffers)[std::size_t(tid)], count * sizeof(U)));
  }

  /// The nested workspace of key Key, for a rule run inside another rule.
  template <class Key>
  Workspace& child() {
    Child& c = find(children_, detail::workspace_key<Key>());
    if (!c.ws) c.ws = std::make_unique<Workspace>();
    return *c.ws;
  }

  /// The stages of the last aggregation run with this workspace, in order
  /// (empty for single-step rules). aggregate() clears it before each run.
  std::vector<StageReport>& report() { return report_; }
  const std::vector<StageReport>& report() const { return report_; }

  /// Bytes currently held by this workspace and its children.
  std::size_t capacity_bytes() const {
    std::size_t total = 0;
    for (const Keyed<Buffer>& b : buffers_) total += b.value.bytes;
    for (const Keyed<PerThread>& p : per_thread_)
      if (p.value.buffers)
        for (const Buffer& b : *p.value.buffers) total += b.bytes;
    for (const Keyed<Child>& c : children_)
      if (c.value.ws) total += c.value.ws->capacity_bytes();
    return total;
  }

  /// Frees every buffer (children included). Pointers from get() are invalid
  /// afterwards; the next aggregation allocates again.
  void release() {
    buffers_.clear();
    per_thread_.clear();
    children_.clear();
    report_.clear();
    report_.shrink_to_fit();
  }

 private:
  struct AlignedDelete {
    void operator()(unsigned char* p) const { ::operator delete(p, std::align_val_t(64)); }
  };
  struct Buffer {
    std::unique_ptr<unsigned char[], AlignedDelete> data;
    std::size_t bytes = 0;
  };
  struct PerThread {
    std::unique_ptr<std::array<Buffer, kMaxThreads>> buffers;
  };
  struct Child {
    std::unique_ptr<Workspace> ws;
  };
  template <class V>
  struct Keyed {
    const void* key;
    V value;
  };

  // A linear search: a workspace level holds a few dozen keys at most, and the
  // stored values own their memory through pointers, so growing the vector
  // never moves a buffer that a caller holds.
  template <class V>
  static V& find(std::vector<Keyed<V>>& list, const void* key) {
    for (Keyed<V>& e : list)
      if (e.key == key) return e.value;
    list.push_back(Keyed<V>{key, V{}});
    return list.back().value;
  }

  static unsigned char* grow(Buffer& b, std::size_t bytes) {
    if (bytes > b.bytes || !b.data) {
      b.data.reset(static_cast<unsigned char*>(::operator new(bytes ? bytes : 1, std::align_val_t(64))));
      b.bytes = bytes;
    }
    return b.data.get();
  }

  std::vector<Keyed<Buffer>> buffers_;
  std::vector<Keyed<PerThread>> per_thread_;
  std::vector<Keyed<Child>> children_;
  std::vector<StageReport> report_;
};

namespace detail {

/// A workspace key: the buffer named by tag type Tag (declared by the header
/// that owns it), holding objects of type U. Key<StageValues, T> gives one key
/// per value type T.
template <class Tag, class U>
struct Key {
  using type = U;
};

/// Key of the one copy of an input whose rows cannot be viewed in place.
struct InputCopyTag {};

/// with_rows_view (gradients.hpp), evaluating an expression without direct
/// access into a buffer of `ws`, so repeated calls allocate nothing after the
/// first.
template <class Derived, class Fn>
decltype(auto) with_rows_view(const Eigen::MatrixBase<Derived>& g, Workspace& ws, Fn&& fn) {
  using T = typename Derived::Scalar;
  static_assert(is_supported_scalar_v<T>, "robustagg aggregates float or double gradients");
  if constexpr (has_direct_access_v<Derived>) {
    const Derived& m = g.derived();
    if ((m.rowStride() > 0 || m.rows() <= 1) && (m.colStride() > 0 || m.cols() <= 1))
      return fn(direct_view(m));
  }
  const Index n = g.rows(), d = g.cols();
  T* buffer = ws.get<Key<InputCopyTag, T>>(std::size_t(n * d));
  Eigen::Map<GradientMatrix<T>>(buffer, n, d) = g;  // the one copy, into the workspace
  return fn(RowsView<T>::strided(buffer, n, d, d));
}

}  // namespace detail
}  // namespace robustagg

ROBUSTAGG_FP_END
