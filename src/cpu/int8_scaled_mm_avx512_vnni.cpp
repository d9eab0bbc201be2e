// The int8 dot-product tile with AVX-512 VNNI: vpdpbusd multiplies the 4 unsigned activation
// bytes of a broadcast dword (u = q + 128) by the 4 signed weight bytes of each of 16 columns and
// adds the four products to the column's int32 sum. The +128 is taken back at the end of each
// segment with the column sums (see int8_tile.hpp), so the integer result is exact.
//
// NOTES: at one or two rows the loop is bound by vpdpbusd's latency on the row's sum, so the sum
// is split over 4 / 2 chains; from 4 rows on the rows are the independent chains.
#include <immintrin.h>

#include "cpu/int8_tile.hpp"

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

}  // namespace

void int8_tile_avx512_vnni(const Int8TileArgs& a) {
  for (int64_t done = 0; done < a.rows;) {
    const int64_t left = a.rows - done;
    const uint8_t* x = a.x + 4 * done;
    float* y = a.y + done * kInt8TileN;
    if (left >= 8) {
      tile<8>(a, x, a.shift + done, y), done += 8;
    } else if (left >= 4) {
      tile<4>(a, x, a.shift + done, y), done += 4;
    } else if (left >= 2) {
      tile<2>(a, x, a.shift + done, y), done += 2;
    } else {
      tile<1>(a, x, a.shift + done, y), done += 1;
    }
  }
}

}  // namespace qlinear::cpu
