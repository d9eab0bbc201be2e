// The epilogue every cpu kernel ends a tile with (cpu/driver.hpp's store_tile): a tile's fp32
// sums to the output, rows x up to 16 columns.
//
//   out[r · out_stride + j] = round(y[r · 16 + j] · row_scale[r] + bias[j])   (r < rows, j < cols)
//
// where the row scale and the bias are skipped when null, the product and the sum each rounded
// in fp32 (no fused multiply-add), and round is out_type's: bf16 to nearest even (a NaN kept quiet,
// convert.hpp's float_to_bf16), fp16 to nearest even as the compiler's _Float16 conversion rounds,
// fp32 as is. At M = 256 it is 2 % of a pair tile's call (bench/NOTES.md, issue 20); the scalar
// twin is what baseline x86-64 runs.
#pragma once

#include <cstdint>

#include "qlinear/scalar_type.hpp"

namespace qlinear::cpu {

struct TileRows {
  const float* y;          // [rows][16]
  const float* row_scale;  // [rows], or null
  const float* bias;       // [cols] as fp32, or null
  int64_t rows, cols;      // cols <= 16
  void* out;               // the tile's first output element
  int64_t out_stride;      // elements between output rows
  ScalarType out_type;     // bf16, fp16 or fp32
};

// The reference: an element at a time. Runs on any x86-64.
void store_rows_scalar(const TileRows& a);
// A row a vector (the columns past cols masked). Needs AVX-512 F/BW and F16C (ISA level avx512).
void store_rows_avx512(const TileRows& a);

}  // namespace qlinear::cpu
