// Host memory for the large buffers a layer keeps: a converter's canonical weights
// (Tensor::empty with Lifetime::layer) and a cpu kernel's packed weights. Per-call buffers
// (forward's output, a kernel's scratch) do not come here.
//
// NOTES: first touching a 4 KiB page of fresh memory costs about 9-11 us on the 2-vCPU EPYC VM
// (a paravirtualized fault plus the zeroing), so a load that writes 0.9 GB of new canonical and
// packed bytes spent more time faulting than copying (bench/NOTES.md, "Buffers on huge pages").
// Buffers of 2 MiB and more are therefore mapped on their own, 2 MiB aligned and marked for
// transparent huge pages (THP is in madvise mode on the machines here): one fault per 2 MiB.
// The C library's heap gives neither the alignment nor a stable choice between reusing memory
// and mapping fresh pages (its mmap threshold moves with the order of frees).
// A per-call buffer is the other way round: the heap hands the next call the pages the last one
// freed, already faulted in, where a mapping of its own is faulted, zeroed and unmapped on every
// call (a 3.5 MiB forward output took 385 faults, 5-7 ms a call; same notes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace qlinear::detail {

// Returns layer_alloc's memory of `bytes` (its size, which the mapping needs back).
struct HostFree {
  size_t bytes = 0;
  void operator()(void* pointer) const noexcept;
};
using HostMemory = std::unique_ptr<uint8_t[], HostFree>;

// Buffers from this size on are mapped on huge pages.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` (> 0) of uninitialised host memory for a buffer kept as long as a layer, 64-byte
// aligned; throws qlinear::Error naming the size when there is not enough. Where the kernel
// grants no huge page the memory is still good, in 4 KiB pages.
HostMemory layer_alloc(size_t bytes);

// Maps every page of [p, p + bytes) now, ahead of a pass about to touch them all: `for_write`,
// layer_alloc memory (zeroed pages), else a read-only mapping of a file (the page cache's pages).
// One call maps them all where first touches fault one page at a time (16 of a file), and a
// caller that splits a buffer over its threads by whole huge pages keeps two threads from faulting
// the same one: the kernel zeroes a huge page before it takes the lock that installs it, so both
// would zero it, and a file's faults serialise on the lock of the page table they share. Advice
// only: where the kernel lacks it (before Linux 5.14), the pages fault on first touch as before.
void populate(const void* p, size_t bytes, bool for_write);

}  // namespace qlinear::detail
