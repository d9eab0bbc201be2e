// Element conversions between the activation/output types and fp32, for the generic (non-ISA)
// files of the cpu provider. fp16 goes through the compiler's _Float16, which rounds to nearest
// even.
#pragma once

#include <cstdint>
#include <cstring>

#include "qlinear/scalar_type.hpp"

namespace qlinear::cpu {

inline float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

// Round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float fp16_to_float(uint16_t bits) {
  _Float16 half;
  std::memcpy(&half, &bits, 2);
  return static_cast<float>(half);
}

inline uint16_t float_to_fp16(float value) {
  const _Float16 half = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &half, 2);
  return bits;
}

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
