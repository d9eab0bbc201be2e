// mxfp8_weight_only_wgmma_sm90 against the reference on a Hopper GPU: the family's conformance
// configs, every finite e4m3 code (subnormals included) at every fragment position and every e8m0
// scale at its row and group exactly (a fold every k-block of 32), bf16 and fp16, bias, shapes off
// its tiles, split K and prefill-sized M — all held to the exact bound.
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
  testing::expect_every_mxfp8_weight_only_code_exact(*kernel);
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
