// The mixed-precision tile with AVX2 + FMA: the 16 columns of a tile are two ymm of fp32.
// Codes become fp32 (code - offset) through vpmovzxbd, vpsubd and vcvtdq2ps; x is broadcast into
// vfmadd231ps; each row keeps one fp32 sum per segment, scaled once at the segment's end — the
// arithmetic of mixed_precision_scalar.cpp.
//
// NOTES: 16 ymm registers hold two rows (4 sums + 4 segment sums + 4 weights + offsets); at one
// row the sums are split over the two positions of a pair so that two FMAs are in flight.
#include <immintrin.h>

#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {

// w[position][half]: K positions (i, i + 1), column halves [0, 8) and [8, 16), as fp32.
template <int Bits>
inline void load_pair(const uint8_t* codes, const __m256i offset[2], __m256 w[2][2]) {
  for (int h = 0; h < 2; ++h) {
    if constexpr (Bits == 4) {
      const __m256i b =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + 8 * h)));
      const __m256i low = _mm256_and_si256(b, _mm256_set1_epi32(0xf));
      w[0][h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(low, offset[h]));
      w[1][h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b, 4), offset[h]));
    } else {
      for (int i = 0; i < 2; ++i) {
        const __m256i b = _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + i * kMixedTileN + 8 * h)));
        w[i][h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(b, offset[h]));
      }
    }
  }
}

template <int Bits, int Rows>
void tile(const MixedTileArgs& a, const float* x, float* y) {
  constexpr int kChains = Rows == 1 ? 2 : 1;
  __m256 acc[Rows][2];
  for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kMixedTileN * Bits / 8;
    const auto* scales = reinterpret_cast<const float*>(p);
    const __m256 scale[2] = {_mm256_loadu_ps(scales), _mm256_loadu_ps(scales + 8)};
    p += kMixedTileN * 4;
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
      load_pair<Bits>(codes, offset, w);
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
        acc[r][h] = _mm256_fmadd_ps(sum, scale[h], acc[r][h]);
      }
  }
  for (int r = 0; r < Rows; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(y + r * kMixedTileN + 8 * h, acc[r][h]);
}

template <int Bits>
void rows_in_blocks(const MixedTileArgs& a) {
  const auto* x = static_cast<const float*>(a.x);
  for (int64_t done = 0; done < a.rows;) {
    float* y = a.y + done * kMixedTileN;
    if (a.rows - done >= 2) {
      tile<Bits, 2>(a, x + done, y), done += 2;
    } else {
      tile<Bits, 1>(a, x + done, y), done += 1;
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
