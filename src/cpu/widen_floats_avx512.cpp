// widen_floats with AVX-512 F/BW: 16 elements a step, the last step masked.
#include <immintrin.h>

#include "cpu/widen_floats.hpp"

namespace qlinear::cpu {

void widen_floats_avx512(const FloatWidening& a) {
  for (int64_t i = 0; i < a.count; i += 16) {
    const int64_t left = a.count - i;
    const auto lanes = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1u);
    const __m256i bits = _mm256_maskz_loadu_epi16(lanes, a.src + i);
    const __m512 values =
        a.bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16))
               : _mm512_cvtph_ps(bits);
    _mm512_mask_storeu_ps(a.out + i, lanes, values);
  }
}

}  // namespace qlinear::cpu
