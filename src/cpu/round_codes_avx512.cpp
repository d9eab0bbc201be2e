// round_codes, NVFP4's groups and amax with AVX-512 F (their scalar twins: round_codes_scalar.cpp).
// round_codes: convert.hpp's round_saturate on 16 lanes. |v| capped at 2 · max,
// its exponent (at least the format's smallest normal one) gives the ulp and its inverse as
// powers of two, |v| / ulp rounds to nearest even by the 2^23 addition (exact below 2^23), and
// the steps times the ulp, capped at max, take the sign back. The division by the scale is IEEE
// in both twins, so the lanes hold the scalar twin's bits.
#include <immintrin.h>

#include "cpu/convert.hpp"
#include "cpu/round_codes.hpp"

namespace qlinear::cpu {
namespace {

// |v| with NaN lanes as 0: the scalar twins' std::max keeps its amax over a NaN.
inline __m512 magnitude(__m512 v) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), _mm512_abs_ps(v));
}

inline __mmask16 lanes_left(int64_t n, int64_t i) {
  return n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
}

template <int Mantissa, int MinExponent>
inline __m512 round_saturate(__m512 v, float max) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i sign = _mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512 a = _mm512_min_ps(_mm512_abs_ps(v), _mm512_set1_ps(2 * max));
  const __m512i exponent = _mm512_max_epi32(
      _mm512_sub_epi32(_mm512_srli_epi32(_mm512_castps_si512(a), 23), _mm512_set1_epi32(127)),
      _mm512_set1_epi32(MinExponent));
  const __m512 ulp = _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_add_epi32(exponent, _mm512_set1_epi32(127 - Mantissa)), 23));
  const __m512 inverse = _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(127 + Mantissa), exponent), 23));
  const __m512 two23 = _mm512_set1_ps(0x1p23f);
  const __m512 steps = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(a, inverse), two23), two23);
  const __m512 q = _mm512_min_ps(_mm512_mul_ps(steps, ulp), _mm512_set1_ps(max));
  const __m512 signed_q = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(q), sign));
  // NaN stays itself, as in the scalar twin (which returns it before any of the above).
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), signed_q, v);
}

template <bool Multiply, bool E2m1>
void round_all(const CodeRounding& a) {
  const __m512 factor = _mm512_set1_ps(a.factor);
  for (int64_t i = 0; i < a.n; i += 16) {
    const __mmask16 mask = lanes_left(a.n, i);
    const __m512 v = _mm512_maskz_loadu_ps(mask, a.v + i);
    const __m512 scaled = Multiply ? _mm512_mul_ps(v, factor) : _mm512_div_ps(v, factor);
    const __m512 q =
        E2m1 ? round_saturate<1, 0>(scaled, 6.f) : round_saturate<3, -6>(scaled, 448.f);
    _mm512_mask_storeu_ps(a.q + i, mask, q);
  }
}

}  // namespace

float amax_avx512(const float* v, int64_t n) {
  __m512 amax = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16)
    amax = _mm512_max_ps(amax, magnitude(_mm512_maskz_loadu_ps(lanes_left(n, i), v + i)));
  return _mm512_reduce_max_ps(amax);
}

void round_nvfp4_groups_avx512(const Nvfp4Rounding& a) {
  for (int64_t i = 0; i < a.n; i += 16) {
    const __mmask16 mask = lanes_left(a.n, i);
    const __m512 v = _mm512_maskz_loadu_ps(mask, a.v + i);
    const float amax = _mm512_reduce_max_ps(magnitude(v));
    const float sf = round_to_e4m3(a.global * (amax / 6.f));
    const float multiplier = sf != 0 ? 1.f / (sf * (1.f / a.global)) : 0.f;
    const __m512 codes = round_saturate<1, 0>(_mm512_mul_ps(v, _mm512_set1_ps(multiplier)), 6.f);
    _mm512_mask_storeu_ps(a.q + i, mask, _mm512_mul_ps(codes, _mm512_set1_ps(sf)));
  }
}

void round_codes_avx512(const CodeRounding& a) {
  if (a.multiply)
    a.e2m1 ? round_all<true, true>(a) : round_all<true, false>(a);
  else
    a.e2m1 ? round_all<false, true>(a) : round_all<false, false>(a);
}

}  // namespace qlinear::cpu
