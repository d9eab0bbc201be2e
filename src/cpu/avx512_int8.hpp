// The int8 tiles' shared AVX-512 pieces (…_avx512_vnni.cpp, …_amx.cpp): weights of one quad in
// vpdpbusd's (and tdpbusd's B tile row's) layout, a segment's header, and the exact finish of its
// integer sum (int8_tile.hpp).
// NOTES: include only from those files; internal linkage, as avx512_decode.hpp explains.
#pragma once

#include <immintrin.h>

#include "cpu/int8_tile.hpp"

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per ISA file, see above

// The 16 columns x 4 positions of one quad as int8 in vpdpbusd's layout: from 64 int8 codes, or
// from 16 words of 4 nibbles (value + 8): each byte of the words (2 nibbles) widens to a word, the
// high nibble then moves to the word's high byte in one shift-and-mask step, less 8 per byte.
template <int Bits>
inline __m512i quad_weights(const uint8_t* codes) {
  if constexpr (Bits == 8) {
    return _mm512_loadu_si512(codes);
  } else {
    const __m512i pairs =
        _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes)));
    // (A | B) & C is ternary-logic 0xA8 with A = shifted, B = pairs, C = mask.
    const __m512i bytes = _mm512_ternarylogic_epi32(_mm512_slli_epi16(pairs, 4), pairs,
                                                    _mm512_set1_epi16(0x0f0f), 0xa8);
    return _mm512_sub_epi8(bytes, _mm512_set1_epi8(8));
  }
}

// acc + scale · fp32(sum - shift · colsum): a segment's exact integer sum, shifted back to q - z.
inline __m512 finish_segment(__m512i sum, int32_t shift, __m512i colsum, __m512 scale, __m512 acc) {
  const __m512i total = _mm512_sub_epi32(sum, _mm512_mullo_epi32(_mm512_set1_epi32(shift), colsum));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), scale, acc);
}

// Segment s of a tile at p: its codes, quads, column sums and scales; advances p past it.
struct Segment {
  const uint8_t* codes;
  int64_t quads;
  __m512i colsum;
  __m512 scale;
};
template <int Bits>
inline Segment next_segment(const Int8TileArgs& a, int64_t s, const uint8_t*& p) {
  Segment segment{p, a.segment_lengths[s] / 4, _mm512_setzero_si512(), _mm512_setzero_ps()};
  p += segment.quads * 4 * kInt8TileN * Bits / 8;
  segment.colsum = _mm512_loadu_si512(p);
  segment.scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p + 64));
  p += 128;
  return segment;
}

}  // namespace
}  // namespace qlinear::cpu
