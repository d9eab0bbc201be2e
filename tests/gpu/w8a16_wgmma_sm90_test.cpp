// w8a16_wgmma_sm90 against the reference on a Hopper GPU: the 8-bit mixed-precision conformance
// configs it implements, every code of uint8b128, uint8 (with zero points) and int8 at every
// fragment position exactly, groups of 32 (a fold every k-block) and 128, per channel, act order,
// bias, shapes off its tiles (N not a multiple of 128, K not a multiple of 32 or of 8), split K and
// prefill-sized M — all held to the exact bound.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

std::shared_ptr<const Kernel> kernel_on_hopper() {
  return testing::runnable_here(cuda::make_w8a16_wgmma_sm90(cuda::make_w8a16_mma_sm80()));
}

TEST(W8a16WgmmaSm90, ConformanceConfigs) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  // uint8b128 per channel, uint8 g32 with zero points
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 2);
}

TEST(W8a16WgmmaSm90, EveryCodeExact) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  const std::vector<uint32_t> codes = testing::every_code(8);
  LayerConfig symmetric = testing::eight_bit_config(T::uint8b128, 72, 256, 64);
  LayerConfig zp = testing::eight_bit_config(T::uint8, 40, 192, 32);
  zp.act_type = zp.weight_scale_type = T::fp16;
  LayerConfig signed_channel = testing::eight_bit_config(T::int8, 264, 160, 0);
  LayerConfig order = testing::eight_bit_config(T::uint8, 48, 256, 128);
  order.act_order = true;
  uint64_t seed = 1;
  for (const LayerConfig& c : {symmetric, zp, signed_channel, order})
    testing::expect_every_code_exact(*kernel, c, codes, ++seed);
}

TEST(W8a16WgmmaSm90, ShapesOffTheTiles) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig g32 = testing::eight_bit_config(T::uint8b128, 72, 160, 32);  // K: 2.5 stages of 64
  LayerConfig zp = testing::eight_bit_config(T::uint8, 131, 192, 64);  // 3 rows into a second tile
  zp.act_type = zp.out_type = zp.weight_scale_type = T::fp16;
  LayerConfig channel = testing::eight_bit_config(T::int8, 130, 200, 0);  // K % 16 != 0
  channel.out_type = T::fp32, channel.bias = true;
  LayerConfig odd = testing::eight_bit_config(T::uint8b128, 96, 1036, 0);  // K % 8 != 0: staged x
  LayerConfig order = testing::eight_bit_config(T::uint8b128, 300, 1024, 128);
  order.act_order = true, order.bias = true;
  uint64_t seed = 100;
  for (const LayerConfig& c : {g32, zp, channel, odd, order})
    for (int64_t m : {1, 5, 32, 33, 64, 65, 129, 300})
      testing::expect_conforms(*kernel, c, m, ++seed);
}

TEST(W8a16WgmmaSm90, SplitOverKAndPrefill) {
  const auto kernel = kernel_on_hopper();
  if (!kernel) GTEST_SKIP() << testing::kNeedsHopper;
  LayerConfig big = testing::eight_bit_config(T::uint8, 4096, 4096, 128);
  testing::expect_conforms(*kernel, big, 3, 7);
  testing::expect_conforms(*kernel, big, 200, 8);
  LayerConfig deep = testing::eight_bit_config(T::int8, 512, 14336, 32);
  deep.act_type = deep.out_type = deep.weight_scale_type = T::fp16;
  testing::expect_conforms(*kernel, deep, 20, 9);
  testing::expect_conforms(*kernel, testing::eight_bit_config(T::uint8b128, 1000, 2048, 0), 2100,
                           10);
}

}  // namespace
}  // namespace qlinear
