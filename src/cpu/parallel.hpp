// Work sharing across the host's cores for the cpu kernels.
#pragma once

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

}  // namespace qlinear::cpu
