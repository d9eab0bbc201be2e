// The mixed-precision tile with AVX2 + FMA: the 16 columns of a tile are two ymm of fp32.
// Codes become fp32 (code - offset) through vpmovzxbd, vpsubd and vcvtdq2ps; x is broadcast into
// vfmadd231ps; each row keeps one fp32 sum per segment, scaled once at the segment's end — the
// arithmetic of mixed_precision_scalar.cpp.
//
// NOTES: 16 ymm registers hold two rows (4 sums + 4 segment sums + weights); at one row the sums
// are split over two chains so that two FMAs are in flight.
#include <immintrin.h>

#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {

// Column halves [0, 8) and [8, 16) of one K position: 8 bytes each, one code per byte (8-bit), or
// a nibble of the byte (4-bit, shifted by `shift`).
inline void load_position(const uint8_t* bytes, int shift, __m256i offset_lo, __m256i offset_hi,
                          __m256 w[2]) {
  const __m256i mask = _mm256_set1_epi32(shift < 0 ? 0xff : 0xf);
  const int s = shift < 0 ? 0 : shift;
  const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes)));
  const __m256i hi =
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes + 8)));
  const __m128i shift_count = _mm_cvtsi32_si128(s);
  w[0] = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_and_si256(_mm256_srl_epi32(lo, shift_count), mask), offset_lo));
  w[1] = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_and_si256(_mm256_srl_epi32(hi, shift_count), mask), offset_hi));
}

template <int Bits, int Rows>
void tile(const MixedTileArgs& a) {
  constexpr int kChains = Rows == 1 ? 2 : 1;
  const auto* x = static_cast<const float*>(a.x);
  __m256 acc[Rows][2];
  for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kMixedTileN * Bits / 8;
    const auto* scale_bytes = reinterpret_cast<const float*>(p);
    const __m256 scale[2] = {_mm256_loadu_ps(scale_bytes), _mm256_loadu_ps(scale_bytes + 8)};
    p += kMixedTileN * 4;
    __m256i offset[2] = {_mm256_set1_epi32(a.code_offset), _mm256_set1_epi32(a.code_offset)};
    if (a.zero_points) {
      offset[0] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
      offset[1] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8)));
      p += kMixedTileN;
    }
    __m256 part[kChains][Rows][2];
    for (int c = 0; c < kChains; ++c)
      for (int r = 0; r < Rows; ++r) part[c][r][0] = part[c][r][1] = _mm256_setzero_ps();
    for (int64_t i = 0; i < length; ++i) {
      __m256 w[2];
      if constexpr (Bits == 4)
        load_position(codes + (i / 2) * kMixedTileN, (i % 2) * 4, offset[0], offset[1], w);
      else
        load_position(codes + i * kMixedTileN, -1, offset[0], offset[1], w);
      for (int r = 0; r < Rows; ++r) {
        const __m256 xv = _mm256_broadcast_ss(x + r * a.x_stride + i);
        for (int h = 0; h < 2; ++h)
          part[i % kChains][r][h] = _mm256_fmadd_ps(xv, w[h], part[i % kChains][r][h]);
      }
    }
    for (int r = 0; r < Rows; ++r)
      for (int h = 0; h < 2; ++h) {
        __m256 sum = part[0][r][h];
        for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, part[c][r][h]);
        acc[r][h] = _mm256_fmadd_ps(sum, scale[h], acc[r][h]);
      }
    x += length;
  }
  for (int r = 0; r < Rows; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(a.y + r * kMixedTileN + 8 * h, acc[r][h]);
}

template <int Bits>
void rows_in_blocks(const MixedTileArgs& a) {
  MixedTileArgs block = a;
  for (int64_t done = 0; done < a.rows;) {
    block.x = static_cast<const float*>(a.x) + done * a.x_stride;
    block.y = a.y + done * kMixedTileN;
    if (a.rows - done >= 2) {
      tile<Bits, 2>(block), done += 2;
    } else {
      tile<Bits, 1>(block), done += 1;
    }
  }
}

}  // namespace

void mixed_precision_tile_avx2(const MixedTileArgs& a) {
  if (a.bits == 4)
    rows_in_blocks<4>(a);
  else
    rows_in_blocks<8>(a);
}

}  // namespace qlinear::cpu
