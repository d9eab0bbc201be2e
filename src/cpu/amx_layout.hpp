// What the drivers (mixed_precision.cpp, int8_dot.cpp) and the _amx tiles (mixed_precision_amx.cpp,
// int8_scaled_mm_amx.cpp) agree on. An AMX tile multiplies 16 rows of x at a time, each row 64
// contiguous bytes of K (tileloadd reads a row per stride), so the _amx tiles read x row-major —
// row r of a chunk at x + r · x_row_stride, K in the packed (segment) order — where the other
// tiles read it in interleaved blocks of 8 rows.
#pragma once

#include <cstdint>

namespace qlinear::cpu {

// Rows of x one step of an _amx tile multiplies (two tiles of 16). The drivers pad the rows of x
// to a multiple of this with zero activations.
inline constexpr int kAmxRowBlock = 32;

// The _amx kernels pad each weight segment (a run of K positions with one scale) to a multiple
// of 16 positions, so that a tile's K step (up to 64 int8 or 32 bf16 positions) divides every
// segment; a single segment (per-channel scales) is padded to the full step.
inline constexpr int64_t kAmxSegmentAlign = 16;
inline constexpr int64_t kAmxInt8KStep = 64;  // tdpbusd: 64 int8 a row of A
inline constexpr int64_t kAmxBf16KStep = 32;  // tdpbf16ps: 32 bf16 a row of A

}  // namespace qlinear::cpu
