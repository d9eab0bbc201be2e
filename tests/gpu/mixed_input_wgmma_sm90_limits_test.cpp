// What the Hopper mixed-input kernels refuse, with the reason (host code: runs without a GPU, in
// CI): groups that do not end on a k-block (a group's sum is folded when a k-block ends), and
// everything their mma kernel refuses, in its words; act order and per-channel scales they take.
#include <gtest/gtest.h>

#include <algorithm>

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

// NVFP4's e4m3 scales per 16 are block scales, applied inside the k-block by the format's
// fragment: its groups of 16 need not end on a k-block.
TEST(MixedInputWgmmaSm90Limits, BlockScalesInsideAKBlock) {
  const auto nvfp4 =
      cuda::make_nvfp4_weight_only_wgmma_sm90(cuda::make_nvfp4_weight_only_mma_sm80());
  const LayerConfig g16 = default_config(Family::nvfp4_weight_only, 256, 208);
  EXPECT_EQ(g16.group_size, 16);
  EXPECT_TRUE(nvfp4->can_implement(g16)) << nvfp4->can_implement(g16).reason();
}

// NVFP4 weight-only on Hopper: its plan runs the mma kernel for decode, the wgmma kernel on the
// same weights, then dequantize-then-GEMM; below sm_90a the plan without the wgmma kernel.
TEST(MixedInputWgmmaSm90Limits, Nvfp4PlansByTarget) {
  const LayerConfig c = default_config(Family::nvfp4_weight_only, 4096, 4096);
  const Choice hopper = Registry::global().choose(c, parse_target("cuda:sm_90a"));
  EXPECT_EQ(hopper.kernel->name(), "nvfp4_weight_only_by_tokens");
  EXPECT_EQ(hopper.kernel_for(1).name(), "nvfp4_weight_only_mma_sm80");
  EXPECT_EQ(hopper.kernel_for(64).name(), "nvfp4_weight_only_wgmma_sm90");
  EXPECT_EQ(hopper.kernel_for(8192).name(), "dequant_gemm_nvfp4_weight_only");
  const Choice ampere = Registry::global().choose(c, parse_target("cuda:sm_80"));
  EXPECT_EQ(ampere.kernel->name(), "nvfp4_weight_only_sm80_by_tokens");
  EXPECT_EQ(ampere.kernel_for(64).name(), "nvfp4_weight_only_mma_sm80");
}

// int8 (w8a16), mxfp8 and mxfp4 weight-only on Hopper: the same three parts, each handing over at
// its own limit (src/core/heuristics_cuda.hpp); below sm_90a their _sm80 plans, the first plan
// passed over with the wgmma part's reason. The priority list alone (no tuning table).
TEST(MixedInputWgmmaSm90Limits, Int8Mxfp8AndMxfp4PlansByTarget) {
  LayerConfig int8 = default_config(Family::mixed_precision, 4096, 4096);
  int8.weight_type = T::uint8b128;
  const struct {
    LayerConfig config;
    std::string hopper_plan, ampere_plan, mma, wgmma, dequant;
    int64_t wgmma_from, dequant_from;
  } cases[] = {
      {int8, "w8a16_by_tokens", "w8a16_sm80_by_tokens", "w8a16_mma_sm80", "w8a16_wgmma_sm90",
       "dequant_gemm_mixed_precision", 17, 257},
      {default_config(Family::mxfp8_weight_only, 4096, 4096), "mxfp8_weight_only_by_tokens",
       "mxfp8_weight_only_sm80_by_tokens", "mxfp8_weight_only_mma_sm80",
       "mxfp8_weight_only_wgmma_sm90", "dequant_gemm_mxfp8_weight_only", 17, 257},
      {default_config(Family::mxfp4_weight_only, 4096, 4096), "mxfp4_weight_only_by_tokens",
       "mxfp4_weight_only_sm80_by_tokens", "mxfp4_weight_only_mma_sm80",
       "mxfp4_weight_only_wgmma_sm90", "dequant_gemm_mxfp4_weight_only", 17, 8193},
  };
  ChooseOptions untuned;
  untuned.use_shipped_tuning = false;
  for (const auto& c : cases) {
    const Choice hopper = Registry::global().choose(c.config, parse_target("cuda:sm_90a"), untuned);
    EXPECT_EQ(hopper.kernel->name(), c.hopper_plan);
    EXPECT_EQ(hopper.kernel_for(c.wgmma_from - 1).name(), c.mma);
    EXPECT_EQ(hopper.kernel_for(c.wgmma_from).name(), c.wgmma);
    EXPECT_EQ(hopper.kernel_for(c.dequant_from - 1).name(), c.wgmma);
    EXPECT_EQ(hopper.kernel_for(c.dequant_from).name(), c.dequant);
    const Choice ampere = Registry::global().choose(c.config, parse_target("cuda:sm_80"), untuned);
    EXPECT_EQ(ampere.kernel->name(), c.ampere_plan);
    const auto passed_over =
        std::find_if(ampere.rejected.begin(), ampere.rejected.end(),
                     [&](const Rejection& r) { return r.kernel == c.hopper_plan; });
    ASSERT_NE(passed_over, ampere.rejected.end()) << c.hopper_plan;
    EXPECT_NE(passed_over->reason.find("part " + c.wgmma + ": wgmma"), std::string::npos)
        << passed_over->reason;
    EXPECT_EQ(ampere.kernel_for(c.wgmma_from).name(), c.mma);
    EXPECT_EQ(ampere.kernel_for(8192).name(), c.dequant);
  }
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
