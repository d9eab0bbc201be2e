// mxfp8_weight_only_mma_sm80 against the reference on the GPU: the family's conformance configs,
// every finite e4m3 code (subnormals included) at every fragment position and every e8m0 scale at
// its row and group exactly, bf16 and fp16, on both of its paths (scales in the fragment where
// that is exact, folded per group elsewhere: cuda/detail/mxfp8_weights.cuh), bias, shapes off the
// tiles (N not a multiple of 16 or 256, K not a multiple of 64), a layer split over K, and M in
// row chunks past one launch's 1024 tokens. Its limits: mixed_input_mma_sm80_limits_test.cpp; the
// fragment's exact range: mx_fragment_scales_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

constexpr Family kFamily = Family::mxfp8_weight_only;

TEST(Mxfp8WeightOnlyMmaSm80, ConformanceConfigs) {
  // The family's two configs: bf16, and fp16 with bias
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_mxfp8_weight_only_mma_sm80()), 2);
}

// Scales 2^-3 .. 2^3 (codes 124 .. 130), the fragment's to apply in bf16 and fp16.
TEST(Mxfp8WeightOnlyMmaSm80, EveryCodeExact) {
  const auto kernel = cuda::make_mxfp8_weight_only_mma_sm80();
  const uint32_t scales[] = {124, 125, 126, 127, 128, 129, 130};
  LayerConfig fp16 = default_config(kFamily, 264, 96);
  fp16.act_type = T::fp16;
  EXPECT_TRUE(testing::scales_in_fragment(*kernel, default_config(kFamily, 72, 256), scales));
  EXPECT_TRUE(testing::scales_in_fragment(*kernel, fp16, scales));
  testing::expect_every_mxfp8_weight_only_code_exact(*kernel);
}

// Scales past the fragment's exact range: folded per group in fp32, exactly.
TEST(Mxfp8WeightOnlyMmaSm80, ScalesOutsideTheFragmentAreFolded) {
  testing::expect_scales_outside_the_fragment_exact(*cuda::make_mxfp8_weight_only_mma_sm80(),
                                                    kFamily, testing::scales_in_fragment);
}

TEST(Mxfp8WeightOnlyMmaSm80, ShapesOffTheTiles) {
  LayerConfig small = default_config(kFamily, 33, 96);  // 1 row into a third tile
  LayerConfig fp16 = default_config(kFamily, 300, 480);
  fp16.act_type = fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1056);  // N past 256 rows, K = 33 k-blocks
  wide.out_type = T::fp32, wide.bias = true;
  testing::expect_shapes_conform(*cuda::make_mxfp8_weight_only_mma_sm80(), {small, fp16, wide});
}
TEST(Mxfp8WeightOnlyMmaSm80, SplitOverKAndManyTokens) {
  testing::expect_split_over_k_and_many_tokens(*cuda::make_mxfp8_weight_only_mma_sm80(),
                                               [](LayerConfig&) {});
}

}  // namespace
}  // namespace qlinear
