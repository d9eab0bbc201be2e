// nvfp4_weight_only_wgmma_sm90 against the reference on a Hopper GPU: the family's conformance
// configs, every e2m1 code at every fragment position and every positive e4m3 block scale
// (subnormals included) at its row and group exactly, bf16 and fp16, bias, shapes off its tiles
// (N off 128 rows, K off the 64 of a k-block and the 128 of a stage), split K and prefill-sized M —
// all held to the exact bound (the block scales are applied exactly in the fragment, the global
// scale once to the fp32 sum).
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
constexpr Family kFamily = Family::nvfp4_weight_only;

std::shared_ptr<const Kernel> kernel_on_hopper() {
  return testing::runnable_here(
      cuda::make_nvfp4_weight_only_wgmma_sm90(cuda::make_nvfp4_weight_only_mma_sm80()));
}

TEST(Nvfp4WeightOnlyWgmmaSm90, ConformanceConfigs) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  // The family's two configs: bf16, and fp16 with bias
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 2);
}

TEST(Nvfp4WeightOnlyWgmmaSm90, EveryCodeExact) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_every_nvfp4_weight_only_code_exact(*kernel);
}

TEST(Nvfp4WeightOnlyWgmmaSm90, ShapesOffTheTiles) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig small = default_config(kFamily, 33, 48);  // K < one k-block
  LayerConfig fp16 = default_config(kFamily, 300, 464);
  fp16.act_type = fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1040);  // K = 8.1 stages of 128
  wide.out_type = T::fp32, wide.bias = true;
  testing::expect_shapes_conform(*kernel, {small, fp16, wide});
}

TEST(Nvfp4WeightOnlyWgmmaSm90, SplitOverKAndPrefill) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_split_over_k_and_prefill(*kernel);
}

}  // namespace
}  // namespace qlinear
