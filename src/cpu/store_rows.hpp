// The epilogue every cpu kernel ends a tile call with (cpu/driver.hpp's store_tile): the fp32 sums
// of one tile, or of two adjacent ones (the pair tiles), to the output, rows x up to 16 columns a
// tile.
//
//   out[r · out_stride + j] = round(y_t[r · 16 + j % 16] · row_scale[r] + bias[j])   (j < cols)
//
// with t = j / 16 and y_t = y + t · rows · 16, the row scale and the bias skipped when null, the
// product and the sum each rounded in fp32 (no fused multiply-add), and round out_type's: bf16 to
// nearest even (a NaN kept quiet, convert.hpp's float_to_bf16), fp16 to nearest even as the
// compiler's _Float16 conversion rounds, fp32 as is. A pair's row of 16-bit outputs is 64 bytes,
// stored as one vector: two 32-byte halves, each a separate store, would each read the line first.
#pragma once

#include <cstdint>

#include "qlinear/scalar_type.hpp"

namespace qlinear::cpu {

struct TileRows {
  const float* y;          // [tiles][rows][16]
  int64_t tiles;           // 1 or 2
  const float* row_scale;  // [rows], or null
  const float* bias;       // [cols] as fp32, or null
  int64_t rows, cols;      // cols <= 16 · tiles
  void* out;               // the first tile's first output element
  int64_t out_stride;      // elements between output rows
  ScalarType out_type;     // bf16, fp16 or fp32
};

// The reference: an element at a time. Runs on any x86-64.
void store_rows_scalar(const TileRows& a);
// A tile's row a vector (the columns past cols masked), a pair's 16-bit row one 64-byte store.
// Needs AVX-512 F/BW and F16C (ISA level avx512).
void store_rows_avx512(const TileRows& a);

}  // namespace qlinear::cpu
