// interleave_pairs with AVX-512 F: 16 pairs (words) of each of the 8 rows, beside 8 rows of zeros,
// through the 16 x 16 word transpose; word c of the result's first 8 is pair c of rows 0..7.
#include <immintrin.h>

#include "cpu/avx512_transpose.hpp"
#include "cpu/interleave_pairs.hpp"

namespace qlinear::cpu {

void interleave_pairs_avx512(const PairRows& a) {
  constexpr int64_t kStep = 32;  // K positions: 16 words a row
  const int64_t full = a.count / kStep * kStep;
  for (int64_t i0 = 0; i0 < full; i0 += kStep) {
    __m512i v[16], t[16];
    for (int r = 0; r < 16; ++r)
      v[r] = r < 8 && a.rows[r] ? _mm512_loadu_si512(a.rows[r] + i0) : _mm512_setzero_si512();
    transpose_16x16_words(v, t);
    for (int c = 0; c < 16; ++c)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.out + (i0 / 2 + c) * 16),
                          _mm512_castsi512_si256(t[c]));
  }
  PairRows rest{{}, a.count - full, a.out + full * 8};
  for (int r = 0; r < 8; ++r) rest.rows[r] = a.rows[r] ? a.rows[r] + full : nullptr;
  interleave_pairs_scalar(rest);
}

}  // namespace qlinear::cpu
