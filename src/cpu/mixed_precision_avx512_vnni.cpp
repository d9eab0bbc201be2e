// The mixed-precision tile with AVX-512 BF16 (vdpbf16ps), for bf16 activations.
//
// (code - offset) is an integer of at most 8 significant bits, so it is exact in bf16, and so is
// a bf16 activation: every product vdpbf16ps forms is exact and its sums are fp32, the arithmetic
// of the fp32 tiles with half the instructions per product. One 32-bit lane holds a column's pair
// of K positions (2p, 2p + 1) — the packing's nibble pair — and x's pair is one broadcast dword.
//   symmetric 4-bit: idx = b | b << 12 puts the low nibble in the low word's index bits and the
//                    high nibble in the high word's; vpermw looks both up in a 32-word table
//   zero points, 8-bit: fp32 of (code - offset) has 16 zero low bits; its high half is the bf16
// NOTES: vdpbf16ps treats bf16 subnormal inputs as zero and flushes subnormal results; values of
// x below 2^-126 do not occur in activations, and a flushed sum is below the tolerance.
#include <immintrin.h>

#include "cpu/avx512_decode.hpp"
#include "cpu/mixed_precision_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

constexpr int kMaxChains = 2;  // sums per row below 4 rows: a 4-position step has 2 pairs

// Two fp32 vectors of values exact in bf16 as one vector of bf16 pairs (lo in the low word).
inline __m512i bf16_pair(__m512 lo, __m512 hi) {
  return _mm512_mask_blend_epi16(0xaaaaaaaau, _mm512_srli_epi32(_mm512_castps_si512(lo), 16),
                                 _mm512_castps_si512(hi));
}

inline __m512 integer_value(__m512i code, __m512i offset) {
  return _mm512_cvtepi32_ps(_mm512_sub_epi32(code, offset));
}

// Column pairs of K positions (i, i + 1) for i = k0 and k0 + 2, as bf16 pairs.
template <int Bits, bool E4m3>
inline void load_two_pairs(const MixedTileArgs& a, const uint8_t* codes, __m512i table,
                           __m512i offset, __m512i w[2]) {
  const auto bytes = [&](int row) {
    return _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + row * kMixedTileN)));
  };
  for (int q = 0; q < 2; ++q) {
    if constexpr (Bits == 4) {
      const __m512i b = bytes(q);
      if (!a.zero_points)
        w[q] = _mm512_permutexvar_epi16(_mm512_or_si512(b, _mm512_slli_epi32(b, 12)), table);
      else
        w[q] = bf16_pair(integer_value(_mm512_and_si512(b, _mm512_set1_epi32(0xf)), offset),
                         integer_value(_mm512_srli_epi32(b, 4), offset));
    } else if constexpr (E4m3) {
      w[q] = bf16_pair(e4m3_to_fp32(bytes(2 * q)), e4m3_to_fp32(bytes(2 * q + 1)));
    } else {
      w[q] =
          bf16_pair(integer_value(bytes(2 * q), offset), integer_value(bytes(2 * q + 1), offset));
    }
  }
}

// acc += a[2i]·b[2i] + a[2i+1]·b[2i+1] per fp32 lane. NOTES: GCC 12 compiles _mm512_dpbf16_ps in a
// loop with register copies around each instruction (it does not tie the accumulator); the asm
// ties it.
inline void dpbf16(__m512& acc, __m512i a, __m512i b) {
  asm("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

inline __m512i broadcast_pair(const uint16_t* x) {
  int32_t pair;
  __builtin_memcpy(&pair, x, 4);
  return _mm512_set1_epi32(pair);
}

// sum[c][r] += x[r]·w over `positions` K positions of the tile's codes from `codes` on, for Rows
// rows (up to 16: rows 8.. from the next block, `x_next`), pair q of each 4 into chain q % Chains.
template <int Bits, bool E4m3, int Rows, int Chains>
inline void accumulate(const MixedTileArgs& a, const uint8_t* codes, __m512i table, __m512i offset,
                       const uint16_t* x, const uint16_t* x_next, int64_t positions,
                       __m512 (&sum)[Chains][Rows]) {
  for (int64_t i = 0; i < positions; i += 4) {
    __m512i w[2];
    _mm_prefetch(reinterpret_cast<const char*>(codes) + kMixedPrefetchBytes, _MM_HINT_T0);
    load_two_pairs<Bits, E4m3>(a, codes, table, offset, w);
    codes += 4 * kMixedTileN * Bits / 8;
    for (int q = 0; q < 2; ++q)
      for (int r = 0; r < Rows; ++r) {
        const uint16_t* row = r < kMixedTileRows ? x + 2 * r : x_next + 2 * (r - kMixedTileRows);
        dpbf16(sum[q % Chains][r], w[q],
               broadcast_pair(row + i * kMixedTileRows + q * 2 * kMixedTileRows));
      }
  }
}

// part[r][16] += the same, through registers (the K-stepped path of run_chunk).
template <int Bits, bool E4m3, int Rows>
void step(const MixedTileArgs& a, const uint8_t* codes, __m512i table, __m512i offset,
          const uint16_t* x, const uint16_t* x_next, int64_t positions, float* part) {
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

template <int Bits, bool E4m3>
void chunk(const MixedTileArgs& a) {
  // bf16 of values[t mod 16] for t in [0, 32) (the 4-bit values are exact in bf16).
  alignas(64) uint16_t table_words[32];
  for (int t = 0; t < 32; ++t) {
    uint32_t bits;
    __builtin_memcpy(&bits, a.values + (t & 15), 4);
    table_words[t] = static_cast<uint16_t>(bits >> 16);
  }
  const __m512i table = _mm512_load_si512(table_words);
  if (a.rows <= kMixedTileRows) {
    run_rows_in_registers<Bits, 2, uint16_t, kMaxChains>(
        a, [&](auto rows, const Segment& segment, int64_t length, const uint16_t* x, auto& part) {
          accumulate<Bits, E4m3, rows>(a, segment.codes, table, segment.offset, x, x, length, part);
        });
    return;
  }
  run_chunk<Bits, 2, uint16_t>(
      a, [&](auto rows, const Segment& segment, const uint8_t* codes, const uint16_t* x,
             const uint16_t* x_next, int64_t positions, float* part) {
        step<Bits, E4m3, rows>(a, codes, table, segment.offset, x, x_next, positions, part);
      });
}

}  // namespace

void mixed_precision_tile_avx512_vnni(const MixedTileArgs& a) {
  for_code_kind(a, [&](auto bits, auto e4m3) { chunk<bits, e4m3>(a); });
}

}  // namespace qlinear::cpu
