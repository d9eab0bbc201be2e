// Work sharing across the host's cores for the cpu kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace qlinear::cpu {

// Calls body(begin, end) over disjoint chunks covering [0, count), spread over the cores this
// process may use, and returns when every chunk is done. Chunks are handed out dynamically, so a
// core taken by another process slows its share only. Safe to call from several threads at once:
// the pool serves one call at a time, and a call that finds it busy runs on its own thread.
// `body` must not throw.
void parallel_for(int64_t count, int64_t chunk, const std::function<void(int64_t, int64_t)>& body);

// Threads parallel_for uses (the usable cores of the host).
int worker_count();

// detail::populate (core/host_memory.hpp) over the threads, whole huge pages of [p, p + bytes)
// each: the packings map a layer's buffer (and the source file's pages) ahead of their pass.
void populate_in_parallel(const void* p, size_t bytes, bool for_write);

// How many of `count` tiles of `tile_bytes` a packing hands a thread at a time: about a huge page
// of the packed buffer, so no two threads fault in (and zero) the same one.
int64_t tiles_per_huge_page(int64_t count, int64_t tile_bytes);

}  // namespace qlinear::cpu
