// Every threshold of the CPU platform's selection in one place: the token limits of the composite
// plans of the kernel list (src/core/kernel_list.cpp). Each line cites what set it; a measured
// tuning table for the machine, where one exists, overrides them.
#pragma once

#include <cstdint>

namespace qlinear::heuristics::cpu {

// The _amx kernels from this many rows of x on, the _avx512_vnni kernels (same packed weights)
// below: an AMX tile multiplies 16 rows at a time, so fewer rows spend most of a tile instruction
// on padding, where the VNNI tiles stream the weights with prefetching (src/cpu/amx_layout.hpp).
// Set from the tile shape; not yet timed on an AMX machine (none since the kernels exist).
inline constexpr int64_t kAmxMinRows = 16;

}  // namespace qlinear::heuristics::cpu
