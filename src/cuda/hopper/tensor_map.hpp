// TMA tensor maps for the Hopper GEMMs: a 2-D row-major matrix of 8-bit codes [rows, cols] with
// row pitch `pitch` bytes, read in boxes of box_rows x 128 codes with the 128-byte swizzle that
// wgmma's K-major shared-memory layout expects. Elements outside the matrix read as zero, which is
// how the GEMMs handle M, N and K off their tiles.
#pragma once

#include <cuda.h>

#include <cstdint>

namespace qlinear::cuda::sm90 {

// K extent of one box: one 128-byte swizzle row of 8-bit codes.
inline constexpr int kBoxK = 128;

// Throws qlinear::Error (naming `what`) when the driver refuses the map: a base not 16-byte
// aligned, a pitch not a multiple of 16, box_rows outside 1..256.
CUtensorMap make_code_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          const char* what);

}  // namespace qlinear::cuda::sm90
