// fp8_weight_only_mma_sm80 against the reference on the GPU: the family's conformance configs,
// every finite e4m3 code (subnormals included) at every fragment position with per-channel
// power-of-two scales exactly, per-tensor and per-channel scales, bf16 and fp16, bias, shapes off
// the tiles, a layer split over K, and M in row chunks past one launch's 1024 tokens.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

constexpr Family kFamily = Family::fp8_weight_only;

TEST(Fp8WeightOnlyMmaSm80, ConformanceConfigs) {
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_fp8_weight_only_mma_sm80()), 1);
}

TEST(Fp8WeightOnlyMmaSm80, EveryCodeExact) {
  const auto kernel = cuda::make_fp8_weight_only_mma_sm80();
  const std::vector<uint32_t> codes = testing::every_finite_e4m3_code();
  LayerConfig fp16 = default_config(kFamily, 264, 96);
  fp16.act_type = T::fp16, fp16.weight_scale = Granularity::per_tensor;
  testing::expect_every_code_exact(*kernel, default_config(kFamily, 72, 256), codes, 1);
  testing::expect_every_code_exact(*kernel, fp16, codes, 2);
}

TEST(Fp8WeightOnlyMmaSm80, ShapesOffTheTiles) {
  LayerConfig small = default_config(kFamily, 33, 96);
  LayerConfig tensor = default_config(kFamily, 300, 488);  // K % 16 = 8
  tensor.weight_scale = Granularity::per_tensor;
  tensor.act_type = tensor.out_type = T::fp16, tensor.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1056);
  wide.out_type = T::fp32, wide.bias = true;
  testing::expect_shapes_conform(*cuda::make_fp8_weight_only_mma_sm80(), {small, tensor, wide});
}

TEST(Fp8WeightOnlyMmaSm80, SplitOverKAndManyTokens) {
  testing::expect_split_over_k_and_many_tokens(
      *cuda::make_fp8_weight_only_mma_sm80(),
      [](LayerConfig& c) { c.weight_scale = Granularity::per_tensor; });
}

}  // namespace
}  // namespace qlinear
