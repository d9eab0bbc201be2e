// w4a16_mma_sm80 against the reference on the GPU: every mixed-precision conformance config it
// implements, every int4 code at every fragment position exactly, shapes off its tiles (N not a
// multiple of 16 or 256, K not a multiple of 64), a layer large enough to be split over K, and M
// in row chunks past one launch's 1024 tokens. Its limits: mixed_input_mma_sm80_limits_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

TEST(W4a16MmaSm80, ConformanceConfigs) {
  // The int4 configs: uint4b8 g128, uint4 g64 fp16, act order, g32
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_w4a16_mma_sm80()), 4);
}

TEST(W4a16MmaSm80, EveryCodeExact) {
  const auto kernel = cuda::make_w4a16_mma_sm80();
  const std::vector<uint32_t> codes = testing::every_code(4);
  LayerConfig g32 = default_config(Family::mixed_precision, 72, 192);
  g32.group_size = 32;
  LayerConfig zp = default_config(Family::mixed_precision, 40, 256);
  zp.weight_type = T::uint4, zp.zero_points = true, zp.group_size = 64;
  zp.act_type = zp.weight_scale_type = T::fp16;
  testing::expect_every_code_exact(*kernel, g32, codes, 1);
  testing::expect_every_code_exact(*kernel, zp, codes, 2);
}

TEST(W4a16MmaSm80, ShapesOffTheTiles) {
  LayerConfig g32 = default_config(Family::mixed_precision, 72, 96);  // K: 1.5 k-blocks
  g32.group_size = 32;
  LayerConfig zp = default_config(Family::mixed_precision, 33, 160);  // 3 rows into a second tile
  zp.weight_type = T::uint4, zp.zero_points = true, zp.group_size = 32;
  zp.act_type = zp.out_type = zp.weight_scale_type = T::fp16;
  LayerConfig channel =
      default_config(Family::mixed_precision, 130, 200);  // K not a multiple of 16
  channel.weight_scale = Granularity::per_channel, channel.group_size = 0,
  channel.out_type = T::fp32;
  LayerConfig order = default_config(Family::mixed_precision, 300, 1024);
  order.act_order = true, order.bias = true;
  testing::expect_shapes_conform(*cuda::make_w4a16_mma_sm80(), {g32, zp, channel, order});
}

TEST(W4a16MmaSm80, SplitOverKAndManyTokens) {
  testing::expect_split_over_k_and_many_tokens(*cuda::make_w4a16_mma_sm80(), [](LayerConfig&) {});
}
TEST(W4a16MmaSm80, ChosenOnTheGpuForDecode) {
  const LayerConfig c = default_config(Family::mixed_precision, 4096, 4096);
  const Choice choice = Registry::global().choose(c, platform_of(Device::cuda(0)));
  EXPECT_EQ(choice.kernel_for(1).name(), "w4a16_mma_sm80");
}

}  // namespace
}  // namespace qlinear
