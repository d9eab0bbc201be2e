// layer_alloc: see host_memory.hpp for why a layer's large buffers bypass the C library's heap.
#include "core/host_memory.hpp"

#include <sys/mman.h>

#include <cstdlib>

#include "qlinear/error.hpp"

namespace qlinear::detail {
namespace {

constexpr size_t kPageBytes = 4096;

size_t round_up(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

// `bytes` (whole 4 KiB pages) mapped from a 2 MiB boundary: a mapping one huge page longer,
// trimmed at both ends. The end is not rounded to 2 MiB: the kernel backs only the whole 2 MiB
// ranges with huge pages and the rest with small ones, so a buffer never pins up to 2 MiB it does
// not use.
void* map_huge_aligned(size_t bytes) {
  const size_t span = bytes + kHugePageBytes;
  void* mapped = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  const auto first = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t start = round_up(first, kHugePageBytes);
  if (start > first) munmap(mapped, start - first);
  munmap(reinterpret_cast<void*>(start + bytes), first + span - (start + bytes));
  auto* p = reinterpret_cast<void*>(start);
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it the pages are small
#endif
  return p;
}

}  // namespace

void HostFree::operator()(void* pointer) const noexcept {
  if (pointer == nullptr) return;
  if (bytes >= kHugePageBytes)
    munmap(pointer, round_up(bytes, kPageBytes));
  else
    std::free(pointer);
}

HostMemory layer_alloc(size_t bytes) {
  require(bytes > 0, "layer_alloc: zero bytes");
  void* p = bytes >= kHugePageBytes ? map_huge_aligned(round_up(bytes, kPageBytes))
                                    : std::aligned_alloc(64, round_up(bytes, 64));
  require(p != nullptr, "out of host memory allocating ", bytes, " bytes");
  return HostMemory(static_cast<uint8_t*>(p), HostFree{bytes});
}

void populate(const void* p, size_t bytes, bool for_write) {
#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
  const auto first = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = first / kPageBytes * kPageBytes;  // madvise takes whole pages
  madvise(reinterpret_cast<void*>(start), first + bytes - start,
          for_write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#else
  (void)p, (void)bytes, (void)for_write;
#endif
}

}  // namespace qlinear::detail
