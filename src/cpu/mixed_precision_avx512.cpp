// The mixed-precision tile with AVX-512 F: one zmm holds the 16 columns of a tile in fp32.
//
// Per pair of K positions one 16-byte load brings 32 codes (4-bit) or 16 (8-bit); codes become
// fp32 values (code - offset) through a 16-entry vpermps table (symmetric 4-bit: the index is the
// nibble itself) or through vpsubd + vcvtdq2ps (zero points, 8-bit). x is broadcast from memory
// into vfmadd231ps. Each row keeps one fp32 sum per segment, scaled once at the segment's end.
//
// NOTES: at one row the loop is bound by the FMA latency of its sums, so a row spreads its sum
// over `kChains` accumulators (four K positions in flight); with four or more rows the rows are
// the independent chains (16 rows: 16 sums + 4 weights + the table). K steps: see run_chunk.
#include <immintrin.h>

#include "cpu/avx512_decode.hpp"
#include "cpu/mixed_precision_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

constexpr int kMaxChains = 4;  // sums per row below 4 rows: one per position of a 4-position step

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

// sum[c][r] += x[r]·w over `positions` K positions of the tile's codes from `codes` on, for Rows
// rows (up to 16: rows 8.. from the next block, `x_next`), position j of each 4 into chain
// j % Chains.
template <int Bits, bool E4m3, int Rows, int Chains>
inline void accumulate(const MixedTileArgs& a, const uint8_t* codes, __m512 table, __m512i offset,
                       const float* x, const float* x_next, int64_t positions,
                       __m512 (&sum)[Chains][Rows]) {
  for (int64_t i = 0; i < positions; i += 4) {
    __m512 w[4];
    _mm_prefetch(reinterpret_cast<const char*>(codes) + kMixedPrefetchBytes, _MM_HINT_T0);
    load_four<Bits, E4m3>(a, codes, table, offset, w);
    codes += 4 * kMixedTileN * Bits / 8;
    for (int j = 0; j < 4; ++j)
      for (int r = 0; r < Rows; ++r) {
        const float* row = r < kMixedTileRows ? x + r : x_next + (r - kMixedTileRows);
        sum[j % Chains][r] = _mm512_fmadd_ps(_mm512_set1_ps(row[(i + j) * kMixedTileRows]), w[j],
                                             sum[j % Chains][r]);
      }
  }
}

// part[r][16] += the same, through registers (the K-stepped path of run_chunk).
template <int Bits, bool E4m3, int Rows>
void step(const MixedTileArgs& a, const uint8_t* codes, __m512 table, __m512i offset,
          const float* x, const float* x_next, int64_t positions, float* part) {
  constexpr int kChains = Rows >= 4 ? 1 : kMaxChains;
  __m512 sum[kChains][Rows];
  for (int r = 0; r < Rows; ++r) {
    sum[0][r] = _mm512_loadu_ps(part + r * kMixedTileN);
    for (int c = 1; c < kChains; ++c) sum[c][r] = _mm512_setzero_ps();
  }
  accumulate<Bits, E4m3>(a, codes, table, offset, x, x_next, positions, sum);
  for (int r = 0; r < Rows; ++r) {
    for (int c = 1; c < kChains; ++c) sum[0][r] = _mm512_add_ps(sum[0][r], sum[c][r]);
    _mm512_storeu_ps(part + r * kMixedTileN, sum[0][r]);
  }
}

}  // namespace

void mixed_precision_tile_avx512(const MixedTileArgs& a) {
  const __m512 table = _mm512_loadu_ps(a.values);  // 4-bit codes without zero points
  for_code_kind(a, [&](auto bits, auto e4m3) {
    if (a.rows <= kMixedTileRows) {
      run_rows_in_registers<bits, 1, float, kMaxChains>(
          a, [&](auto rows, const Segment& segment, int64_t length, const float* x, auto& part) {
            accumulate<bits, e4m3, rows>(a, segment.codes, table, segment.offset, x, x, length,
                                         part);
          });
      return;
    }
    run_chunk<bits, 1, float>(
        a, [&](auto rows, const Segment& segment, const uint8_t* codes, const float* x,
               const float* x_next, int64_t positions, float* part) {
          step<bits, e4m3, rows>(a, codes, table, segment.offset, x, x_next, positions, part);
        });
  });
}

}  // namespace qlinear::cpu
