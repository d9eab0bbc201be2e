// pack_tile_columns with AVX-512 F/BW: 64 output bytes (4 units of 16 columns) per step, the
// step's source one dword of each column:
//
//   source   dword j = bytes u .. u+3 of column j          (lane L: columns 4L .. 4L+3)
//   vpshufb  in each lane, byte 4b + c = column 4L+c's unit u+b (lane L, dword b: unit b of its
//            4 columns)
//   vpermd   dword 4b + L = lane L's dword b: row u+b is then columns 0 .. 15 in order
//
// Blocks of 64 units take their 16 sources from 16 row loads and one 16 x 16 word transpose in
// registers (avx512_transpose.hpp); the rest of a segment from one masked gather each.
// NOTES: gathers alone packed 4 GB/s on one core of the 2-core EPYC (14336 x 4096 int4, warm
// output), the row loads and transpose 9-10 GB/s. Likely why: the 16 columns lie a stride apart,
// often a multiple of 2 KiB (K / 2 = 2048, 7168), so their lines share one or two L1 sets, and the
// 16 gathers that each read 4 bytes of every line find them evicted; a row load takes a line
// whole.
#include <immintrin.h>

#include "cpu/avx512_transpose.hpp"
#include "cpu/pack_tile_columns.hpp"

namespace qlinear::cpu {
namespace {

// In-lane byte order: byte 4b + c <- byte 4c + b (same for every lane).
inline __m512i unit_major_shuffle() {
  alignas(64) int8_t index[64];
  for (int i = 0; i < 64; ++i) index[i] = static_cast<int8_t>((i % 4) * 4 + (i % 16) / 4);
  return _mm512_load_si512(index);
}

// Dword 4b + L <- dword 4L + b.
inline __m512i row_major_permute() {
  return _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
}

// The columns a tile has, as a mask of their dwords.
inline __mmask16 present_columns(int columns) {
  return static_cast<__mmask16>((1u << columns) - 1u);
}

// `flip` in the bytes of present columns of each of the 4 rows a step stores.
inline __m512i flip_present(__mmask16 present, uint8_t flip) {
  const uint64_t bytes = present;
  return _mm512_maskz_set1_epi8(bytes | bytes << 16 | bytes << 32 | bytes << 48,
                                static_cast<char>(flip));
}

// One step: the 16 sources' 4 units each, as 4 rows of 16 columns at `out`; streamed past the
// caches where `out` starts on a line (pack_tile_columns.hpp), and then so does every step.
struct StepLayout {
  __m512i shuffle = unit_major_shuffle(), permute = row_major_permute(), flip;
  bool stream = false;
  void store(uint8_t* out, __m512i sources) const {
    const __m512i rows = _mm512_xor_si512(
        _mm512_permutexvar_epi32(permute, _mm512_shuffle_epi8(sources, shuffle)), flip);
    if (stream)
      _mm512_stream_si512(reinterpret_cast<__m512i*>(out), rows);
    else
      _mm512_storeu_si512(out, rows);
  }
};

bool starts_a_line(const uint8_t* out) { return reinterpret_cast<uintptr_t>(out) % 64 == 0; }

}  // namespace

void pack_tile_columns_avx512(const TileColumns& a) {
  const __mmask16 present = present_columns(a.columns);
  const auto stride = static_cast<int32_t>(a.stride);
  const __m512i offsets =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(stride));
  const StepLayout step{.flip = flip_present(present, a.flip), .stream = starts_a_line(a.out)};
  int64_t u = 0;
  for (; u + 64 <= a.units; u += 64) {
    __m512i rows[16], sources[16];
    for (int j = 0; j < 16; ++j)
      rows[j] = _mm512_maskz_loadu_epi32(j < a.columns ? 0xffff : 0, a.src + j * a.stride + u);
    transpose_16x16_words(rows, sources);
    for (int d = 0; d < 16; ++d) step.store(a.out + (u + 4 * d) * 16, sources[d]);
  }
  for (; u + 4 <= a.units; u += 4) {
    step.store(a.out + u * 16,
               _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), present, offsets, a.src + u, 1));
  }
  // The last 1 to 3 units.
  pack_tile_columns_scalar({a.src + u, a.stride, a.columns, a.units - u, a.flip, a.out + u * 16});
}

void pack_tile_words_avx512(const TileWords& a) {
  const __mmask16 present = present_columns(a.columns);
  const StepLayout step{.flip = flip_present(present, a.flip), .stream = starts_a_line(a.out)};
  for (int64_t u = 0; u < a.units; u += 4)
    step.store(a.out + u * 16, _mm512_maskz_loadu_epi32(present, a.src + (u / 4) * a.row_stride));
}

void pack_tile_gathered_words_avx512(const TileGatheredWords& a) {
  const __mmask16 present = present_columns(a.columns);
  const int per_word = 32 / a.bits;
  const __m512i low_bits = _mm512_set1_epi32(static_cast<int>((1u << a.bits) - 1u));
  // Column j's code at K position k in the low bits of lane j (lanes past the columns: 0).
  const auto codes_at = [&](int64_t k) {
    const __m512i words = _mm512_maskz_loadu_epi32(present, a.src + (k / per_word) * a.row_stride);
    const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(k % per_word * a.bits));
    return _mm512_and_si512(_mm512_srl_epi32(words, shift), low_bits);
  };
  if (a.bits == 8) {
    const __m128i flip = _mm_maskz_set1_epi8(present, static_cast<char>(a.flip));
    for (int64_t r = 0; r < a.count; ++r)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(a.out + r * 16),
                       _mm_xor_si128(_mm512_cvtepi32_epi8(codes_at(a.positions[r])), flip));
    return;
  }
  for (int64_t r = 0; 2 * r < a.count; ++r) {
    __m512i pair = codes_at(a.positions[2 * r]);
    if (2 * r + 1 < a.count)
      pair = _mm512_or_si512(pair, _mm512_slli_epi32(codes_at(a.positions[2 * r + 1]), 4));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(a.out + r * 16), _mm512_cvtepi32_epi8(pair));
  }
}

}  // namespace qlinear::cpu
