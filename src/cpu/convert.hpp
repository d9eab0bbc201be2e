// Element conversions between the activation/output types and fp32, for the generic (non-ISA)
// files of the cpu provider: the 16-bit floats' from core/half_floats.hpp, and the rest here.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half_floats.hpp"
#include "qlinear/scalar_type.hpp"

namespace qlinear::cpu {

using qlinear::bf16_to_float;
using qlinear::float_to_bf16;
using qlinear::float_to_fp16;
using qlinear::fp16_to_float;

// v rounded to a float format with `mantissa` explicit bits and smallest normal exponent
// `min_exponent` (nearest, ties to even), saturated at ±max: the value encode(type, v, saturate)
// decodes to. Exact and branch-light: |v| is capped at 2·max (which still saturates), divided by
// its ulp (a power of two), rounded by the 2^23 addition trick, and scaled back.
inline float round_saturate(float v, int mantissa, int min_exponent, float max) {
  if (std::isnan(v)) return v;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  const uint32_t sign = bits & 0x80000000u;
  const float a = std::min(std::fabs(v), 2 * max);
  std::memcpy(&bits, &a, 4);
  const int exponent = std::max(static_cast<int>(bits >> 23) - 127, min_exponent);
  const uint32_t ulp_bits = static_cast<uint32_t>(exponent - mantissa + 127) << 23;
  const uint32_t inverse_bits = static_cast<uint32_t>(127 - (exponent - mantissa)) << 23;
  float ulp, inverse;
  std::memcpy(&ulp, &ulp_bits, 4);
  std::memcpy(&inverse, &inverse_bits, 4);
  const float steps = (a * inverse + 0x1p23f) - 0x1p23f;  // < 2^(mantissa + 3): exact RNE
  float q = std::min(steps * ulp, max);
  std::memcpy(&bits, &q, 4);
  bits |= sign;
  std::memcpy(&q, &bits, 4);
  return q;
}
inline float round_to_e4m3(float v) { return round_saturate(v, 3, -6, 448.f); }
inline float round_to_e2m1(float v) { return round_saturate(v, 1, 0, 6.f); }

// Element i of a bf16, fp16 or fp32 array as fp32.
inline float load_float(const void* data, ScalarType type, int64_t i) {
  switch (type) {
    case ScalarType::bf16:
      return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
    case ScalarType::fp16:
      return fp16_to_float(static_cast<const uint16_t*>(data)[i]);
    default:
      return static_cast<const float*>(data)[i];
  }
}

// Stores fp32 `value` as element i of a bf16, fp16 or fp32 array (one rounding).
inline void store_float(void* data, ScalarType type, int64_t i, float value) {
  switch (type) {
    case ScalarType::bf16:
      static_cast<uint16_t*>(data)[i] = float_to_bf16(value);
      break;
    case ScalarType::fp16:
      static_cast<uint16_t*>(data)[i] = float_to_fp16(value);
      break;
    default:
      static_cast<float*>(data)[i] = value;
      break;
  }
}

}  // namespace qlinear::cpu
