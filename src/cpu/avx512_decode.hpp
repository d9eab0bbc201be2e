// Code decoding shared by the files compiled for AVX-512 (…_avx512.cpp, …_avx512_vnni.cpp).
// NOTES: include only from those files; the functions have internal linkage (unnamed namespace)
// so no copy compiled with AVX-512 can stand in for another file's.
#pragma once

#include <immintrin.h>

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per ISA file, see above

// float8_e4m3fn codes (zero-extended in 32-bit lanes) as fp32: moved into fp16's bit positions
// (exponent bias 15 instead of 7, subnormals included) and scaled by 2^8, exactly.
inline __m512 e4m3_to_fp32(__m512i code) {
  const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(code, _mm512_set1_epi32(0x80)), 8);
  const __m512i rest = _mm512_slli_epi32(_mm512_and_si512(code, _mm512_set1_epi32(0x7f)), 7);
  const __m256i half = _mm512_cvtepi32_epi16(_mm512_or_si512(sign, rest));
  return _mm512_mul_ps(_mm512_cvtph_ps(half), _mm512_set1_ps(256.f));
}

}  // namespace
}  // namespace qlinear::cpu
