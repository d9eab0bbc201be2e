// w4a16_mma_sm80 against the reference on the GPU: every mixed-precision conformance config it
// implements, plus shapes off its tiles (N not a multiple of 16 or 128, K not a multiple of 64),
// a layer large enough to be split over K, and M past one launch's token chunk.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

// Up to 64 tokens the tensor-core path runs, whose weights are exact: held to the bound of an fp32
// sum (twice the plain one) and one output rounding, tighter than the kernel's stated tolerance,
// which also covers the emulation path it takes past 64 tokens.
void expect_conforms(const Kernel& kernel, const LayerConfig& c, int64_t m, uint64_t seed) {
  const ConformanceResult r = run_against_reference(kernel, {c, m, seed}, Device::cuda(0));
  const double exact = unit_roundoff(c.out_type) + 2.0 * static_cast<double>(c.part_k()) * unit_roundoff(ScalarType::fp32);
  const double bound = m <= 64 ? exact : r.tolerance;
  EXPECT_TRUE(r.pass && r.max_error <= bound)
      << c.describe() << " M=" << m << ": error " << r.max_error << " > bound " << bound << "; " << r.detail;
}

TEST(W4a16MmaSm80, ConformanceConfigs) {
  const auto kernel = cuda::make_w4a16_mma_sm80();
  int run = 0;
  for (const LayerConfig& c : conformance_configs(Family::mixed_precision)) {
    if (!kernel->can_implement(c)) continue;
    for (int64_t m : {1, 7, 16, 33, 67, 300}) expect_conforms(*kernel, c, m, 10 + run++);
  }
  EXPECT_GE(run, 4 * 6);  // the int4 configs: uint4b8 g128, uint4 g64 fp16, act order, g32
}

TEST(W4a16MmaSm80, ShapesOffTheTiles) {
  const auto kernel = cuda::make_w4a16_mma_sm80();
  LayerConfig g32 = default_config(Family::mixed_precision, 72, 96);  // K: 1.5 k-blocks
  g32.group_size = 32;
  LayerConfig zp = default_config(Family::mixed_precision, 33, 160);  // 3 rows into a second tile
  zp.weight_type = T::uint4, zp.zero_points = true, zp.group_size = 32;
  zp.act_type = zp.out_type = zp.weight_scale_type = T::fp16;
  LayerConfig channel = default_config(Family::mixed_precision, 130, 200);  // K not a multiple of 16
  channel.weight_scale = Granularity::per_channel, channel.group_size = 0, channel.out_type = T::fp32;
  LayerConfig order = default_config(Family::mixed_precision, 300, 1024);
  order.act_order = true, order.bias = true;
  uint64_t seed = 100;
  for (const LayerConfig& c : {g32, zp, channel, order})
    for (int64_t m : {1, 5, 9, 64, 65}) expect_conforms(*kernel, c, m, ++seed);
}

TEST(W4a16MmaSm80, SplitOverKAndManyTokens) {
  const auto kernel = cuda::make_w4a16_mma_sm80();
  const LayerConfig large = default_config(Family::mixed_precision, 4096, 4096);
  expect_conforms(*kernel, large, 3, 7);
  const LayerConfig wide = default_config(Family::mixed_precision, 136, 256);
  expect_conforms(*kernel, wide, 1100, 8);  // past 64 tokens: the emulation path
}

TEST(W4a16MmaSm80, ChosenOnTheGpuAndRefusesWhatItCannotDo) {
  const LayerConfig c = default_config(Family::mixed_precision, 4096, 4096);
  const Choice choice = Registry::global().choose(c, platform_of(Device::cuda(0)));
  EXPECT_EQ(choice.kernel->name(), "w4a16_mma_sm80");
  const auto kernel = cuda::make_w4a16_mma_sm80();
  LayerConfig eight = c;
  eight.weight_type = T::uint8b128;
  EXPECT_NE(kernel->can_implement(eight).reason().find("weight_type (uint8b128) not supported"), std::string::npos);
  LayerConfig split = c;
  split.act_order = true, split.partition_k = 2048;
  EXPECT_NE(kernel->can_implement(split).reason().find("row-split"), std::string::npos);
  EXPECT_FALSE(kernel->supported(parse_target("cuda:sm_75")));
  EXPECT_TRUE(kernel->supported(parse_target("cuda:sm_80")));
}

}  // namespace
}  // namespace qlinear
