// robustagg::detail: parallel tiles over a small persistent thread pool.
//
// parallel_for(count, threads, fn) calls fn(tile, thread_id) once for every
// tile in [0, count); tiles are claimed dynamically, so which thread runs a
// tile varies, but tiles are fixed by the caller (independent of the thread
// count) and callers reduce per-tile results in tile order: results are
// bitwise identical for any thread count. thread_id < threads <= kMaxThreads
// indexes per-thread scratch (thread_scratch: its own kMaxThreads buffers per
// key in the Workspace). The pool is created on first use and grows on demand
// (the only allocations); a dispatch allocates nothing. One parallel region
// runs at a time: a kernel started while the pool is busy (another user
// thread, or a rule nested inside a parallel region) runs on its caller.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "../gradients.hpp"
#include "../threads.hpp"
#include "../workspace.hpp"
#include "linkage.hpp"

ROBUSTAGG_FP_BEGIN

namespace robustagg::detail {

class ThreadPool {
 public:
  using Job = void (*)(void*, int);

  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  /// Runs job(ctx, 0) on the caller and job(ctx, t) on workers t = 1..threads-1;
  /// returns after all have returned. False (nothing run) if the pool is busy.
  bool try_run(int threads, Job job, void* ctx) {
    std::unique_lock<std::mutex> region(region_, std::try_to_lock);
    if (!region.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(m_);
      while (int(workers_.size()) < threads - 1) {
        const int id = int(workers_.size()) + 1;
        workers_.emplace_back([this, id] { work(id); });
      }
      job_ = job;
      ctx_ = ctx;
      active_ = threads - 1;
      pending_ = threads - 1;
      ++generation_;
    }
    cv_.notify_all();
    job(ctx, 0);
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [this] { return pending_ == 0; });
    return true;
  }

 private:
  void work(int id) {
    unsigned long seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (id > active_) continue;
      const Job job = job_;
      void* ctx = ctx_;
      lk.unlock();
      job(ctx, id);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex region_;
  std::mutex m_;
  std::condition_variable cv_, done_;
  std::vector<std::thread> workers_;
  Job job_ = nullptr;
  void* ctx_ = nullptr;
  int active_ = 0;
  int pending_ = 0;
  unsigned long generation_ = 0;
  bool stop_ = false;
};

inline ThreadPool& thread_pool() {
  static ThreadPool pool;
  return pool;
}

/// Below this many values (n * d) a kernel runs on the calling thread.
inline constexpr Index kParallelMinValues = Index(1) << 18;

/// Threads to use for a kernel over `values` values split into `tiles` tiles.
inline int threads_for(Index values, Index tiles) {
  if (values < kParallelMinValues || tiles < 2) return 1;
  const int t = num_threads();
  return int(std::min<Index>(Index(t), tiles));
}

/// Calls fn(tile, thread_id) for every tile in [0, count) on `threads` threads.
template <class Fn>
void parallel_for(Index count, int threads, Fn&& fn) {
  threads = std::min(threads, kMaxThreads);  // thread ids index kMaxThreads-entry scratch
  if (threads > 1 && count > 1) {
    struct Ctx {
      Fn* fn;
      Index count;
      std::atomic<Index> next{0};
    } ctx{&fn, count};
    auto job = [](void* p, int tid) {
      Ctx& c = *static_cast<Ctx*>(p);
      for (Index t; (t = c.next.fetch_add(1, std::memory_order_relaxed)) < c.count;) (*c.fn)(t, tid);
    };
    if (thread_pool().try_run(threads, job, &ctx)) return;
  }
  for (Index t = 0; t < count; ++t) fn(t, 0);
}

/// Per-thread scratch of `bytes` bytes each for `threads` threads, allocated
/// (or reused) on the calling thread before a parallel region.
struct ThreadScratch {
  unsigned char* p[kMaxThreads] = {};
  template <class U>
  U* get(int tid, std::size_t offset_bytes = 0) const {
    return reinterpret_cast<U*>(p[tid] + offset_bytes);
  }
};

/// The per-thread scratch of tag Tag in `ws` (Workspace::get_for_thread: its
/// own kMaxThreads buffers, apart from every other key's).
template <class Tag>
ThreadScratch thread_scratch(Workspace& ws, int threads, std::size_t bytes) {
  ThreadScratch s;
  for (int t = 0; t < threads; ++t) s.p[t] = ws.get_for_thread<Key<Tag, unsigned char>>(t, bytes);
  return s;
}

}  // namespace robustagg::detail

ROBUSTAGG_FP_END
