// Code decoding shared by the files compiled for AVX-512 (…_avx512.cpp, …_avx512_vnni.cpp).
// NOTES: include only from those files; the functions have internal linkage (unnamed namespace)
// so no copy compiled with AVX-512 can stand in for another file's.
#pragma once

#include <immintrin.h>

#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per ISA file, see above

// float8_e4m3fn codes (zero-extended in 32-bit lanes) as fp32: moved into fp16's bit positions
// (exponent bias 15 instead of 7, subnormals included) and scaled by 2^8, exactly.
inline __m512 e4m3_to_fp32(__m512i code) {
  const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(code, _mm512_set1_epi32(0x80)), 8);
  const __m512i rest = _mm512_slli_epi32(_mm512_and_si512(code, _mm512_set1_epi32(0x7f)), 7);
  const __m256i half = _mm512_cvtepi32_epi16(_mm512_or_si512(sign, rest));
  return _mm512_mul_ps(_mm512_cvtph_ps(half), _mm512_set1_ps(256.f));
}

// One segment of a mixed-precision tile (mixed_precision_tile.hpp): where its codes start, its
// 16 column scales, and the offset integer codes subtract (zero points or the type's bias).
struct Segment {
  const uint8_t* codes;
  __m512 scale;
  __m512i offset;
};

// The segment of `length` positions at p; advances p past it.
template <int Bits>
inline Segment next_segment(const MixedTileArgs& a, const uint8_t*& p, int64_t length) {
  Segment s{p, _mm512_setzero_ps(), _mm512_set1_epi32(a.code_offset)};
  p += length * kMixedTileN * Bits / 8;
  s.scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p));
  p += kMixedTileN * 4;
  if (a.zero_points) {
    s.offset = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    p += kMixedTileN;
  }
  return s;
}

// The end of segment s for rows [row0, row0 + Rows) of a block: acc[r] += (Σ_c part[c][r]) ·
// scale, the scale times the row's activation scale for the segment where the tile has them.
template <int Chains, int Rows>
inline void finish_segment(const MixedTileArgs& a, int64_t s, int64_t row0, __m512 scale,
                           const __m512 (&part)[Chains][Rows], __m512 (&acc)[Rows]) {
  for (int r = 0; r < Rows; ++r) {
    __m512 sum = part[0][r];
    for (int c = 1; c < Chains; ++c) sum = _mm512_add_ps(sum, part[c][r]);
    const __m512 row_scale =
        a.x_scales ? _mm512_mul_ps(scale, _mm512_set1_ps(a.x_scales[s * kMixedTileRows + row0 + r]))
                   : scale;
    acc[r] = _mm512_fmadd_ps(sum, row_scale, acc[r]);
  }
}

}  // namespace
}  // namespace qlinear::cpu
