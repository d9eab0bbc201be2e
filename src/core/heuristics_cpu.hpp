// Every threshold of the CPU platform's selection in one place: the token limits of the composite
// plans of the kernel list (src/core/kernel_list.cpp). Each line cites what set it; a measured
// tuning table for the machine, where one exists, overrides them.
#pragma once

#include <cstdint>

namespace qlinear::heuristics::cpu {

// The _amx kernels from this many rows of x on, the _avx512_vnni kernels (same packed weights)
// below: an AMX tile multiplies 16 rows at a time, so fewer rows spend most of a tile instruction
// on padding, where the VNNI tiles stream the weights with prefetching (src/cpu/amx_layout.hpp).
// Timed on an Intel Xeon with AMX (2 vCPUs, 2026-12-08; `qlinear bench --device cpu --nk 4096x4096
// 4096x14336 --kernel <family>_amx <family>_avx512_vnni --m 2 4 8 16 32`, bench/NOTES.md "The AMX
// kernels on an AMX machine"): VNNI 1.1-1.6x faster at 8 rows for fp8, nvfp4 weight-only and
// int8, AMX 1.3-2.7x at 32; at 16 AMX 1.0-1.6x for fp8 and nvfp4, a tie for int8 (within 5 %);
// int4 crosses at 8 (AMX 5-9 % faster there, VNNI 1.4-1.7x at 4). One limit for all, 16, costs
// int4 at most 9 % and fp8 up to ~1.5x between 8 and 15 rows. Timed before the AMX tiles folded
// NVFP4's and OCP MX's scales into the codes (1.2-2.6x faster since, NOTES): for those families
// the crossing may now lie below 16.
inline constexpr int64_t kAmxMinRows = 16;

}  // namespace qlinear::heuristics::cpu
