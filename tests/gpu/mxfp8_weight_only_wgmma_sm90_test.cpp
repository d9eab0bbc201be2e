// mxfp8_weight_only_wgmma_sm90 against the reference on a Hopper GPU: the family's conformance
// configs, every finite e4m3 code (subnormals included) at every fragment position with e8m0
// scales 2^-3 .. 2^3 at their rows and groups exactly (applied in the fragment), bf16 and fp16,
// bias, shapes off its tiles, split K and prefill-sized M — all held to the exact bound. Layers
// with a scale the fragment cannot apply exactly (the random layers' 2^-12 .. 2^-8 in fp16) run
// on the mma kernel, still exact. The range itself: mx_fragment_scales_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
constexpr Family kFamily = Family::mxfp8_weight_only;

std::shared_ptr<const Kernel> kernel_on_hopper() {
  return testing::runnable_here(
      cuda::make_mxfp8_weight_only_wgmma_sm90(cuda::make_mxfp8_weight_only_mma_sm80()));
}

TEST(Mxfp8WeightOnlyWgmmaSm90, ConformanceConfigs) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  // The family's two configs: bf16, and fp16 with bias
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 2);
}

TEST(Mxfp8WeightOnlyWgmmaSm90, EveryCodeExact) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  const uint32_t scales[] = {124, 125, 126, 127, 128, 129, 130};
  LayerConfig fp16 = default_config(kFamily, 264, 96);
  fp16.act_type = T::fp16;
  EXPECT_TRUE(testing::runs_on_wgmma(*kernel, default_config(kFamily, 72, 256), scales));
  EXPECT_TRUE(testing::runs_on_wgmma(*kernel, fp16, scales));
  testing::expect_every_mxfp8_weight_only_code_exact(*kernel);
}

// Scales past the fragment's exact range: the layer runs on the mma kernel's folds, exactly.
TEST(Mxfp8WeightOnlyWgmmaSm90, ScalesOutsideTheFragmentRunOnTheMmaKernel) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_scales_outside_the_fragment_exact(*kernel, kFamily, testing::runs_on_wgmma);
}

TEST(Mxfp8WeightOnlyWgmmaSm90, ShapesOffTheTiles) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig small = default_config(kFamily, 33, 96);
  LayerConfig fp16 = default_config(kFamily, 300, 480);
  fp16.act_type = fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig wide = default_config(kFamily, 264, 1056);  // K = 16.5 stages of 64
  wide.out_type = T::fp32, wide.bias = true;
  uint64_t seed = 100;
  for (const LayerConfig& c : {small, fp16, wide})
    for (int64_t m : {1, 5, 32, 33, 64, 65, 129, 300})
      testing::expect_conforms(*kernel, c, m, ++seed);
}

TEST(Mxfp8WeightOnlyWgmmaSm90, SplitOverKAndPrefill) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  testing::expect_split_over_k_and_prefill(*kernel);
}

}  // namespace
}  // namespace qlinear
