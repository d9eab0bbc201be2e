// A small persistent thread pool: cores - 1 workers that wait on a condition variable, plus the
// calling thread. One call at a time owns the pool (try_lock); concurrent callers run serially on
// their own thread rather than wait, which keeps calls from several threads safe and deadlock-free.
#include "cpu/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/host_memory.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::cpu {
namespace {

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void run(int64_t count, int64_t chunk, const std::function<void(int64_t, int64_t)>& body) {
    std::unique_lock owner(owner_, std::try_to_lock);
    if (!owner.owns_lock() || workers_.empty() || count <= chunk) {
      body(0, count);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      body_ = &body;
      count_ = count;
      chunk_ = chunk;
      next_.store(0);
      busy_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return busy_ == 0; });
    body_ = nullptr;
  }

 private:
  // Takes chunks until none is left.
  void drain() {
    for (;;) {
      const int64_t begin = next_.fetch_add(chunk_);
      if (begin >= count_) return;
      (*body_)(begin, std::min(count_, begin + chunk_));
    }
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      drain();
      std::lock_guard lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex owner_;  // held by the call that uses the pool
  std::mutex mutex_;  // guards the job fields and the counters below
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool instance(std::max(1, host_platform().cpu.cores));
  return instance;
}

}  // namespace

void parallel_for(int64_t count, int64_t chunk, const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
  pool().run(count, std::max<int64_t>(1, chunk), body);
}

int worker_count() { return pool().threads(); }

void populate_in_parallel(const void* p, size_t bytes, bool for_write) {
  constexpr size_t piece = detail::kHugePageBytes;
  parallel_for(static_cast<int64_t>((bytes + piece - 1) / piece), 1, [&](int64_t i0, int64_t i1) {
    const size_t begin = static_cast<size_t>(i0) * piece;
    const size_t end = std::min(bytes, static_cast<size_t>(i1) * piece);
    detail::populate(static_cast<const uint8_t*>(p) + begin, end - begin, for_write);
  });
}

int64_t tiles_per_huge_page(int64_t count, int64_t tile_bytes) {
  return std::min(count, static_cast<int64_t>(detail::kHugePageBytes) / tile_bytes + 1);
}

}  // namespace qlinear::cpu
