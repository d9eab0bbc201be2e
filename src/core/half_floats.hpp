// bf16 and fp16 to and from fp32, one element at a time, for host code of every provider (the CPU
// kernels' generic files, the scales' conversion at load, the Hopper kernels' scale pairs).
// Rounding is to nearest even; a NaN stays a quiet NaN. fp16 is widened on its bits (exact, as
// F16C's vcvtph2ps: the CPU widening's vector twins are tested against it on every value) and
// narrowed by the compiler's _Float16.
#pragma once

#include <cstdint>
#include <cstring>

namespace qlinear {

inline float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Normals re-biased, subnormals through an exact product, infinities kept, a NaN quiet with its
// payload in the top mantissa bits.
inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16, exponent = (h >> 10) & 0x1fu,
                 mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | mantissa << 13 | (mantissa != 0 ? 0x400000u : 0u);
  } else if (exponent != 0) {
    bits = sign | (exponent + 112) << 23 | mantissa << 13;
  } else {
    const float subnormal = static_cast<float>(mantissa) * 0x1p-24f;  // 0 for a zero
    std::memcpy(&bits, &subnormal, 4);
    bits |= sign;
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

inline uint16_t float_to_fp16(float value) {
  const _Float16 half = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &half, 2);
  return bits;
}

}  // namespace qlinear
