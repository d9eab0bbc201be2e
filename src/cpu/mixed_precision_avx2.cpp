// The mixed-precision tile with AVX2 + FMA: the 16 columns of a tile are two ymm of fp32.
// Codes become fp32 (code - offset) through vpmovzxbd, vpsubd and vcvtdq2ps; x is broadcast into
// vfmadd231ps; each row keeps one fp32 sum per segment, scaled once at the segment's end — the
// arithmetic of mixed_precision_scalar.cpp.
//
// NOTES: 16 ymm registers hold two rows (4 sums + 4 segment sums + 4 weights + offsets); at one
// row the sums are split over the two positions of a pair so that two FMAs are in flight.
#include <immintrin.h>

#include "cpu/mixed_precision_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

// 16-entry lookup of the low 4 bits of each lane: two 8-entry vpermps, chosen by bit 3.
inline __m256 lookup16(__m256i index, const __m256 table[2]) {
  const __m256 low = _mm256_permutevar8x32_ps(table[0], index);
  const __m256 high = _mm256_permutevar8x32_ps(table[1], index);
  return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(index, 28)));
}

// float8_e4m3fn codes (in 32-bit lanes) as fp32, as in avx512_decode.hpp: exponent and mantissa
// in fp32's positions times 2^120 (exact, subnormals included, DAZ off), the sign to bit 31.
inline __m256 e4m3_to_fp32(__m256i code) {
  const __m256i magnitude =
      _mm256_and_si256(_mm256_slli_epi32(code, 20), _mm256_set1_epi32(0x07f00000));
  const __m256 value = _mm256_mul_ps(_mm256_castsi256_ps(magnitude), _mm256_set1_ps(0x1p120f));
  const __m256i sign = _mm256_and_si256(_mm256_slli_epi32(code, 24),
                                        _mm256_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm256_or_ps(value, _mm256_castsi256_ps(sign));
}

// w[position][half]: K positions (i, i + 1), column halves [0, 8) and [8, 16), as fp32.
template <int Bits, bool E4m3>
inline void load_pair(const MixedTileArgs& a, const uint8_t* codes, const __m256 table[2],
                      const __m256i offset[2], __m256 w[2][2]) {
  const auto bytes = [&](int row, int h) {
    return _mm256_cvtepu8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + row * kMixedTileN + 8 * h)));
  };
  for (int h = 0; h < 2; ++h) {
    if constexpr (Bits == 4) {
      const __m256i b = bytes(0, h);
      const __m256i high = _mm256_srli_epi32(b, 4);
      if (!a.zero_points) {
        w[0][h] = lookup16(b, table);
        w[1][h] = lookup16(high, table);
      } else {
        const __m256i low = _mm256_and_si256(b, _mm256_set1_epi32(0xf));
        w[0][h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(low, offset[h]));
        w[1][h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(high, offset[h]));
      }
    } else {
      for (int i = 0; i < 2; ++i)
        w[i][h] = E4m3 ? e4m3_to_fp32(bytes(i, h))
                       : _mm256_cvtepi32_ps(_mm256_sub_epi32(bytes(i, h), offset[h]));
    }
  }
}

template <int Bits, bool E4m3, int Rows>
void tile(const MixedTileArgs& a, int64_t row0, const float* x, float* y) {
  constexpr int kChains = Rows == 1 ? 2 : 1;
  __m256 acc[Rows][2];
  for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const __m256 table[2] = {_mm256_loadu_ps(a.values), _mm256_loadu_ps(a.values + 8)};
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kMixedTileN * Bits / 8;
    alignas(32) float scales[kMixedTileN];
    for (int j = 0; j < kMixedTileN; ++j) scales[j] = segment_scale(a, p, j);
    const __m256 scale[2] = {_mm256_load_ps(scales), _mm256_load_ps(scales + 8)};
    p += segment_scale_bytes(a.scale_code, Bits);
    __m256i offset[2] = {_mm256_set1_epi32(a.code_offset), _mm256_set1_epi32(a.code_offset)};
    if (a.zero_points) {
      for (int h = 0; h < 2; ++h)
        offset[h] =
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * h)));
      p += kMixedTileN;
    }
    __m256 part[kChains][Rows][2];
    for (int c = 0; c < kChains; ++c)
      for (int r = 0; r < Rows; ++r) part[c][r][0] = part[c][r][1] = _mm256_setzero_ps();
    for (int64_t i = 0; i < length; i += 2) {
      __m256 w[2][2];
      _mm_prefetch(reinterpret_cast<const char*>(codes) + kMixedPrefetchBytes, _MM_HINT_T0);
      load_pair<Bits, E4m3>(a, codes, table, offset, w);
      codes += 2 * kMixedTileN * Bits / 8;
      for (int j = 0; j < 2; ++j)
        for (int r = 0; r < Rows; ++r) {
          const __m256 xv = _mm256_broadcast_ss(x + j * kMixedTileRows + r);
          for (int h = 0; h < 2; ++h)
            part[j % kChains][r][h] = _mm256_fmadd_ps(xv, w[j][h], part[j % kChains][r][h]);
        }
      x += 2 * kMixedTileRows;
    }
    for (int r = 0; r < Rows; ++r)
      for (int h = 0; h < 2; ++h) {
        __m256 sum = part[0][r][h];
        for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, part[c][r][h]);
        const __m256 row_scale =
            a.x_scales
                ? _mm256_mul_ps(scale[h], _mm256_set1_ps(a.x_scales[s * kMixedTileRows + row0 + r]))
                : scale[h];
        acc[r][h] = _mm256_fmadd_ps(sum, row_scale, acc[r][h]);
      }
  }
  for (int r = 0; r < Rows; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(y + r * kMixedTileN + 8 * h, acc[r][h]);
}

}  // namespace

void mixed_precision_tile_avx2(const MixedTileArgs& a) {
  for_each_block<float>(a, [&](const MixedTileArgs& block) {
    const auto* x = static_cast<const float*>(block.x);
    for_code_kind(block, [&](auto bits, auto e4m3) {
      for_row_blocks<2>(block.rows, [&](auto rows, int64_t done) {
        tile<bits, e4m3, rows>(block, done, x + done, block.y + done * kMixedTileN);
      });
    });
  });
}

}  // namespace qlinear::cpu
