// The int8 dot-product tile with AVX-512 VNNI, and a pair of adjacent tiles in one call (32
// columns) for chunks of more than one block of rows: vpdpbusd multiplies the 4 unsigned activation
// bytes of a broadcast dword (u = q + 128) by the 4 signed weight bytes of each of 16 columns and
// adds the four products to the column's int32 sum. The +128 is taken back at the end of each
// segment with the column sums (see int8_tile.hpp), so the integer result is exact.
//
// NOTES: at one or two rows the loop is bound by vpdpbusd's latency on the row's sum, so the sum
// is split over 4 / 2 chains; from 4 rows on the rows are the independent chains. The int32 sums
// of a segment live in a buffer between K steps (see kStepQuads).
#include <immintrin.h>

#include "cpu/avx512_int8.hpp"
#include "cpu/int8_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

constexpr int kPrefetchBytes = 8192;  // as in mixed_precision_tile.hpp: stream at one row
// K is taken 512 positions at a time for every row block of the chunk: the tile's 8 KiB of
// weights for those positions stay in L1 while each block's activations stream from L2.
constexpr int64_t kStepQuads = 128;

// acc += Σ_4 u8(a)·s8(b) per dword. NOTES: GCC 12 compiles _mm512_dpbusd_epi32 in a loop with
// two register copies per instruction (it does not tie the accumulator); the asm ties it.
inline void dpbusd(__m512i& acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

template <int Rows>
inline constexpr int kChains = Rows >= 4 ? 1 : 4 / Rows;  // divides kInt8SegmentAlign / 4

// sum[c][r] += Σ_{quads} u[r]·w for the Rows rows of one block from x on, quad q into chain
// q % Chains.
template <int Bits, int Rows, int Chains>
inline void accumulate(const uint8_t* codes, const uint8_t* x, int64_t quads,
                       __m512i (&sum)[Chains][Rows]) {
  constexpr int kQuadBytes = 4 * kInt8TileN * Bits / 8;
  for (int64_t quad = 0; quad < quads; quad += Chains) {
    _mm_prefetch(reinterpret_cast<const char*>(codes) + kPrefetchBytes, _MM_HINT_T0);
    for (int c = 0; c < Chains; ++c) {
      const __m512i w = quad_weights<Bits>(codes + c * kQuadBytes);
      for (int r = 0; r < Rows; ++r) {
        int32_t xq;
        __builtin_memcpy(&xq, x + c * 4 * kInt8TileRows + 4 * r, 4);
        dpbusd(sum[c][r], _mm512_set1_epi32(xq), w);
      }
    }
    codes += Chains * kQuadBytes;
    x += Chains * 4 * kInt8TileRows;
  }
}

// sums[r][16] += the same, through registers (the K-stepped path).
template <int Bits, int Rows>
void step(const uint8_t* codes, const uint8_t* x, int64_t quads, int32_t* sums) {
  __m512i sum[kChains<Rows>][Rows];
  for (int r = 0; r < Rows; ++r) {
    sum[0][r] = _mm512_loadu_si512(sums + r * kInt8TileN);
    for (int c = 1; c < kChains<Rows>; ++c) sum[c][r] = _mm512_setzero_si512();
  }
  accumulate<Bits>(codes, x, quads, sum);
  for (int r = 0; r < Rows; ++r) {
    for (int c = 1; c < kChains<Rows>; ++c) sum[0][r] = _mm512_add_epi32(sum[0][r], sum[c][r]);
    _mm512_storeu_si512(sums + r * kInt8TileN, sum[0][r]);
  }
}

// y[r] = Σ_segments scale · fp32(Σ u·w - shift[r]·colsum) for Rows rows of one block, every sum in
// registers (a chunk of at most 8 rows: the weights stream once).
template <int Bits, int Rows>
void block_in_registers(const Int8TileArgs& a, const uint8_t* x, const int32_t* shift, float* y) {
  __m512 acc[Rows];
  for (int r = 0; r < Rows; ++r) acc[r] = _mm512_setzero_ps();
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const auto [codes, quads, colsum, scale] = next_segment<Bits>(a, s, p);
    __m512i sum[kChains<Rows>][Rows];
    for (int c = 0; c < kChains<Rows>; ++c)
      for (int r = 0; r < Rows; ++r) sum[c][r] = _mm512_setzero_si512();
    accumulate<Bits>(codes, x, quads, sum);
    for (int r = 0; r < Rows; ++r) {
      for (int c = 1; c < kChains<Rows>; ++c) sum[0][r] = _mm512_add_epi32(sum[0][r], sum[c][r]);
      acc[r] = finish_segment(sum[0][r], shift[r], colsum, scale, acc[r]);
    }
    x += quads * 4 * kInt8TileRows;
  }
  for (int r = 0; r < Rows; ++r) _mm512_storeu_ps(y + r * kInt8TileN, acc[r]);
}

// 16 activations from i on (fewer under `mask`) as fp32; masked-off lanes are 0.
inline __m512 load16(const void* x, int type, int64_t i, __mmask16 mask) {
  switch (type) {
    case 0: {
      const __m256i bits = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(x) + i);
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
    }
    case 1:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(x) + i));
    default:
      return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(x) + i);
  }
}

inline __mmask16 mask_of(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

}  // namespace

RowStats row_stats_avx512(const void* x, int type, int64_t n) {
  const __m512 first = _mm512_set1_ps(_mm512_cvtss_f32(load16(x, type, 0, 1)));
  __m512 lo = first, hi = first, amax = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = mask_of(n - i);
    const __m512 v = load16(x, type, i, mask);
    lo = _mm512_mask_min_ps(lo, mask, lo, v);
    hi = _mm512_mask_max_ps(hi, mask, hi, v);
    amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
  }
  return {_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), _mm512_reduce_max_ps(amax)};
}

void quantize_row_avx512(const void* x, int type, int64_t n, float scale, float zero,
                         uint8_t* out) {
  const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zero);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = mask_of(n - i);
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(load16(x, type, i, mask), s),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, z), _mm512_set1_ps(-128.f)),
                      _mm512_set1_ps(127.f));
    const __m512i u = _mm512_add_epi32(_mm512_cvtps_epi32(q), _mm512_set1_epi32(128));
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtepi32_epi8(u));
  }
}

namespace {

template <int Bits>
void chunk(const Int8TileArgs& a) {
  if (a.rows <= kInt8TileRows) {
    for_row_blocks<8>(a.rows, [&](auto rows, int64_t done) {
      block_in_registers<Bits, rows>(a, a.x + 4 * done, a.shift + done, a.y + done * kInt8TileN);
    });
    return;
  }
  alignas(64) int32_t sums[kInt8ChunkRows * kInt8TileN];
  for (int64_t i = 0; i < a.rows * kInt8TileN; ++i) a.y[i] = 0.f;
  const uint8_t* p = a.weights;
  int64_t quads_before = 0;  // quads of x in the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    const auto [codes, quads, colsum, scale] = next_segment<Bits>(a, s, p);
    for (int64_t i = 0; i < a.rows * kInt8TileN; ++i) sums[i] = 0;
    for (int64_t q0 = 0; q0 < quads; q0 += kStepQuads) {
      const int64_t step_quads = quads - q0 < kStepQuads ? quads - q0 : kStepQuads;
      for (int64_t first = 0; first < a.rows; first += kInt8TileRows) {
        const uint8_t* block = a.x + (first / kInt8TileRows) * a.x_block_stride +
                               (quads_before + q0) * 4 * kInt8TileRows;
        const int64_t rows = a.rows - first < kInt8TileRows ? a.rows - first : kInt8TileRows;
        for_row_blocks<8>(rows, [&](auto rows, int64_t done) {
          step<Bits, rows>(codes + q0 * 4 * kInt8TileN * Bits / 8, block + 4 * done, step_quads,
                           sums + (first + done) * kInt8TileN);
        });
      }
    }
    for (int64_t r = 0; r < a.rows; ++r) {
      float* y = a.y + r * kInt8TileN;
      _mm512_storeu_ps(y, finish_segment(_mm512_loadu_si512(sums + r * kInt8TileN), a.shift[r],
                                         colsum, scale, _mm512_loadu_ps(y)));
    }
    quads_before += quads;
  }
}

// For the Rows rows from row0 on (one block's, x at that block's row) and the two tiles h of a
// pair (the second's codes at codes + a.tile_bytes), Σ_{quads} u[r]·w_h: each x broadcast feeds
// both tiles' vpdpbusd, where the single tile's block gives it one. Whole: the quads are a whole
// segment, whose sums start at zero and end in y[h][row0 + r] from the registers; else a step of
// a longer segment, its sums added to sums[h][row0 + r] (int32, so the segment's sum stays exact).
// With two tiles a row's sums are two chains already, so a block below 4 rows is not split more.
// NOTES: GCC 12 keeps the 16 sums of this loop in registers as written here. Tried and dropped,
// each putting the sums on the stack (a load and a store around each vpdpbusd): accumulate() over
// a third array dimension for the tiles (the single tile's sums too), a [2][Rows] array with loops
// over both, lambdas for the start and the end. _mm512_dpbusd_epi32 (the bf16 pair tile's choice)
// gives a register copy per instruction here, so the asm stays. Whole is a template parameter as
// the bf16 pair tile's NOTES say: sums zeroed or loaded under a branch went to the stack there.
template <int Bits, int Rows, bool Whole>
void step_pair(const Int8TileArgs& a, const Segment (&segment)[2], const uint8_t* codes,
               const uint8_t* x, int64_t quads, int64_t row0, int32_t* sums) {
  constexpr int kQuadBytes = 4 * kInt8TileN * Bits / 8;
  const int64_t tile_bytes = a.tile_bytes, tile_values = a.rows * kInt8TileN;
  // Tile h's sums and outputs of the block's row r at [h * tile_values + r * 16] from these on.
  int32_t* const block_sums = sums + row0 * kInt8TileN;
  float* const y = a.y + row0 * kInt8TileN;
  __m512i sum0[Rows], sum1[Rows];
  for (int r = 0; r < Rows; ++r) {
    if constexpr (Whole) {
      sum0[r] = sum1[r] = _mm512_setzero_si512();
    } else {
      sum0[r] = _mm512_loadu_si512(block_sums + r * kInt8TileN);
      sum1[r] = _mm512_loadu_si512(block_sums + tile_values + r * kInt8TileN);
    }
  }
  for (int64_t quad = 0; quad < quads; ++quad) {
    _mm_prefetch(reinterpret_cast<const char*>(codes) + kPrefetchBytes, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(codes) + tile_bytes + kPrefetchBytes, _MM_HINT_T0);
    const __m512i w0 = quad_weights<Bits>(codes), w1 = quad_weights<Bits>(codes + tile_bytes);
    for (int r = 0; r < Rows; ++r) {
      int32_t xq;
      __builtin_memcpy(&xq, x + 4 * r, 4);
      const __m512i xr = _mm512_set1_epi32(xq);
      dpbusd(sum0[r], xr, w0);
      dpbusd(sum1[r], xr, w1);
    }
    codes += kQuadBytes;
    x += 4 * kInt8TileRows;
  }
  for (int r = 0; r < Rows; ++r) {
    if constexpr (Whole) {
      float* y0 = y + r * kInt8TileN;
      float* y1 = y0 + tile_values;
      const int32_t shift = a.shift[row0 + r];
      _mm512_storeu_ps(y0, finish_segment(sum0[r], shift, segment[0].colsum, segment[0].scale,
                                          _mm512_loadu_ps(y0)));
      _mm512_storeu_ps(y1, finish_segment(sum1[r], shift, segment[1].colsum, segment[1].scale,
                                          _mm512_loadu_ps(y1)));
    } else {
      _mm512_storeu_si512(block_sums + r * kInt8TileN, sum0[r]);
      _mm512_storeu_si512(block_sums + tile_values + r * kInt8TileN, sum1[r]);
    }
  }
}

// Two adjacent tiles over a chunk of more than one block of rows, K step by step as chunk() takes
// it, in register blocks of 8 rows by 32 columns; y [2][rows][16].
template <int Bits>
void chunk_pair(const Int8TileArgs& a) {
  const int64_t tile_values = a.rows * kInt8TileN;  // sums (and y) of one tile
  alignas(64) int32_t sums[2 * kInt8ChunkRows * kInt8TileN];
  for (int64_t i = 0; i < 2 * tile_values; ++i) a.y[i] = 0.f;
  const uint8_t* p[2] = {a.weights, a.weights + a.tile_bytes};
  int64_t quads_before = 0;  // quads of x in the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    const Segment segment[2] = {next_segment<Bits>(a, s, p[0]), next_segment<Bits>(a, s, p[1])};
    const int64_t quads = segment[0].quads;
    // Every row block over quads [q0, q0 + step_quads) of the segment.
    const auto step = [&](auto whole, int64_t q0, int64_t step_quads) {
      const uint8_t* codes = segment[0].codes + q0 * 4 * kInt8TileN * Bits / 8;
      for (int64_t first = 0; first < a.rows; first += kInt8TileRows) {
        const uint8_t* block = a.x + (first / kInt8TileRows) * a.x_block_stride +
                               (quads_before + q0) * 4 * kInt8TileRows;
        const int64_t rows = a.rows - first < kInt8TileRows ? a.rows - first : kInt8TileRows;
        for_row_blocks<8>(rows, [&](auto rows, int64_t done) {
          step_pair<Bits, rows, whole>(a, segment, codes, block + 4 * done, step_quads,
                                       first + done, sums);
        });
      }
    };
    if (quads <= kStepQuads) {
      step(std::true_type{}, 0, quads);
    } else {
      for (int64_t i = 0; i < 2 * tile_values; ++i) sums[i] = 0;
      for (int64_t q0 = 0; q0 < quads; q0 += kStepQuads)
        step(std::false_type{}, q0, quads - q0 < kStepQuads ? quads - q0 : kStepQuads);
      for (int h = 0; h < 2; ++h)
        for (int64_t r = 0; r < a.rows; ++r) {
          const int64_t i = h * tile_values + r * kInt8TileN;
          _mm512_storeu_ps(
              a.y + i, finish_segment(_mm512_loadu_si512(sums + i), a.shift[r], segment[h].colsum,
                                      segment[h].scale, _mm512_loadu_ps(a.y + i)));
        }
    }
    quads_before += quads;
  }
}

}  // namespace

void int8_tile_avx512_vnni(const Int8TileArgs& a) {
  if (a.code_bits == 4)
    chunk<4>(a);
  else
    chunk<8>(a);
}

void int8_tile_pair_avx512_vnni(const Int8TileArgs& a) {
  if (a.rows <= kInt8TileRows) {
    run_pair_as_singles<kInt8TileN>(a, int8_tile_avx512_vnni);
  } else if (a.code_bits == 4) {
    chunk_pair<4>(a);
  } else {
    chunk_pair<8>(a);
  }
}

}  // namespace qlinear::cpu
