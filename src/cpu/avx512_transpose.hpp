// A 16 x 16 transpose of 32-bit words in AVX-512 registers, for the ISA files of the load-time
// copies (transpose_words_avx512.cpp, pack_tile_columns_avx512.cpp). Code in an anonymous
// namespace, as in mixed_precision_tile.hpp: one copy per ISA object, none shared.
//
//   unpack 32   t[2i], t[2i+1]      = rows 2i, 2i+1 interleaved by words
//   unpack 64   v[4i + k], lane L   = column 4L + k of rows 4i .. 4i+3
//   lanes 4x4   out[4L + k]         = lane L of v[k], v[4 + k], v[8 + k], v[12 + k]
#pragma once

#include <immintrin.h>

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): instantiated in ISA files only, one copy each

// v[r] word c -> out[c] word r.
inline void transpose_16x16_words(__m512i (&v)[16], __m512i (&out)[16]) {
  __m512i t[16];
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
    // A = v[k], B = v[4 + k], C = v[8 + k], D = v[12 + k]: out[4L + k] = [A_L B_L C_L D_L]
    const __m512i ab_lo = _mm512_shuffle_i32x4(v[k], v[4 + k], 0x44);  // A0 A1 B0 B1
    const __m512i ab_hi = _mm512_shuffle_i32x4(v[k], v[4 + k], 0xee);  // A2 A3 B2 B3
    const __m512i cd_lo = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0x44);
    const __m512i cd_hi = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0xee);
    out[k] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0x88);  // A0 B0 C0 D0
    out[4 + k] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0xdd);
    out[8 + k] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0x88);
    out[12 + k] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0xdd);
  }
}

}  // namespace
}  // namespace qlinear::cpu
