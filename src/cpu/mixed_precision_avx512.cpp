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
#include "cpu/tile_rows.hpp"

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
    const Segment segment = next_segment<Bits>(a, p, length);
    const uint8_t* codes = segment.codes;
    const __m512 scale = segment.scale;
    const __m512i offset = segment.offset;
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
    finish_segment(a, s, row0, scale, part, acc);
  }
  for (int r = 0; r < Rows; ++r) _mm512_storeu_ps(y + r * kMixedTileN, acc[r]);
}

}  // namespace

void mixed_precision_tile_avx512(const MixedTileArgs& a) {
  for_each_block<float>(a, [&](const MixedTileArgs& block) {
    const auto* x = static_cast<const float*>(block.x);
    for_code_kind(block, [&](auto bits, auto e4m3) {
      for_row_blocks<8>(block.rows, [&](auto rows, int64_t done) {
        tile<bits, e4m3, rows>(block, done, x + done, block.y + done * kMixedTileN);
      });
    });
  });
}

}  // namespace qlinear::cpu
