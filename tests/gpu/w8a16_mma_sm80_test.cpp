// w8a16_mma_sm80 against the reference on the GPU: the 8-bit mixed-precision conformance configs,
// every code of uint8b128, uint8 (with zero points) and int8 at every fragment position exactly,
// groups of 16 (two a k-block), 32 and 128, per channel, act order, bias, shapes off the tiles (N
// not a multiple of 16 or 256, K not a multiple of 32), a layer split over K, and M past the
// tensor-core path's 1024 tokens. Its limits: mixed_input_mma_sm80_limits_test.cpp.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

TEST(W8a16MmaSm80, ConformanceConfigs) {
  // The 8-bit configs: uint8b128 per channel, uint8 g32 (int8's has fp32 activations)
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_w8a16_mma_sm80()), 2);
}

TEST(W8a16MmaSm80, EveryCodeExact) {
  const auto kernel = cuda::make_w8a16_mma_sm80();
  const std::vector<uint32_t> codes = testing::every_code(8);
  LayerConfig symmetric = testing::eight_bit_config(T::uint8b128, 72, 256, 64);
  LayerConfig zp = testing::eight_bit_config(T::uint8, 40, 192, 32);
  zp.act_type = zp.weight_scale_type = T::fp16;
  LayerConfig signed_channel = testing::eight_bit_config(T::int8, 264, 160, 0);
  LayerConfig signed_fp16 = testing::eight_bit_config(T::int8, 24, 64, 16);
  signed_fp16.act_type = T::fp16;
  LayerConfig order = testing::eight_bit_config(T::uint8, 48, 256, 128);
  order.act_order = true;
  uint64_t seed = 1;
  for (const LayerConfig& c : {symmetric, zp, signed_channel, signed_fp16, order})
    testing::expect_every_code_exact(*kernel, c, codes, ++seed);
}

TEST(W8a16MmaSm80, ShapesOffTheTiles) {
  LayerConfig g16 =
      testing::eight_bit_config(T::uint8b128, 72, 112, 16);  // K: 3.5 k-blocks, folds inside them
  LayerConfig zp = testing::eight_bit_config(T::uint8, 33, 192, 64);  // 1 row into a third tile
  zp.act_type = zp.out_type = zp.weight_scale_type = T::fp16;
  LayerConfig channel = testing::eight_bit_config(T::int8, 130, 200, 0);  // K not a multiple of 16
  channel.out_type = T::fp32, channel.bias = true;
  LayerConfig order = testing::eight_bit_config(T::uint8b128, 300, 1024, 128);
  order.act_order = true, order.bias = true;
  LayerConfig zp_order =
      testing::eight_bit_config(T::uint8, 264, 480, 32);  // N past one block of 256 rows
  zp_order.act_order = true, zp_order.act_type = T::fp16, zp_order.out_type = T::bf16;
  testing::expect_shapes_conform(*cuda::make_w8a16_mma_sm80(), {g16, zp, channel, order, zp_order});
}

TEST(W8a16MmaSm80, SplitOverKAndManyTokens) {
  testing::expect_split_over_k_and_many_tokens(*cuda::make_w8a16_mma_sm80(), [](LayerConfig& c) {
    c.weight_type = T::uint8, c.zero_points = true;
  });
  testing::expect_split_over_k_and_many_tokens(*cuda::make_w8a16_mma_sm80(), [](LayerConfig& c) {
    c.weight_type = T::int8, c.group_size = 32;
  });
}

}  // namespace
}  // namespace qlinear
