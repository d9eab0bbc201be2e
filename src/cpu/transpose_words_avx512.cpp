// transpose_words with AVX-512 F: 16 x 16 word tiles in registers (avx512_transpose.hpp).
#include <immintrin.h>

#include "cpu/avx512_transpose.hpp"
#include "cpu/transpose_words.hpp"

namespace qlinear::cpu {
namespace {

// 16 rows of `in` from (r0, c0) on, to 16 rows of `out` from (c0, r0) on.
void tile(const WordBlock& b, int64_t r0, int64_t c0) {
  __m512i v[16], t[16];
  for (int i = 0; i < 16; ++i) v[i] = _mm512_loadu_si512(b.in + (r0 + i) * b.in_stride + c0);
  transpose_16x16_words(v, t);
  for (int c = 0; c < 16; ++c) _mm512_storeu_si512(b.out + (c0 + c) * b.out_stride + r0, t[c]);
}

}  // namespace

void transpose_words_avx512(const WordBlock& b) {
  const int64_t rows = b.rows / 16 * 16, cols = b.cols / 16 * 16;
  for (int64_t r0 = 0; r0 < rows; r0 += 16)
    for (int64_t c0 = 0; c0 < cols; c0 += 16) tile(b, r0, c0);
  // The edges: the last cols % 16 columns of every row, then the last rows % 16 rows.
  transpose_words_scalar(
      {b.in + cols, b.in_stride, b.rows, b.cols - cols, b.out + cols * b.out_stride, b.out_stride});
  transpose_words_scalar(
      {b.in + rows * b.in_stride, b.in_stride, b.rows - rows, cols, b.out + rows, b.out_stride});
}

}  // namespace qlinear::cpu
