// store_rows with AVX-512 F/BW and F16C: a row of up to 16 columns a vector, masked past cols.
// bf16: the rounding bias 0x7fff plus the kept bit's lowest, added to the bits (NaN lanes keep
// their top half with the quiet bit set, as float_to_bf16 does); fp16: vcvtps2ph to nearest even,
// which rounds, saturates to infinity and keeps NaNs quiet as the _Float16 conversion does.
#include <immintrin.h>

#include "cpu/store_rows.hpp"

namespace qlinear::cpu {
namespace {

// v's bits as bf16, rounded to nearest even, in the low halves of the lanes.
inline __m256i bf16_bits(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i kept_lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(
      _mm512_add_epi32(bits, _mm512_add_epi32(kept_lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
}

}  // namespace

void store_rows_avx512(const TileRows& a) {
  const auto lanes = static_cast<__mmask16>(a.cols >= 16 ? 0xffff : (1u << a.cols) - 1u);
  const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(lanes, a.bias) : _mm512_setzero_ps();
  for (int64_t r = 0; r < a.rows; ++r) {
    __m512 v = _mm512_loadu_ps(a.y + r * 16);
    if (a.row_scale) v = _mm512_mul_ps(v, _mm512_set1_ps(a.row_scale[r]));
    // Two roundings, as the scalar twin's: GCC's intrinsics are vector arithmetic, which
    // -ffp-contract=fast fuses into one FMA wherever the multiply and the add share a block (as
    // they would in a loop unswitched on the row scale and the bias); the barrier keeps them apart.
    asm("" : "+v"(v));
    if (a.bias) v = _mm512_add_ps(v, bias);
    switch (a.out_type) {
      case ScalarType::bf16:
        _mm256_mask_storeu_epi16(static_cast<uint16_t*>(a.out) + r * a.out_stride, lanes,
                                 bf16_bits(v));
        break;
      case ScalarType::fp16:
        _mm256_mask_storeu_epi16(static_cast<uint16_t*>(a.out) + r * a.out_stride, lanes,
                                 _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        break;
      default:
        _mm512_mask_storeu_ps(static_cast<float*>(a.out) + r * a.out_stride, lanes, v);
        break;
    }
  }
}

}  // namespace qlinear::cpu
