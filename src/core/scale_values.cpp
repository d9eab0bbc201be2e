#include "core/scale_values.hpp"

#include <cstring>

namespace qlinear {
namespace {

// An fp16 value's fp32 bits, exactly: normals re-biased, subnormals through an exact product, inf
// kept, a NaN quiet with its payload in the top mantissa bits (as F16C's vcvtph2ps gives it).
uint32_t fp16_as_fp32_bits(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16, exponent = (h >> 10) & 0x1fu,
                 mantissa = h & 0x3ffu;
  if (exponent == 0x1f)
    return sign | 0x7f800000u | mantissa << 13 | (mantissa != 0 ? 0x400000u : 0u);
  if (exponent != 0) return sign | (exponent + 112) << 23 | mantissa << 13;
  const float subnormal = static_cast<float>(mantissa) * 0x1p-24f;  // 0 for a zero
  uint32_t bits;
  std::memcpy(&bits, &subnormal, sizeof bits);
  return sign | bits;
}

}  // namespace

std::vector<float> values_as_fp32(const TensorView& s) {
  const ScalarType type = s.dtype();
  const int64_t count = s.numel();
  std::vector<float> out(static_cast<size_t>(count));
  if (type == ScalarType::fp32) {
    std::memcpy(out.data(), s.data(), out.size() * sizeof(float));
  } else if (type == ScalarType::bf16) {
    const auto* bits = s.data_as<const uint16_t>();
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t wide = uint32_t{bits[i]} << 16;
      std::memcpy(&out[i], &wide, sizeof wide);
    }
  } else if (type == ScalarType::fp16) {
    const auto* halves = s.data_as<const uint16_t>();
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t bits = fp16_as_fp32_bits(halves[i]);
      std::memcpy(&out[i], &bits, sizeof bits);
    }
  } else if (info(type).bits == 8 && info(type).is_float) {
    float value_of[256];
    for (uint32_t code = 0; code < 256; ++code)
      value_of[code] = static_cast<float>(decode(type, code));
    const auto* codes = s.data_as<const uint8_t>();
    for (int64_t i = 0; i < count; ++i) out[i] = value_of[codes[i]];
  } else {
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(load_value(s, i));
  }
  return out;
}

}  // namespace qlinear
