// A block of x rows in the layout the vdpbf16ps tiles read (MixedTileArgs::x): 8 rows, each row's
// K positions taken in pairs, the 8 rows' pairs side by side:
//
//   out[(i / 2) · 16 + 2 · r + i % 2] = rows[r][i]   for r < 8, i < count (rows[r] null: 0)
//
// The dequant kernels placed x this way an element at a time through the weights' K order
// (mixed_precision.cpp, place_row): 4-7 % of a call at M = 64. Where that order is x's own, a
// block is this transpose of 32-bit words (a pair of bf16 is one word).
#pragma once

#include <cstdint>

namespace qlinear::cpu {

struct PairRows {
  const uint16_t* rows[8];  // bf16 bits; null: a row past M, written as zeros
  int64_t count;            // K positions of every row
  uint16_t* out;            // 8 · count elements (count rounded up to even)
};

// The reference, an element at a time. Runs on any x86-64.
void interleave_pairs_scalar(const PairRows& a);
// 16 pairs of the 8 rows a step through a 16 x 16 word transpose (avx512_transpose.hpp), the last
// count % 32 positions by the scalar twin. Needs AVX-512 F.
void interleave_pairs_avx512(const PairRows& a);

}  // namespace qlinear::cpu
