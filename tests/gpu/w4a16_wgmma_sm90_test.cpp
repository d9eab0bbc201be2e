// w4a16_wgmma_sm90 against the reference on a Hopper GPU: every mixed-precision conformance config
// it implements, every int4 code at every fragment position exactly (the register A layout), shapes
// off its tiles (N not a multiple of 128, K not a multiple of 64 or of 8, act order through the
// staged x), every token tile width, split K, and prefill-sized M — held to the exact bound up to
// 256 tokens and with zero points at every M; past 256 tokens without zero points the 256-token
// tiles round each weight with its group scale (the kernel's tolerance, act order included). Its
// tile plan and the scales' layout: mixed_input_plan_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

std::shared_ptr<const Kernel> kernel_on_hopper() {
  return testing::runnable_here(cuda::make_w4a16_wgmma_sm90(cuda::make_w4a16_mma_sm80()));
}

TEST(W4a16WgmmaSm90, ConformanceConfigs) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  // uint4b8 g128, uint4 g64 fp16 with zero points, act order (g32 is refused)
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 3);
}

TEST(W4a16WgmmaSm90, EveryCodeExact) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  const std::vector<uint32_t> codes = testing::every_code(4);
  LayerConfig g64 = default_config(Family::mixed_precision, 200, 192);  // M = K = 192: 2 tiles
  g64.group_size = 64;
  LayerConfig zp = default_config(Family::mixed_precision, 40, 256);
  zp.weight_type = T::uint4, zp.zero_points = true, zp.group_size = 128;
  zp.act_type = zp.weight_scale_type = T::fp16;
  testing::expect_every_code_exact(*kernel, g64, codes, 1);
  testing::expect_every_code_exact(*kernel, zp, codes, 2);
}

TEST(W4a16WgmmaSm90, ShapesOffTheTiles) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig g64 = default_config(Family::mixed_precision, 72, 320);  // K: 2.5 stages
  g64.group_size = 64;
  LayerConfig zp = default_config(Family::mixed_precision, 131, 192);  // 3 rows into a 2nd tile
  zp.weight_type = T::uint4, zp.zero_points = true, zp.group_size = 64;
  zp.act_type = zp.out_type = zp.weight_scale_type = T::fp16;
  LayerConfig channel = default_config(Family::mixed_precision, 130, 200);  // K % 16 != 0
  channel.weight_scale = Granularity::per_channel, channel.group_size = 0,
  channel.out_type = T::fp32;
  LayerConfig odd = default_config(Family::mixed_precision, 96, 1036);  // K % 8 != 0: staged x
  odd.weight_scale = Granularity::per_channel, odd.group_size = 0, odd.bias = true;
  LayerConfig order = default_config(Family::mixed_precision, 300, 1024);
  order.act_order = true, order.bias = true;
  uint64_t seed = 100;
  for (const LayerConfig& c : {g64, zp, channel, odd, order})
    for (int64_t m : {1, 5, 32, 33, 64, 65, 129, 300})
      testing::expect_conforms(*kernel, c, m, ++seed);
}

TEST(W4a16WgmmaSm90, SplitOverKAndPrefill) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  const LayerConfig big = default_config(Family::mixed_precision, 4096, 4096);
  testing::expect_conforms(*kernel, big, 3, 7);    // 32 tiles, K split 4 ways
  testing::expect_conforms(*kernel, big, 200, 8);  // 64 tiles of 128 tokens, split 2 ways
  LayerConfig deep = default_config(Family::mixed_precision, 512, 14336);
  deep.act_type = deep.out_type = deep.weight_scale_type = T::fp16;
  testing::expect_conforms(*kernel, deep, 20, 9);
  testing::expect_conforms(*kernel, default_config(Family::mixed_precision, 1000, 2048), 2100, 10);
}

TEST(W4a16WgmmaSm90, SharesTheMmaKernelsWeights) {
  const auto mma = cuda::make_w4a16_mma_sm80();
  const auto wgmma = cuda::make_w4a16_wgmma_sm90(mma);
  if (!testing::runnable_here(wgmma)) GTEST_SKIP() << testing::kNeedsHopper;
  const LayerConfig c = default_config(Family::mixed_precision, 256, 512);
  const RandomLayer layer = make_random_layer(c, 3);
  const LayerTensors on_device = layer.to(Device::cuda(0));
  const auto prepared = wgmma->process_weights(c, on_device.weights(), Device::cuda(0));
  EXPECT_NE(wgmma->weights_for(*mma, prepared), nullptr);  // a plan of both holds one copy
  EXPECT_EQ(wgmma->weights_for(*wgmma, prepared), prepared);
  // ... in either order: the wgmma kernel's weights made over the mma kernel's, and correct.
  const auto packed = mma->process_weights(c, on_device.weights(), Device::cuda(0));
  const auto over = wgmma->weights_from(*mma, packed);
  ASSERT_NE(over, nullptr);
  EXPECT_EQ(wgmma->weights_for(*mma, over), packed);
  EXPECT_EQ(wgmma->weights_from(*wgmma, packed), nullptr);
  const CompositeKernel plan("mma_then_wgmma", {{mma, 16}, {wgmma, kNoTokenLimit}});
  for (int64_t m : {3, 100})
    EXPECT_TRUE(run_against_reference(plan, {c, m, 11}, Device::cuda(0)).pass) << m;
}

}  // namespace
}  // namespace qlinear
