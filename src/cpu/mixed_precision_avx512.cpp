// The mixed-precision tile with AVX-512 F: one zmm holds the 16 columns of a tile in fp32.
//
// Per pair of K positions one 16-byte load brings 32 codes (4-bit) or 16 (8-bit); codes become
// fp32 values (code - offset) through a 16-entry vpermps table (symmetric 4-bit: the index is the
// nibble itself) or through vpsubd + vcvtdq2ps (zero points, 8-bit). x is broadcast from memory
// into vfmadd231ps. Each row keeps one fp32 sum per segment, scaled once at the segment's end.
//
// NOTES: at one row the loop is bound by the FMA latency of its sums, so a row spreads its sum
// over `kChains` accumulators (four K positions in flight); with four or more rows the rows are
// the independent chains and one accumulator each keeps registers free (8 rows: 8 sums + 8
// segment sums + 4 weights).
#include <immintrin.h>

#include "cpu/avx512_decode.hpp"
#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {

// The 16 columns of K positions k0..k0+3 of a segment, as fp32 values.
template <int Bits, bool E4m3>
inline void load_four(const MixedTileArgs& a, const uint8_t* codes, __m512 table, __m512i offset,
                      __m512 w[4]) {
  const auto bytes = [&](int row) {
    return _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + row * kMixedTileN)));
  };
  if constexpr (Bits == 4) {
    const __m512i pair0 = bytes(0), pair1 = bytes(1);
    const __m512i nibbles[4] = {pair0, _mm512_srli_epi32(pair0, 4), pair1,
                                _mm512_srli_epi32(pair1, 4)};
    for (int i = 0; i < 4; ++i) {
      if (!a.zero_points) {
        w[i] = _mm512_permutexvar_ps(nibbles[i], table);  // uses the low 4 bits of each index
      } else {
        const __m512i code = _mm512_and_si512(nibbles[i], _mm512_set1_epi32(0xf));
        w[i] = _mm512_cvtepi32_ps(_mm512_sub_epi32(code, offset));
      }
    }
  } else {
    for (int i = 0; i < 4; ++i)
      w[i] = E4m3 ? e4m3_to_fp32(bytes(i)) : _mm512_cvtepi32_ps(_mm512_sub_epi32(bytes(i), offset));
  }
}

template <int Bits, bool E4m3, int Rows>
void tile(const MixedTileArgs& a, int64_t row0, const float* x, float* y) {
  constexpr int kChains = Rows >= 4 ? 1 : 4;
  __m512 acc[Rows];
  for (int r = 0; r < Rows; ++r) acc[r] = _mm512_setzero_ps();
  const __m512 table = _mm512_loadu_ps(a.values);  // 4-bit codes without zero points
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kMixedTileN * Bits / 8;
    const __m512 scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p));
    p += kMixedTileN * 4;
    __m512i offset = _mm512_set1_epi32(a.code_offset);
    if (a.zero_points) {
      offset = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      p += kMixedTileN;
    }
    __m512 part[kChains][Rows];
    for (int c = 0; c < kChains; ++c)
      for (int r = 0; r < Rows; ++r) part[c][r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < length; i += 4) {
      __m512 w[4];
      _mm_prefetch(reinterpret_cast<const char*>(codes) + kMixedPrefetchBytes, _MM_HINT_T0);
      load_four<Bits, E4m3>(a, codes, table, offset, w);
      codes += 4 * kMixedTileN * Bits / 8;
      for (int j = 0; j < 4; ++j)
        for (int r = 0; r < Rows; ++r)
          part[j % kChains][r] = _mm512_fmadd_ps(_mm512_set1_ps(x[j * kMixedTileRows + r]), w[j],
                                                 part[j % kChains][r]);
      x += 4 * kMixedTileRows;
    }
    for (int r = 0; r < Rows; ++r) {
      __m512 sum = part[0][r];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, part[c][r]);
      const __m512 row_scale =
          a.x_scales
              ? _mm512_mul_ps(scale, _mm512_set1_ps(a.x_scales[s * kMixedTileRows + row0 + r]))
              : scale;
      acc[r] = _mm512_fmadd_ps(sum, row_scale, acc[r]);
    }
  }
  for (int r = 0; r < Rows; ++r) _mm512_storeu_ps(y + r * kMixedTileN, acc[r]);
}

template <int Bits, bool E4m3>
void rows_in_blocks(const MixedTileArgs& a) {
  const auto* x = static_cast<const float*>(a.x);
  for (int64_t done = 0; done < a.rows;) {
    const int64_t left = a.rows - done;
    float* y = a.y + done * kMixedTileN;
    if (left >= 8) {
      tile<Bits, E4m3, 8>(a, done, x + done, y), done += 8;
    } else if (left >= 4) {
      tile<Bits, E4m3, 4>(a, done, x + done, y), done += 4;
    } else if (left >= 2) {
      tile<Bits, E4m3, 2>(a, done, x + done, y), done += 2;
    } else {
      tile<Bits, E4m3, 1>(a, done, x + done, y), done += 1;
    }
  }
}

}  // namespace

void mixed_precision_tile_avx512(const MixedTileArgs& a) {
  if (a.bits == 4)
    rows_in_blocks<4, false>(a);
  else if (a.e4m3)
    rows_in_blocks<8, true>(a);
  else
    rows_in_blocks<8, false>(a);
}

}  // namespace qlinear::cpu
