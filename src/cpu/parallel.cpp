// A small persistent thread pool: cores - 1 workers plus the calling thread. One call at a time
// owns the pool (try_lock); concurrent callers run serially on their own thread rather than wait,
// which keeps calls from several threads safe and deadlock-free.
//
// Between calls a worker spins for kSpin before it sleeps on a condition variable, and the caller
// spins as long for the workers' last chunks before it sleeps: on this project's 2-vCPU VM a
// futex wake costs 15-20 us each way, which made a 256 x 256 int4 layer at M = 1 take 41 us a
// call, 82 % of it in the wake-ups (perf, bench/NOTES.md "The CPU pool's wake-ups"), and a decode
// step calls layer after layer within microseconds. Who sleeps is counted, so a call whose workers
// are still spinning makes no system call at all. The spin is bounded so that a pool left idle
// gives its cores back (oneDNN's OpenMP workers spinning for milliseconds slowed whatever ran
// next; the same NOTES, "The bench's OpenMP spin").
#include "cpu/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/host_memory.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::cpu {
namespace {

constexpr auto kSpin = std::chrono::microseconds(100);

void pause_briefly() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or kSpin has passed; says whether done() held.
template <typename Done>
bool spin_until(Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      pause_briefly();
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true);
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
    // The job's fields are published by the generation's increment and read by the workers after
    // they see it; busy_ is set first, so no worker's last chunk can be counted against the job
    // before it.
    body_ = &body;
    count_ = count;
    chunk_ = chunk;
    next_.store(0);
    busy_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);
    // A worker counts itself asleep and then looks at the generation, under mutex_; this increments
    // the generation and then looks at the count (both sequentially consistent), so one of the two
    // sees the other and no wake-up is lost.
    if (sleepers_.load() > 0) {
      std::lock_guard lock(mutex_);
      wake_.notify_all();
    }
    drain();
    if (!spin_until([this] { return busy_.load() == 0; })) {
      std::unique_lock lock(mutex_);
      caller_asleep_.store(true);
      done_.wait(lock, [this] { return busy_.load() == 0; });
      caller_asleep_.store(false);
    }
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
    const auto job_or_stop = [&] { return stopping_.load() || generation_.load() != seen; };
    for (;;) {
      if (!spin_until(job_or_stop)) {
        std::unique_lock lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, job_or_stop);
        sleepers_.fetch_sub(1);
      }
      if (stopping_.load()) return;
      seen = generation_.load();
      drain();
      // The same pairing as the workers' sleep: the caller marks itself asleep and then looks at
      // busy_, under mutex_.
      if (busy_.fetch_sub(1) == 1 && caller_asleep_.load()) {
        std::lock_guard lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex owner_;  // held by the call that uses the pool
  std::mutex mutex_;  // pairs the sleeps with their wake-ups
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<int> busy_{0};  // workers not yet done with the job
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_asleep_{false}, stopping_{false};
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
