// nvfp4_weight_only_mma_sm80 against the reference on the GPU: the family's conformance configs,
// every e2m1 code at every fragment position and every positive e4m3 block scale (subnormals
// included) at its row and group exactly, bf16 and fp16, bias, shapes off the tiles (N not a
// multiple of 16 or 256, K not a multiple of 64), a layer split over K, and M past one
// launch's 1024 tokens (row chunks). Its limits: mixed_input_mma_sm80_limits_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

constexpr Family kFamily = Family::nvfp4_weight_only;

TEST(Nvfp4WeightOnlyMmaSm80, ConformanceConfigs) {
  // The family's two configs: bf16, and fp16 with bias
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_nvfp4_weight_only_mma_sm80()), 2);
}

TEST(Nvfp4WeightOnlyMmaSm80, EveryCodeExact) {
  testing::expect_every_nvfp4_weight_only_code_exact(*cuda::make_nvfp4_weight_only_mma_sm80());
}

TEST(Nvfp4WeightOnlyMmaSm80, ShapesOffTheTiles) {
  LayerConfig small = default_config(kFamily, 33, 48);  // 1 row into a third tile; K < one k-block
  LayerConfig fp16 = default_config(kFamily, 300, 464);
  fp16.act_type = fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1040);  // N past 256 rows
  wide.out_type = T::fp32, wide.bias = true;
  testing::expect_shapes_conform(*cuda::make_nvfp4_weight_only_mma_sm80(), {small, fp16, wide});
}
TEST(Nvfp4WeightOnlyMmaSm80, SplitOverKAndManyTokens) {
  testing::expect_split_over_k_and_many_tokens(*cuda::make_nvfp4_weight_only_mma_sm80(),
                                               [](LayerConfig&) {});
}

}  // namespace
}  // namespace qlinear
