// parallel_for (src/cpu/parallel.hpp): every index of [0, count) is handed out exactly once, on
// back-to-back calls (the workers still spinning), on calls after a pause longer than the spin
// (the workers asleep on the condition variable), and from several threads at once (one call owns
// the pool, the others run on their own thread). A lost wake-up shows as a hang (ctest's timeout).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu/parallel.hpp"

namespace qlinear::cpu {
namespace {

// One call over `count` indices in chunks of `chunk`; fails unless each index was seen once.
void expect_each_index_once(int64_t count, int64_t chunk, const char* what) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(count));
  parallel_for(count, chunk, [&](int64_t begin, int64_t end) {
    ASSERT_LT(begin, end);
    for (int64_t i = begin; i < end; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
  });
  for (int64_t i = 0; i < count; ++i)
    ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << what << ": index " << i << " of " << count;
}

TEST(ParallelFor, BackToBackCallsCoverEveryIndexOnce) {
  for (int call = 0; call < 2000; ++call)
    expect_each_index_once(1 + call % 97, 1 + call % 5, "back to back");
}

TEST(ParallelFor, CallsAfterTheWorkersSleptCoverEveryIndexOnce) {
  for (int call = 0; call < 20; ++call) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // past the workers' spin
    expect_each_index_once(64, 1, "after a pause");
  }
}

TEST(ParallelFor, TheWorkersTakeAShare) {
  if (worker_count() < 2) GTEST_SKIP() << "one usable core: parallel_for runs on the caller alone";
  // Chunks that take a while, so that a worker (spinning or woken) takes some of them.
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_workers{0};
  for (int call = 0; call < 20 && on_workers.load() == 0; ++call)
    parallel_for(8, 1, [&](int64_t, int64_t) {
      if (std::this_thread::get_id() != caller) on_workers.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  EXPECT_GT(on_workers.load(), 0);
}

TEST(ParallelFor, CallsFromSeveralThreadsAtOnce) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int call = 0; call < 300; ++call) {
        const int64_t count = 10 + (call + t) % 50;
        std::vector<std::atomic<int>> seen(static_cast<size_t>(count));
        parallel_for(count, 2, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
        });
        for (auto& s : seen)
          if (s.load() != 1) failures.fetch_add(1);
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParallelFor, NothingToDoCallsNothing) {
  parallel_for(0, 1, [](int64_t, int64_t) { FAIL() << "called for an empty range"; });
  parallel_for(-3, 1, [](int64_t, int64_t) { FAIL() << "called for a negative count"; });
}

}  // namespace
}  // namespace qlinear::cpu
