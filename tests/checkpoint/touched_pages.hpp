// Which pages of a read-only mapping the code under test reads: the pages are made inaccessible,
// and the first read of each faults into a handler that notes the page and makes it readable
// again, so the read then goes on as if nothing happened. One recorder at a time (the handler is
// the process's); reads from any thread are seen.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace qlinear::checkpoint::testing {

class TouchedPages {
 public:
  // Watches the pages that hold any of the bytes [begin, end).
  TouchedPages(const std::byte* begin, const std::byte* end) {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    first_ = reinterpret_cast<uintptr_t>(begin) / page * page;
    page_ = page;
    count_ = (reinterpret_cast<uintptr_t>(end) - first_ + page - 1) / page;
    touched_ = std::make_unique<std::atomic<bool>[]>(count_);
    active_ = this;
    struct sigaction action {};
    action.sa_sigaction = &TouchedPages::on_fault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_);
    mprotect(reinterpret_cast<void*>(first_), count_ * page_, PROT_NONE);
  }
  ~TouchedPages() {
    mprotect(reinterpret_cast<void*>(first_), count_ * page_, PROT_READ);
    sigaction(SIGSEGV, &previous_, nullptr);
    active_ = nullptr;
  }
  TouchedPages(const TouchedPages&) = delete;
  TouchedPages& operator=(const TouchedPages&) = delete;

  size_t page_size() const { return page_; }
  // Whether the page holding `address` was read.
  bool touched(const std::byte* address) const {
    return touched_[(reinterpret_cast<uintptr_t>(address) - first_) / page_].load();
  }

 private:
  static void on_fault(int, siginfo_t* info, void*) {
    TouchedPages* self = active_.load();
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    if (self == nullptr || address < self->first_ ||
        address >= self->first_ + self->count_ * self->page_) {
      signal(SIGSEGV, SIG_DFL);  // a real fault: the retried access ends the process
      return;
    }
    const size_t index = (address - self->first_) / self->page_;
    self->touched_[index].store(true);
    mprotect(reinterpret_cast<void*>(self->first_ + index * self->page_), self->page_, PROT_READ);
  }

  static inline std::atomic<TouchedPages*> active_{nullptr};
  uintptr_t first_ = 0;
  size_t page_ = 0, count_ = 0;
  std::unique_ptr<std::atomic<bool>[]> touched_;
  struct sigaction previous_ {};
};

}  // namespace qlinear::checkpoint::testing
