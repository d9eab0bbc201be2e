// What the Hopper mixed-input kernels refuse, with the reason (host code: runs without a GPU, in
// CI): groups that do not end on a k-block (a group's sum is folded when a k-block ends), and
// everything their mma kernel refuses, in its words; act order and per-channel scales they take.
#include <gtest/gtest.h>

#include "cuda/kernels.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

void expect_refused(const Kernel& kernel, const LayerConfig& c, const std::string& reason) {
  const Verdict v = kernel.can_implement(c);
  EXPECT_FALSE(v) << kernel.name() << " " << c.describe();
  EXPECT_NE(v.reason().find(reason), std::string::npos) << kernel.name() << ": " << v.reason();
}

TEST(MixedInputWgmmaSm90Limits, GroupsEndOnAKBlock) {
  const auto int4 = cuda::make_w4a16_wgmma_sm90(cuda::make_w4a16_mma_sm80());
  LayerConfig g32 = default_config(Family::mixed_precision, 256, 256);
  g32.group_size = 32;
  expect_refused(*int4, g32, "group_size (32) not supported; supported: multiples of 64");
  LayerConfig g64 = g32;
  g64.group_size = 64;
  EXPECT_TRUE(int4->can_implement(g64));

  const auto int8 = cuda::make_w8a16_wgmma_sm90(cuda::make_w8a16_mma_sm80());
  LayerConfig g16 = default_config(Family::mixed_precision, 256, 256);
  g16.weight_type = T::uint8b128, g16.group_size = 16;
  expect_refused(*int8, g16, "group_size (16) not supported; supported: multiples of 32");
  LayerConfig g32_int8 = g16;
  g32_int8.group_size = 32;
  EXPECT_TRUE(int8->can_implement(g32_int8));
}

TEST(MixedInputWgmmaSm90Limits, TheMmaKernelsRefusalsComeThrough) {
  const auto int4 = cuda::make_w4a16_wgmma_sm90(cuda::make_w4a16_mma_sm80());
  LayerConfig int8_weights = default_config(Family::mixed_precision, 256, 256);
  int8_weights.weight_type = T::uint8b128;
  expect_refused(*int4, int8_weights, "weight_type (uint8b128) not supported");
  LayerConfig fp32_x = default_config(Family::mixed_precision, 256, 256);
  fp32_x.act_type = T::fp32;
  expect_refused(*int4, fp32_x, "act_type (fp32) not supported; supported: bf16, fp16");
  const auto mxfp8 =
      cuda::make_mxfp8_weight_only_wgmma_sm90(cuda::make_mxfp8_weight_only_mma_sm80());
  EXPECT_TRUE(mxfp8->can_implement(default_config(Family::mxfp8_weight_only, 256, 256)));
}

TEST(MixedInputWgmmaSm90Limits, TakesActOrderAndPerChannelScales) {
  const auto int4 = cuda::make_w4a16_wgmma_sm90(cuda::make_w4a16_mma_sm80());
  LayerConfig order = default_config(Family::mixed_precision, 256, 1024);
  order.act_order = true;
  EXPECT_TRUE(int4->can_implement(order));
  LayerConfig channel = default_config(Family::mixed_precision, 256, 200);
  channel.weight_scale = Granularity::per_channel, channel.group_size = 0;
  EXPECT_TRUE(int4->can_implement(channel));
}

TEST(MixedInputWgmmaSm90Limits, RunOnlyOnHopper) {
  const auto int4 = cuda::make_w4a16_wgmma_sm90(cuda::make_w4a16_mma_sm80());
  const Verdict ampere = int4->supported(parse_target("cuda:sm_80"));
  EXPECT_FALSE(ampere);
  EXPECT_NE(ampere.reason().find("sm_90a"), std::string::npos) << ampere.reason();
}

}  // namespace
}  // namespace qlinear
