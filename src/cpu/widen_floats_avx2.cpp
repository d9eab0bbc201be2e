// widen_floats with AVX2 and F16C: 8 elements a step.
#include <immintrin.h>

#include "cpu/widen_floats.hpp"

namespace qlinear::cpu {

void widen_floats_avx2(const FloatWidening& a) {
  int64_t i = 0;
  for (; i + 8 <= a.count; i += 8) {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.src + i));
    const __m256 values =
        a.bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16))
               : _mm256_cvtph_ps(bits);
    _mm256_storeu_ps(a.out + i, values);
  }
  widen_floats_scalar({a.src + i, a.count - i, a.bf16, a.out + i});  // the last 0 to 7
}

}  // namespace qlinear::cpu
