// The transpose of 32-bit words at the heart of the GPTQ converter (checkpoint/gptq.cpp: qweight
// [K / 8, N] words are the canonical [N, K] codes, transposed):
//
//   out[c · out_stride + r] = in[r · in_stride + c]   for r < rows, c < cols
#pragma once

#include <cstdint>

namespace qlinear::cpu {

struct WordBlock {
  const uint32_t* in;
  int64_t in_stride;  // words from one row of `in` to the next
  int64_t rows, cols;
  uint32_t* out;
  int64_t out_stride;  // words from one row of `out` (a column of `in`) to the next
};

// The reference, in tiles of 16 rows x 64 columns: the 16 rows read lie a row stride apart, often
// a multiple of 4 KiB (GPTQ's N = 4096 or 14336 words), so they share one L1 set; 16 of them stay
// within reach of the 8-way L1 and L2, where 64 (a square tile) thrash it (1.6 -> 2.6 GB/s on a
// 512 x 14336 word transpose on the 2-core EPYC). Runs on any x86-64.
void transpose_words_scalar(const WordBlock& b);
// 16 x 16 tiles in registers (16 row loads, 64 shuffles, 16 row stores: each line read and
// written whole, so the rows' shared L1 set no longer matters); the edges by the scalar twin.
// Needs AVX-512 F.
void transpose_words_avx512(const WordBlock& b);

}  // namespace qlinear::cpu
