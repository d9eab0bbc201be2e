// mxfp4_weight_only_wgmma_sm90 against the reference on a Hopper GPU: the family's conformance
// configs, every e2m1 code at every fragment position with e8m0 scales 2^-3 .. 2^3 at their rows
// and groups exactly, bf16 and fp16, bias, shapes off its tiles (N off 128 rows, K off the 64 of a
// k-block and the 128 of a stage), split K and prefill-sized M — all held to the exact bound (the
// scales are applied exactly in the fragment). Layers with a scale the fragment cannot apply
// exactly run on the mma kernel, still exact. The range itself: mx_fragment_scales_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
constexpr Family kFamily = Family::mxfp4_weight_only;

std::shared_ptr<const Kernel> kernel_on_hopper() {
  return testing::runnable_here(
      cuda::make_mxfp4_weight_only_wgmma_sm90(cuda::make_mxfp4_weight_only_mma_sm80()));
}

TEST(Mxfp4WeightOnlyWgmmaSm90, ConformanceConfigs) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 1);
}

TEST(Mxfp4WeightOnlyWgmmaSm90, EveryCodeExact) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  const std::vector<uint32_t> codes = testing::every_code(4);
  const uint32_t scales[] = {124, 125, 126, 127, 128};
  LayerConfig fp16 = default_config(kFamily, 264, 96);  // past 256 rows; K = 1.5 k-blocks
  fp16.act_type = T::fp16;
  for (const LayerConfig& c : {default_config(kFamily, 72, 256), fp16}) {
    EXPECT_TRUE(testing::runs_on_wgmma(*kernel, c, scales)) << c.describe();
    testing::expect_every_code_exact(*kernel, c, codes, 1, 1.0, scales);
  }
}

// Scales past the fragment's exact range: the layer runs on the mma kernel's folds, exactly.
TEST(Mxfp4WeightOnlyWgmmaSm90, ScalesOutsideTheFragmentRunOnTheMmaKernel) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_scales_outside_the_fragment_exact(*kernel, kFamily, testing::runs_on_wgmma);
}

TEST(Mxfp4WeightOnlyWgmmaSm90, ShapesOffTheTiles) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig small = default_config(kFamily, 33, 32);  // K < one k-block
  LayerConfig fp16 = default_config(kFamily, 300, 480);
  fp16.act_type = fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1056);  // K = 8.25 stages of 128
  wide.out_type = T::fp32, wide.bias = true;
  testing::expect_shapes_conform(*kernel, {small, fp16, wide});
}

TEST(Mxfp4WeightOnlyWgmmaSm90, SplitOverKAndPrefill) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_split_over_k_and_prefill(*kernel);
}

}  // namespace
}  // namespace qlinear
