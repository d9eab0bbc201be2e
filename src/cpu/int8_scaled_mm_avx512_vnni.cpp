// The int8 dot-product tile with AVX-512 VNNI: vpdpbusd multiplies the 4 unsigned activation
// bytes of a broadcast dword (u = q + 128) by the 4 signed weight bytes of each of 16 columns and
// adds the four products to the column's int32 sum. The +128 is taken back at the end of each
// segment with the column sums (see int8_tile.hpp), so the integer result is exact.
//
// NOTES: at one or two rows the loop is bound by vpdpbusd's latency on the row's sum, so the sum
// is split over 4 / 2 chains; from 4 rows on the rows are the independent chains.
#include <immintrin.h>

#include "cpu/int8_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

constexpr int kPrefetchBytes = 8192;  // as in mixed_precision_tile.hpp: stream at one row

// acc += Σ_4 u8(a)·s8(b) per dword. NOTES: GCC 12 compiles _mm512_dpbusd_epi32 in a loop with
// two register copies per instruction (it does not tie the accumulator); the asm ties it.
inline void dpbusd(__m512i& acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

template <int Rows>
void tile(const Int8TileArgs& a, const uint8_t* x, const int32_t* shift, float* y) {
  constexpr int kChains = Rows >= 4 ? 1 : 4 / Rows;  // divides kInt8SegmentAlign / 4
  __m512 acc[Rows];
  for (int r = 0; r < Rows; ++r) acc[r] = _mm512_setzero_ps();
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kInt8TileN;
    const __m512i colsum = _mm512_loadu_si512(p);
    const __m512 scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p + 64));
    p += 128;
    __m512i sum[kChains][Rows];
    for (int c = 0; c < kChains; ++c)
      for (int r = 0; r < Rows; ++r) sum[c][r] = _mm512_setzero_si512();
    for (int64_t quad = 0; quad < length / 4; quad += kChains) {
      _mm_prefetch(reinterpret_cast<const char*>(codes) + kPrefetchBytes, _MM_HINT_T0);
      for (int c = 0; c < kChains; ++c) {
        const __m512i w = _mm512_loadu_si512(codes + c * 64);
        for (int r = 0; r < Rows; ++r) {
          int32_t xq;
          __builtin_memcpy(&xq, x + c * 4 * kInt8TileRows + 4 * r, 4);
          dpbusd(sum[c][r], _mm512_set1_epi32(xq), w);
        }
      }
      codes += kChains * 64;
      x += kChains * 4 * kInt8TileRows;
    }
    for (int r = 0; r < Rows; ++r) {
      __m512i total =
          _mm512_sub_epi32(sum[0][r], _mm512_mullo_epi32(_mm512_set1_epi32(shift[r]), colsum));
      for (int c = 1; c < kChains; ++c) total = _mm512_add_epi32(total, sum[c][r]);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), scale, acc[r]);
    }
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

void int8_tile_avx512_vnni(const Int8TileArgs& a) {
  for_row_blocks<8>(a.rows, [&](auto rows, int64_t done) {
    tile<rows>(a, a.x + 4 * done, a.shift + done, a.y + done * kInt8TileN);
  });
}

}  // namespace qlinear::cpu
