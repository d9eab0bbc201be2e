// TMA tensor maps for the Hopper GEMMs: a 2-D row-major matrix [rows, cols] with row pitch `pitch`
// bytes, read in boxes of box_rows x 128 bytes with the 128-byte swizzle that wgmma's K-major
// shared-memory layout expects (8-bit codes and 16-bit activations), or in unswizzled boxes (the
// mixed-input core's packed weights). Elements outside the matrix read as zero, which is how the
// GEMMs handle M, N and K off their tiles.
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

// 16-bit elements (bf16 / fp16 activations), boxes of box_rows x 64 elements, 128-byte swizzle.
CUtensorMap make_half_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          const char* what);

// 32-bit words without swizzle, boxes of box_rows x box_cols words (box_cols up to 256).
CUtensorMap make_word_map(const void* base, int64_t rows, int64_t cols, int64_t pitch, int box_rows,
                          int box_cols, const char* what);

}  // namespace qlinear::cuda::sm90
