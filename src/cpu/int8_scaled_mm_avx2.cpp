// The int8 dot-product tile with AVX2: vpmaddwd on 16-bit operands. A 16-byte load holds 4
// columns x 4 K positions; widened to int16 and multiplied with the row's 4 activations (repeated
// 4 times), it yields 2 int32 partial sums per column, folded with vphaddd at the segment's end.
// u8 x s8 products and their pairwise sums fit int32 exactly, so the sums equal the VNNI tile's.
#include <immintrin.h>

#include "cpu/int8_tile.hpp"
#include "cpu/tile_rows.hpp"

namespace qlinear::cpu {
namespace {

constexpr int kPrefetchBytes = 8192;  // as in mixed_precision_tile.hpp: stream at one row

// Columns [0, 8) from partial sums of columns 0-3 (a) and 4-7 (b), each column twice.
inline __m256i fold(__m256i a, __m256i b) {
  return _mm256_permute4x64_epi64(_mm256_hadd_epi32(a, b), 0xd8);
}

template <int Rows>
void tile(const Int8TileArgs& a, const uint8_t* x, const int32_t* shift, float* y) {
  __m256 acc[Rows][2];
  for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const uint8_t* p = a.weights;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kInt8TileN;
    const auto* colsums = reinterpret_cast<const __m256i*>(p);
    const auto* scales = reinterpret_cast<const float*>(p + 64);
    p += 128;
    __m256i sum[Rows][4];
    for (int r = 0; r < Rows; ++r)
      for (int c = 0; c < 4; ++c) sum[r][c] = _mm256_setzero_si256();
    for (int64_t quad = 0; quad < length / 4; ++quad) {
      _mm_prefetch(reinterpret_cast<const char*>(codes) + kPrefetchBytes, _MM_HINT_T0);
      __m256i w[4];
      for (int c = 0; c < 4; ++c)
        w[c] =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + 16 * c)));
      for (int r = 0; r < Rows; ++r) {
        int32_t xq;
        __builtin_memcpy(&xq, x + 4 * r, 4);
        const __m256i xv = _mm256_cvtepu8_epi16(_mm_set1_epi32(xq));
        for (int c = 0; c < 4; ++c)
          sum[r][c] = _mm256_add_epi32(sum[r][c], _mm256_madd_epi16(xv, w[c]));
      }
      codes += 64;
      x += 4 * kInt8TileRows;
    }
    for (int r = 0; r < Rows; ++r)
      for (int h = 0; h < 2; ++h) {
        const __m256i total = _mm256_sub_epi32(
            fold(sum[r][2 * h], sum[r][2 * h + 1]),
            _mm256_mullo_epi32(_mm256_set1_epi32(shift[r]), _mm256_loadu_si256(colsums + h)));
        acc[r][h] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_loadu_ps(scales + 8 * h), acc[r][h]);
      }
  }
  for (int r = 0; r < Rows; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(y + r * kInt8TileN + 8 * h, acc[r][h]);
}

}  // namespace

void int8_tile_avx2(const Int8TileArgs& a) {
  for (int64_t first = 0; first < a.rows; first += kInt8TileRows) {
    const uint8_t* block = a.x + (first / kInt8TileRows) * a.x_block_stride;
    const int64_t rows = a.rows - first < kInt8TileRows ? a.rows - first : kInt8TileRows;
    for_row_blocks<2>(rows, [&](auto rows, int64_t done) {
      tile<rows>(a, block + 4 * done, a.shift + first + done, a.y + (first + done) * kInt8TileN);
    });
  }
}

}  // namespace qlinear::cpu
