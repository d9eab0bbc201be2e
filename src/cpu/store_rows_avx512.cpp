// store_rows with AVX-512 F/BW and F16C: a tile's row of up to 16 columns a vector, masked past
// cols; a pair's row of 16-bit outputs converted half by half and stored as one 64-byte vector.
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
  // Lanes of the first and second tile's columns, and 32-lane masks of a pair's 16-bit row.
  const auto lanes_of = [&](int64_t t) {
    const int64_t cols = a.cols - 16 * t;
    return static_cast<__mmask16>(cols >= 16 ? 0xffff : cols <= 0 ? 0 : (1u << cols) - 1u);
  };
  const __mmask16 lanes[2] = {lanes_of(0), lanes_of(1)};
  const __mmask32 pair_lanes = lanes[0] | static_cast<__mmask32>(lanes[1]) << 16;
  __m512 bias[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t t = 0; t < a.tiles && a.bias; ++t)
    bias[t] = _mm512_maskz_loadu_ps(lanes[t], a.bias + 16 * t);
  // Row r of tile t, scaled and biased.
  const auto value = [&](int64_t t, int64_t r) {
    __m512 v = _mm512_loadu_ps(a.y + t * a.rows * 16 + r * 16);
    if (a.row_scale) v = _mm512_mul_ps(v, _mm512_set1_ps(a.row_scale[r]));
    // Two roundings, as the scalar twin's: GCC's intrinsics are vector arithmetic, which
    // -ffp-contract=fast fuses into one FMA wherever the multiply and the add share a block (as
    // they would in a loop unswitched on the row scale and the bias); the barrier keeps them apart.
    asm("" : "+v"(v));
    if (a.bias) v = _mm512_add_ps(v, bias[t]);
    return v;
  };
  const auto half_bits = [&](__m512 v) {
    return a.out_type == ScalarType::bf16
               ? bf16_bits(v)
               : _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  };
  for (int64_t r = 0; r < a.rows; ++r) {
    if (a.out_type == ScalarType::fp32) {
      auto* out = static_cast<float*>(a.out) + r * a.out_stride;
      for (int64_t t = 0; t < a.tiles; ++t)
        _mm512_mask_storeu_ps(out + 16 * t, lanes[t], value(t, r));
      continue;
    }
    auto* out = static_cast<uint16_t*>(a.out) + r * a.out_stride;
    if (a.tiles == 2) {
      const __m512i row = _mm512_inserti64x4(_mm512_castsi256_si512(half_bits(value(0, r))),
                                             half_bits(value(1, r)), 1);
      _mm512_mask_storeu_epi16(out, pair_lanes, row);
    } else {
      _mm256_mask_storeu_epi16(out, lanes[0], half_bits(value(0, r)));
    }
  }
}

}  // namespace qlinear::cpu
