// transpose_words with AVX-512 F: 16 x 16 word tiles in registers.
//
//   unpack 32   t[2i], t[2i+1]      = rows 2i, 2i+1 interleaved by words
//   unpack 64   v[4i + k], lane L   = column 4L + k of rows 4i .. 4i+3
//   lanes 4x4   out row 4L + k      = lane L of v[k], v[4 + k], v[8 + k], v[12 + k]
#include <immintrin.h>

#include "cpu/transpose_words.hpp"

namespace qlinear::cpu {
namespace {

// 16 rows of `in` from (r0, c0) on, to 16 rows of `out` from (c0, r0) on.
void tile(const WordBlock& b, int64_t r0, int64_t c0) {
  __m512i v[16], t[16];
  for (int i = 0; i < 16; ++i) v[i] = _mm512_loadu_si512(b.in + (r0 + i) * b.in_stride + c0);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    v[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    v[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    v[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    v[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    // A = v[k], B = v[4 + k], C = v[8 + k], D = v[12 + k]: out row 4L + k = [A_L B_L C_L D_L]
    const __m512i ab_lo = _mm512_shuffle_i32x4(v[k], v[4 + k], 0x44);  // A0 A1 B0 B1
    const __m512i ab_hi = _mm512_shuffle_i32x4(v[k], v[4 + k], 0xee);  // A2 A3 B2 B3
    const __m512i cd_lo = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0x44);
    const __m512i cd_hi = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0xee);
    uint32_t* out = b.out + (c0 + k) * b.out_stride + r0;
    _mm512_storeu_si512(out, _mm512_shuffle_i32x4(ab_lo, cd_lo, 0x88));  // A0 B0 C0 D0
    _mm512_storeu_si512(out + 4 * b.out_stride, _mm512_shuffle_i32x4(ab_lo, cd_lo, 0xdd));
    _mm512_storeu_si512(out + 8 * b.out_stride, _mm512_shuffle_i32x4(ab_hi, cd_hi, 0x88));
    _mm512_storeu_si512(out + 12 * b.out_stride, _mm512_shuffle_i32x4(ab_hi, cd_hi, 0xdd));
  }
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
