#include "cuda/mx_fragment_scales.hpp"

#include <algorithm>
#include <cmath>

#include "cuda/detail/fragments.hpp"

namespace qlinear::cuda {

std::optional<uint8_t> mx_fragment_exponent(ScalarType weight_type, ScalarType act_type,
                                            uint32_t code) {
  const bool bf16 = act_type == ScalarType::bf16, e2m1 = weight_type == ScalarType::float4_e2m1f;
  // T: exponent bias, largest normal exponent; the code format: b (the fragment's bits are the
  // value times 2^-b), smallest and largest magnitude as exponents (e2m1: 2^-1 .. 6 < 2^3; e4m3:
  // 2^-9 .. 448 < 2^9).
  const int bias = bf16 ? 127 : 15, emax = bf16 ? 127 : 15;
  const int b = e2m1 ? (bf16 ? 126 : 14) : (bf16 ? 120 : 8);
  const int smallest = e2m1 ? -1 : -9, largest_bound = e2m1 ? 3 : 9;  // |v| < 2^largest_bound
  const double largest = e2m1 ? 6.0 : 448.0, tmax = bf16 ? 0x1.fep127 : 65504.0;
  if (code == 0xff) return std::nullopt;
  const int scale = static_cast<int>(code) - 127, field = scale + b + bias;
  const bool exact = field >= 1 && field <= 2 * emax &&  // the multiplier: a normal T
                     smallest + scale >= 1 - bias &&     // the smallest product: normal
                     (largest_bound + scale <= emax || std::ldexp(largest, scale) <= tmax);
  if (!exact) return std::nullopt;
  return static_cast<uint8_t>(field);
}

std::optional<std::vector<uint8_t>> mx_fragment_scales(const LayerConfig& config,
                                                       const LayerWeights& weights, int64_t tiles,
                                                       int64_t kblocks, int block_k) {
  constexpr int kGroup = 32;
  const int64_t n = config.part_n(), k = config.part_k(), groups = config.weight_scale_shape()[1];
  const uint8_t one = *mx_fragment_exponent(config.weight_type, config.act_type, 127);
  const Tensor codes = Tensor::copy_of(weights.weight_scale, Device::cpu());
  Tensor weight;  // the weight codes, read only where a scale is out of the range
  const uint32_t magnitude = config.weight_type == ScalarType::float4_e2m1f ? 0x7u : 0x7fu;
  // Each of the 256 codes' exponent once (a layer has a scale every 32 weights: through ldexp
  // each, about a second a llama3-8b-sized load).
  std::optional<uint8_t> exponent_of[256];
  for (uint32_t code = 0; code < 256; ++code)
    exponent_of[code] = mx_fragment_exponent(config.weight_type, config.act_type, code);
  const auto* scale_codes = codes.data_as<const uint8_t>();
  std::vector<uint8_t> exponent(static_cast<size_t>(n * groups));
  for (int64_t i = 0; i < n * groups; ++i) {
    const uint32_t code = scale_codes[i];
    if (const auto e = exponent_of[code]) {
      exponent[i] = *e;
      continue;
    }
    if (code == 0xff) return std::nullopt;  // NaN: the reference's 0 · NaN is NaN
    if (!weight.defined()) weight = Tensor::copy_of(weights.weight, Device::cpu());
    const int64_t row = i / groups, begin = i % groups * kGroup;
    for (int64_t kk = begin; kk < std::min(k, begin + kGroup); ++kk)
      if ((load_code(weight, row * k + kk) & magnitude) != 0) return std::nullopt;
    exponent[i] = one;  // ±0 at any scale
  }
  // One slot a group: slot s of k-block b is group slots·b + s.
  return detail::lay_out_block_scales(
      tiles, kblocks, block_k / kGroup, [&](int64_t row, int64_t group) {
        return row < n && group < groups ? exponent[row * groups + group] : one;
      });
}

}  // namespace qlinear::cuda
