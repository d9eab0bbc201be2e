// Code decoding shared by the files compiled for AVX-512 (…_avx512.cpp, …_avx512_vnni.cpp,
// …_amx.cpp). NOTES: include only from those files; the functions have internal linkage (unnamed
// namespace) so no copy compiled with AVX-512 can stand in for another file's.
#pragma once

#include <immintrin.h>

#include "cpu/mixed_precision_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per ISA file, see above

// float8_e4m3fn codes (zero-extended in 32-bit lanes) as fp32, exactly: exponent and mantissa
// moved to fp32's bit positions give 2^(e - 127)·1.m (e4m3 subnormals land on fp32 subnormals),
// times 2^120 is the e4m3 value (bias 7); then the sign to bit 31.
// NOTES: assumes denormals-are-zero off (the default): with DAZ set, subnormal weights read as 0.
inline __m512 e4m3_to_fp32(__m512i code) {
  const __m512i magnitude =
      _mm512_and_si512(_mm512_slli_epi32(code, 20), _mm512_set1_epi32(0x07f00000));
  const __m512 value = _mm512_mul_ps(_mm512_castsi512_ps(magnitude), _mm512_set1_ps(0x1p120f));
  // A | (B & C) is ternary-logic 0xF8 with A = value, B = the shifted sign, C = the sign bit.
  return _mm512_castsi512_ps(
      _mm512_ternarylogic_epi32(_mm512_castps_si512(value), _mm512_slli_epi32(code, 24),
                                _mm512_set1_epi32(static_cast<int>(0x80000000u)), 0xf8));
}

// ---- bf16 pairs: one 32-bit lane per column holding its values at K positions (i, i + 1), the
// operand of vdpbf16ps (the _avx512_vnni tile) and one row of a tdpbf16ps B tile (the _amx tile).
// Every code value is exact in bf16 (see mixed_precision_avx512_vnni.cpp).

// Two fp32 vectors of values exact in bf16 as one vector of bf16 pairs (lo in the low word).
inline __m512i bf16_pair(__m512 lo, __m512 hi) {
  return _mm512_mask_blend_epi16(0xaaaaaaaau, _mm512_srli_epi32(_mm512_castps_si512(lo), 16),
                                 _mm512_castps_si512(hi));
}

// Bf16 pairs w times the columns' scales, exactly where the products are bf16 values
// (MixedTileArgs::fold_scales): each word widened to fp32, multiplied, and its high half kept.
inline __m512i fold_scale(__m512i w, __m512 scale) {
  const __m512 lo = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  const __m512 hi = _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(~0xffff)));
  return bf16_pair(_mm512_mul_ps(lo, scale), _mm512_mul_ps(hi, scale));
}

// 16 columns x a pair of K positions of float8_e4m3fn codes, pair-interleaved (32 bytes, see
// mixed_precision_tile.hpp), as bf16 pairs, exactly, in 16-bit lanes: a normal code's exponent
// and mantissa shifted to bf16's positions with the bias moved from 7 to 127; exponent 0 (zero and
// the subnormals m · 2^-9) from a table indexed by the mantissa m; then the sign to bit 15.
// NOTES: 8 instructions a pair vector where two e4m3_to_fp32 and bf16_pair take 14.
inline __m512i e4m3_pair_to_bf16(const uint8_t* codes) {
  const __m512i code =
      _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes)));
  const __m512i normal =
      _mm512_add_epi16(_mm512_and_si512(_mm512_slli_epi16(code, 4), _mm512_set1_epi16(0x07f0)),
                       _mm512_set1_epi16(0x3c00));
  // bf16 of m · 2^-9 for m = 0..7 (vpermw reads the low 5 bits: m, as the exponent bits are 0).
  const __m512i subnormals =
      _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       0x3c60, 0x3c40, 0x3c20, 0x3c00, 0x3bc0, 0x3b80, 0x3b00, 0);
  const __mmask32 exponent_0 = _mm512_testn_epi16_mask(code, _mm512_set1_epi16(0x78));
  const __m512i magnitude = _mm512_mask_permutexvar_epi16(normal, exponent_0, code, subnormals);
  // A | (B & C) is ternary-logic 0xF8 with A = magnitude, B = the shifted sign, C = bit 15.
  return _mm512_ternarylogic_epi32(magnitude, _mm512_slli_epi16(code, 8),
                                   _mm512_set1_epi16(static_cast<short>(0x8000)), 0xf8);
}

inline __m512 integer_value(__m512i code, __m512i offset) {
  return _mm512_cvtepi32_ps(_mm512_sub_epi32(code, offset));
}

// Column pairs of K positions (i, i + 1) for i = k0 and k0 + 2, as bf16 pairs. ZeroPoints: 4-bit
// codes minus `offset` (else through `table`); 8-bit codes always subtract `offset`.
template <int Bits, bool E4m3, bool ZeroPoints>
inline void load_two_pairs(const uint8_t* codes, __m512i table, __m512i offset, __m512i w[2]) {
  const auto bytes = [&](int row) {
    return _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + row * kMixedTileN)));
  };
  for (int q = 0; q < 2; ++q) {
    if constexpr (Bits == 4) {
      const __m512i b = bytes(q);
      if constexpr (!ZeroPoints)
        w[q] = _mm512_permutexvar_epi16(_mm512_or_si512(b, _mm512_slli_epi32(b, 12)), table);
      else
        w[q] = bf16_pair(integer_value(_mm512_and_si512(b, _mm512_set1_epi32(0xf)), offset),
                         integer_value(_mm512_srli_epi32(b, 4), offset));
    } else if constexpr (E4m3) {
      w[q] = e4m3_pair_to_bf16(codes + q * 2 * kMixedTileN);
    } else {
      w[q] =
          bf16_pair(integer_value(bytes(2 * q), offset), integer_value(bytes(2 * q + 1), offset));
    }
  }
}

// The same with zero points chosen at run time.
template <int Bits, bool E4m3>
inline void load_two_pairs(const MixedTileArgs& a, const uint8_t* codes, __m512i table,
                           __m512i offset, __m512i w[2]) {
  if (a.zero_points)
    load_two_pairs<Bits, E4m3, true>(codes, table, offset, w);
  else
    load_two_pairs<Bits, E4m3, false>(codes, table, offset, w);
}

// The vpermw table of 4-bit codes without zero points: bf16 of values[t mod 16] for t in [0, 32)
// (the 4-bit values are exact in bf16).
inline __m512i bf16_value_table(const MixedTileArgs& a) {
  alignas(64) uint16_t words[32];
  for (int t = 0; t < 32; ++t) {
    uint32_t bits;
    __builtin_memcpy(&bits, a.values + (t & 15), 4);
    words[t] = static_cast<uint16_t>(bits >> 16);
  }
  return _mm512_load_si512(words);
}

// ---- segments

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
  switch (a.scale_code) {
    case SegmentScaleCode::fp32:
      s.scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p));
      break;
    case SegmentScaleCode::e4m3:
      s.scale =
          e4m3_to_fp32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
      break;
    case SegmentScaleCode::e8m0:
      s.scale = _mm512_castsi512_ps(_mm512_slli_epi32(
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 23));
      break;
  }
  p += segment_scale_bytes(a.scale_code, Bits);
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

// A chunk of at most one block of rows (M <= 8: the weights stream once, nothing to keep in
// cache) runs with every sum in registers: for register blocks of rows = 8, 4, 2, 1 it calls
// accumulate(rows, segment, x, part) over each whole segment, part being the block's register
// sums (zeroed per segment), and scales them into the rows' accumulators.
// MaxChains: sums per row for blocks of fewer than 4 rows (see the tiles' NOTES).
template <int Bits, int RowElements, typename Element, int MaxChains, typename Accumulate>
inline void run_rows_in_registers(const MixedTileArgs& a, Accumulate&& accumulate) {
  for_row_blocks<8>(a.rows, [&](auto rows, int64_t row0) {
    constexpr int kRows = decltype(rows)::value;
    constexpr int Chains = kRows >= 4 ? 1 : MaxChains;
    __m512 acc[kRows];
    for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
    const auto* x = static_cast<const Element*>(a.x) + RowElements * row0;
    const uint8_t* p = a.weights;
    for (int64_t s = 0; s < a.segments; ++s) {
      const int64_t length = a.segment_lengths[s];
      const Segment segment = next_segment<Bits>(a, p, length);
      __m512 part[Chains][kRows];
      for (int c = 0; c < Chains; ++c)
        for (int r = 0; r < kRows; ++r) part[c][r] = _mm512_setzero_ps();
      accumulate(rows, segment, length, x, part);
      finish_segment(a, s, row0, segment.scale, part, acc);
      x += length * kMixedTileRows;
    }
    for (int r = 0; r < kRows; ++r) _mm512_storeu_ps(a.y + (row0 + r) * kMixedTileN, acc[r]);
  });
}

// K is taken up to 512 positions at a time (a segment, or a piece of a long one) for every row of
// the chunk: the tile's codes for those positions stay in L1 while the rows' activations stream
// from L2, and register blocks of up to 16 rows decode each weight vector once per 16 rows. The
// fp32 sums of a segment live in a buffer between steps.
inline constexpr int64_t kStepPositions = 512;

// The K-stepped loop of the AVX-512 mixed-precision tiles over a chunk of rows. For each segment
// and step it calls step(rows, codes, x, x_next, positions, part) for register blocks of
// rows = 16, 8, 4, 2, 1 (compile-time), which adds the rows' sums over `positions` K positions from
// `codes` on to part[rows][16] (x: the block's first row at the step's first position; x_next: the
// next block, for rows 8 to 15). At each segment's end y += part · scale (· activation scale).
// RowElements: elements between the rows of a block at one position (1 fp32, 2 bf16 pairs).
template <int Bits, int RowElements, typename Element, typename Step>
inline void run_chunk(const MixedTileArgs& a, Step&& step) {
  const auto* x = static_cast<const Element*>(a.x);
  alignas(64) float part[kMixedChunkRows * kMixedTileN];
  for (int64_t i = 0; i < a.rows * kMixedTileN; ++i) a.y[i] = 0.f;
  const uint8_t* p = a.weights;
  int64_t before = 0;  // K positions of the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const Segment segment = next_segment<Bits>(a, p, length);
    for (int64_t i = 0; i < a.rows * kMixedTileN; ++i) part[i] = 0.f;
    for (int64_t i0 = 0; i0 < length; i0 += kStepPositions) {
      const int64_t positions = length - i0 < kStepPositions ? length - i0 : kStepPositions;
      const uint8_t* codes = segment.codes + i0 * kMixedTileN * Bits / 8;
      for_row_blocks<16>(a.rows, [&](auto rows, int64_t first) {
        const Element* block = x + (first / kMixedTileRows) * a.x_block_stride +
                               RowElements * (first % kMixedTileRows) +
                               (before + i0) * kMixedTileRows;
        step(rows, segment, codes, block, block + a.x_block_stride, positions,
             part + first * kMixedTileN);
      });
    }
    for (int64_t r = 0; r < a.rows; ++r) {
      const int64_t scale_index =
          (r / kMixedTileRows * a.segments + s) * kMixedTileRows + r % kMixedTileRows;
      const __m512 scale =
          a.x_scales ? _mm512_mul_ps(segment.scale, _mm512_set1_ps(a.x_scales[scale_index]))
                     : segment.scale;
      float* y = a.y + r * kMixedTileN;
      _mm512_storeu_ps(
          y, _mm512_fmadd_ps(_mm512_loadu_ps(part + r * kMixedTileN), scale, _mm512_loadu_ps(y)));
    }
    before += length;
  }
}

}  // namespace
}  // namespace qlinear::cpu
