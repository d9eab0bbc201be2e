#include "core/scale_values.hpp"

#include <cstring>

#include "core/half_floats.hpp"

namespace qlinear {

std::vector<float> values_as_fp32(const TensorView& s) {
  const ScalarType type = s.dtype();
  const int64_t count = s.numel();
  std::vector<float> out(static_cast<size_t>(count));
  if (type == ScalarType::fp32) {
    std::memcpy(out.data(), s.data(), out.size() * sizeof(float));
  } else if (type == ScalarType::bf16) {
    const auto* bits = s.data_as<const uint16_t>();
    for (int64_t i = 0; i < count; ++i) out[i] = bf16_to_float(bits[i]);
  } else if (type == ScalarType::fp16) {
    const auto* halves = s.data_as<const uint16_t>();
    for (int64_t i = 0; i < count; ++i) out[i] = fp16_to_float(halves[i]);
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
