// Host memory for the large buffers a layer keeps or rewrites whole: its canonical weights
// (Tensor::empty) and a cpu kernel's packed weights.
//
// NOTES: first touching a 4 KiB page of fresh memory costs about 9-11 us on the 2-vCPU EPYC VM
// (a paravirtualized fault plus the zeroing), so a load that writes 0.9 GB of new canonical and
// packed bytes spent more time faulting than copying (bench/NOTES.md, "Buffers on huge pages").
// Buffers of 2 MiB and more are therefore mapped on their own, 2 MiB aligned and marked for
// transparent huge pages (THP is in madvise mode on the machines here): one fault per 2 MiB.
// The C library's heap gives neither the alignment nor a stable choice between reusing memory
// and mapping fresh pages (its mmap threshold moves with the order of frees).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace qlinear::detail {

// Returns host_alloc's memory of `bytes` (its size, which the mapping needs back).
struct HostFree {
  size_t bytes = 0;
  void operator()(void* pointer) const noexcept;
};
using HostMemory = std::unique_ptr<uint8_t[], HostFree>;

// Buffers from this size on are mapped on huge pages.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` (> 0) of uninitialised host memory, 64-byte aligned; throws qlinear::Error naming the
// size when there is not enough. Where the kernel grants no huge page the memory is still good,
// in 4 KiB pages.
HostMemory host_alloc(size_t bytes);

}  // namespace qlinear::detail
