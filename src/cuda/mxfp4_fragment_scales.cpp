#include "cuda/mxfp4_fragment_scales.hpp"

#include <algorithm>

#include "cuda/detail/fragments.hpp"

namespace qlinear::cuda {

std::optional<uint8_t> mxfp4_fragment_exponent(ScalarType act_type, uint32_t code) {
  const bool bf16 = act_type == ScalarType::bf16;
  const uint32_t lowest = bf16 ? 2 : 114, highest = 128;
  if (code < lowest || code > highest) return std::nullopt;
  // bf16: 2^(e - 1), field e - 1 + 127; fp16: 2^(e - 113), field e - 113 + 15.
  return static_cast<uint8_t>(bf16 ? code + 126 : code - 98);
}

std::optional<std::vector<uint8_t>> mxfp4_fragment_scales(const LayerConfig& config,
                                                          const LayerWeights& weights,
                                                          int64_t tiles, int64_t kblocks) {
  constexpr int kGroup = 32, kStepsPerGroup = kGroup / 16;
  const int64_t n = config.part_n(), k = config.part_k(), groups = config.weight_scale_shape()[1];
  const uint8_t one = *mxfp4_fragment_exponent(config.act_type, 127);
  const Tensor codes = Tensor::copy_of(weights.weight_scale, Device::cpu());
  Tensor weight;  // the weight codes, read only where a scale is out of the range
  std::vector<uint8_t> exponent(static_cast<size_t>(n * groups));
  for (int64_t i = 0; i < n * groups; ++i) {
    const uint32_t code = load_code(codes, i);
    if (const auto e = mxfp4_fragment_exponent(config.act_type, code)) {
      exponent[i] = *e;
      continue;
    }
    if (code == 0xff) return std::nullopt;  // NaN: the reference's 0 · NaN is NaN
    if (!weight.defined()) weight = Tensor::copy_of(weights.weight, Device::cpu());
    const int64_t row = i / groups, begin = i % groups * kGroup;
    for (int64_t kk = begin; kk < std::min(k, begin + kGroup); ++kk)
      if ((load_code(weight, row * k + kk) & 0x7u) != 0) return std::nullopt;
    exponent[i] = one;  // ±0 at any scale
  }
  return detail::lay_out_block_scales(tiles, kblocks, [&](int64_t row, int64_t step) {
    const int64_t group = step / kStepsPerGroup;
    return row < n && group < groups ? exponent[row * groups + group] : one;
  });
}

}  // namespace qlinear::cuda
