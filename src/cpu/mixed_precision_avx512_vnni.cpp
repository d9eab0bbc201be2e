// The mixed-precision tile with AVX-512 BF16 (vdpbf16ps), for bf16 activations, and a pair of
// adjacent tiles in one call (32 columns) for chunks of more than one block of rows.
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
  const __m512i table = bf16_value_table(a);
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

// y[h][row0 + r] += scale_h · Σ x[r]·w_h over `positions` K positions of segment s from `codes`
// on, for the rows [row0, row0 + Rows) of one block and the two tiles h of a pair (the second's
// codes at codes + a.tile_bytes): each x broadcast feeds both tiles' column vectors, where the
// single tile's 16-row block gives each broadcast one vdpbf16ps. A step is scaled on its own (a
// segment longer than chunk_pair's step takes several), so no sums pass through memory between
// steps.
// XScales: whether the chunk has activation scales per segment (a.x_scales), at compile time so
// that a step without them scales its sums with one FMA each. Decoded: `codes` is the step's
// weights already decoded (decode_step), not packed codes.
// NOTES: the intrinsic here, not dpbf16(): in this loop, with 16 sums live, it is the asm that
// GCC 12 allocates with copies and spills (int4 4096x4096 at M = 256: 12.9 ms, 10.4 with the
// intrinsic, whose loop has one stray copy).
// NOTES: always inlined: where GCC 12 called it instead (the folded chunks' instances made the
// file larger), the e4m3 chunks' steps ran 1.3-1.5x slower (mxfp8 4096x4096 M = 64, one core).
template <int Bits, bool E4m3, bool ZeroPoints, bool XScales, bool Decoded, int Rows>
[[gnu::always_inline]] inline void step_pair(const MixedTileArgs& a, const uint8_t* codes,
                                             __m512i table, const Segment (&segment)[2], int64_t s,
                                             int64_t row0, const uint16_t* x, int64_t positions) {
  __m512 sum[2][Rows];
  for (int h = 0; h < 2; ++h)
    for (int r = 0; r < Rows; ++r) sum[h][r] = _mm512_setzero_ps();
  const __m512i offset0 = segment[0].offset, offset1 = segment[1].offset;
  for (int64_t i = 0; i < positions; i += 4) {
    __m512i w0[2], w1[2];
    if constexpr (Decoded) {
      const auto* pairs = reinterpret_cast<const __m512i*>(codes) + 2 * (i / 2);
      w0[0] = pairs[0], w1[0] = pairs[1], w0[1] = pairs[2], w1[1] = pairs[3];
    } else {
      _mm_prefetch(reinterpret_cast<const char*>(codes) + kMixedPrefetchBytes, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(codes) + a.tile_bytes + kMixedPrefetchBytes,
                   _MM_HINT_T0);
      load_two_pairs<Bits, E4m3, ZeroPoints>(codes, table, offset0, w0);
      load_two_pairs<Bits, E4m3, ZeroPoints>(codes + a.tile_bytes, table, offset1, w1);
      codes += 4 * kMixedTileN * Bits / 8;
    }
    for (int q = 0; q < 2; ++q)
      for (int r = 0; r < Rows; ++r) {
        const __m512i xr = broadcast_pair(x + 2 * r + i * kMixedTileRows + q * 2 * kMixedTileRows);
        sum[0][r] = _mm512_dpbf16_ps(sum[0][r], (__m512bh)w0[q], (__m512bh)xr);
        sum[1][r] = _mm512_dpbf16_ps(sum[1][r], (__m512bh)w1[q], (__m512bh)xr);
      }
  }
  // y of both tiles' rows in locals: read through `a` between the stores, GCC reloads a.y and
  // a.rows before each one (it cannot tell that a float store leaves them).
  float* const y_tile[2] = {a.y + row0 * kMixedTileN, a.y + (a.rows + row0) * kMixedTileN};
  for (int r = 0; r < Rows; ++r)
    for (int h = 0; h < 2; ++h) {
      float* y = y_tile[h] + r * kMixedTileN;
      __m512 scale = segment[h].scale;
      if constexpr (XScales) {
        const int64_t row = row0 + r;
        const int64_t at =
            (row / kMixedTileRows * a.segments + s) * kMixedTileRows + row % kMixedTileRows;
        scale = _mm512_mul_ps(scale, _mm512_set1_ps(a.x_scales[at]));
      }
      _mm512_storeu_ps(y, _mm512_fmadd_ps(sum[h][r], scale, _mm512_loadu_ps(y)));
    }
}

// 8-bit codes (float8_e4m3fn and integers) are decoded once per step for every block of rows
// (decode_step), in steps of this many positions: 8 KiB of bf16 pairs for the two tiles, which stay
// in L1 beside the rows' activations. 256 measured the same.
constexpr int64_t kDecodedStepPositions = 128;

// Both tiles' codes of `positions` K positions from `codes` on (the second tile's at codes +
// a.tile_bytes) as bf16 pair vectors: decoded[pair][h] for pair p of positions (2p, 2p + 1).
// NOTES: the e4m3 decode (8 instructions a pair vector) run once per 8-row block was ~20 % of the
// pair tile: fp8_block 4096x4096 M = 64 on one core, 7.10 ms, against 5.91 with the decode replaced
// by a plain load (wrong values, the bound). Decoding once per step for all blocks took 7.16 ms at
// first: the decode loop met the codes' cache misses in a burst; with the prefetch the block loop
// issues, 5.96. 8-bit integer codes (two widenings, the offset, two conversions and a bf16 pack a
// pair vector) gain as much: int8 weight-only on llama3-8b 1.06-1.22x at M = 64, 1.12-1.24x at
// 256 (bench/NOTES.md "x placed eight rows at a time"). The 4-bit codes (3 instructions a pair
// vector) gain nothing this way: int4 g128 +2 %, nvfp4 (16-position segments, a step each) -16 %.
template <int Bits, bool E4m3, bool ZeroPoints>
void decode_step(const MixedTileArgs& a, const uint8_t* codes, __m512i table,
                 const Segment (&segment)[2], int64_t positions,
                 __m512i (&decoded)[kDecodedStepPositions / 2][2]) {
  for (int64_t i = 0; i < positions; i += 4)
    for (int h = 0; h < 2; ++h) {
      const uint8_t* quad = codes + h * a.tile_bytes + i * kMixedTileN * Bits / 8;
      _mm_prefetch(reinterpret_cast<const char*>(quad) + kMixedPrefetchBytes, _MM_HINT_T0);
      __m512i w[2];
      load_two_pairs<Bits, E4m3, ZeroPoints>(quad, table, segment[h].offset, w);
      decoded[i / 2][h] = w[0], decoded[i / 2 + 1][h] = w[1];
    }
}

// Two adjacent tiles over a chunk of more than one block of rows, K step by step as run_chunk
// takes it (8-bit codes in steps of kDecodedStepPositions, decoded once for all blocks), in
// register blocks of 8 rows by 32 columns; y [2][rows][16].
template <int Bits, bool E4m3, bool ZeroPoints, bool XScales>
void chunk_pair(const MixedTileArgs& a) {
  constexpr bool kDecodeOnce = Bits == 8;  // see decode_step
  constexpr int64_t kStep = kDecodeOnce ? kDecodedStepPositions : kStepPositions;
  const __m512i table = bf16_value_table(a);
  const auto* x = static_cast<const uint16_t*>(a.x);
  for (int64_t i = 0; i < 2 * a.rows * kMixedTileN; ++i) a.y[i] = 0.f;
  const uint8_t* p[2] = {a.weights, a.weights + a.tile_bytes};
  alignas(64) __m512i decoded[kDecodedStepPositions / 2][2];
  int64_t before = 0;  // K positions of the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const Segment segment[2] = {next_segment<Bits>(a, p[0], length),
                                next_segment<Bits>(a, p[1], length)};
    for (int64_t i0 = 0; i0 < length; i0 += kStep) {
      const int64_t positions = length - i0 < kStep ? length - i0 : kStep;
      const uint8_t* codes = segment[0].codes + i0 * kMixedTileN * Bits / 8;
      if constexpr (kDecodeOnce) {
        decode_step<Bits, E4m3, ZeroPoints>(a, codes, table, segment, positions, decoded);
        codes = reinterpret_cast<const uint8_t*>(decoded);
      }
      for_row_blocks<8>(a.rows, [&](auto rows, int64_t row0) {
        const uint16_t* block = x + (row0 / kMixedTileRows) * a.x_block_stride +
                                2 * (row0 % kMixedTileRows) + (before + i0) * kMixedTileRows;
        step_pair<Bits, E4m3, ZeroPoints, XScales, kDecodeOnce, rows>(a, codes, table, segment, s,
                                                                      row0, block, positions);
      });
    }
    before += length;
  }
}

// The pair tile over a chunk of more than one block of rows where the segments' scales fold into
// the codes (MixedTileArgs::fold_scales): whole segments, codes times scales, are decoded into a
// step of up to kDecodedStepPositions positions, and every row block runs over the step with no
// scale, so the epilogue (16 FMAs, loads and stores) comes once a step instead of once a segment
// (16 positions for NVFP4, 32 for OCP MX); y [2][rows][16].
// NOTES: one core, 4096x4096 M = 256: nvfp4 1.10x, nvfp4_weight_only 1.13x of the per-segment
// epilogue (the codes decoded once per row block); M = 64 within the noise. Float8 codes are not
// folded (see process_weights).
template <int Bits, bool E4m3>
void chunk_folded(const MixedTileArgs& a) {
  const __m512i table = bf16_value_table(a);
  const auto* x = static_cast<const uint16_t*>(a.x);
  for (int64_t i = 0; i < 2 * a.rows * kMixedTileN; ++i) a.y[i] = 0.f;
  const uint8_t* p[2] = {a.weights, a.weights + a.tile_bytes};
  const __m512i no_offset = _mm512_setzero_si512();
  const Segment unscaled[2] = {{nullptr, _mm512_set1_ps(1.f), no_offset},
                               {nullptr, _mm512_set1_ps(1.f), no_offset}};
  alignas(64) __m512i decoded[kDecodedStepPositions / 2][2];
  int64_t first = 0;   // K position of the step's first position
  int64_t filled = 0;  // positions of the step decoded
  const auto run_step = [&] {
    for_row_blocks<8>(a.rows, [&](auto rows, int64_t row0) {
      const uint16_t* block = x + (row0 / kMixedTileRows) * a.x_block_stride +
                              2 * (row0 % kMixedTileRows) + first * kMixedTileRows;
      step_pair<Bits, E4m3, false, false, true, rows>(a, reinterpret_cast<const uint8_t*>(decoded),
                                                      table, unscaled, 0, row0, block, filled);
    });
    first += filled, filled = 0;
  };
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const Segment segment[2] = {next_segment<Bits>(a, p[0], length),
                                next_segment<Bits>(a, p[1], length)};
    for (int64_t i0 = 0; i0 < length;) {  // a segment longer than a step takes several
      if (filled == kDecodedStepPositions) run_step();
      const int64_t room = kDecodedStepPositions - filled;
      const int64_t positions = length - i0 < room ? length - i0 : room;
      for (int64_t i = 0; i < positions; i += 4)
        for (int h = 0; h < 2; ++h) {
          const uint8_t* quad = segment[h].codes + (i0 + i) * kMixedTileN * Bits / 8;
          _mm_prefetch(reinterpret_cast<const char*>(quad) + kMixedPrefetchBytes, _MM_HINT_T0);
          __m512i w[2];
          load_two_pairs<Bits, E4m3, false>(quad, table, segment[h].offset, w);
          decoded[(filled + i) / 2][h] = fold_scale(w[0], segment[h].scale);
          decoded[(filled + i) / 2 + 1][h] = fold_scale(w[1], segment[h].scale);
        }
      filled += positions, i0 += positions;
    }
  }
  if (filled > 0) run_step();
}

}  // namespace

void mixed_precision_tile_avx512_vnni(const MixedTileArgs& a) {
  for_code_kind(a, [&](auto bits, auto e4m3) { chunk<bits, e4m3>(a); });
}

void mixed_precision_tile_pair_avx512_vnni(const MixedTileArgs& a) {
  if (a.rows <= kMixedTileRows) {
    run_pair_as_singles<kMixedTileN>(a, mixed_precision_tile_avx512_vnni);
    return;
  }
  // The 4-bit zero-point choice at compile time: a branch in the loop keeps its constants live
  // beside the 16 sums, and GCC spills sums. Zero points and activation scales per segment do not
  // meet (integer weights have no quantized activations here).
  // This tile folds the scales of 4-bit codes only (see process_weights).
  for_code_kind(a, [&](auto bits, auto e4m3) {
    if constexpr (bits == 4) {
      if (a.zero_points) return chunk_pair<bits, e4m3, true, false>(a);
      if (a.fold_scales) return chunk_folded<bits, e4m3>(a);
    }
    if (a.x_scales)
      chunk_pair<bits, e4m3, false, true>(a);
    else
      chunk_pair<bits, e4m3, false, false>(a);
  });
}

}  // namespace qlinear::cpu
