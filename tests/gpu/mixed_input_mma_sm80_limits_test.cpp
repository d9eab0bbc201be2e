// The limits of the mixed-input tensor-core kernels (w4a16_mma_sm80, w8a16_mma_sm80,
// mxfp8_weight_only_mma_sm80, nvfp4_weight_only_mma_sm80, w4a8_int_mma_sm80) and the place in
// selection of every kernel registered after the emulation (the dequant_gemm kernels' too; their
// limits: dequant_gemm_host_test.cpp): host code, runs without a GPU (in CI). Every refusal names
// the value and what is accepted; the kernels registered after the emulation (kernel_list.cpp) are
// not chosen by default, but a caller may force them by name.
#include <gtest/gtest.h>

#include <tuple>

#include "cuda/kernels.hpp"
#include "layer_configs.hpp"
#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

struct Case {
  std::shared_ptr<const Kernel> kernel;
  LayerConfig config;
  std::string reason;  // empty: accepted
};

using testing::with;

LayerConfig mixed(T type, int64_t k, int64_t group_size) {
  return testing::mixed_precision(type, 256, k, group_size);
}

TEST(MixedInputMmaSm80Limits, RefusalsNameTheValueAndWhatIsAccepted) {
  const auto w4 = cuda::make_w4a16_mma_sm80(), w8 = cuda::make_w8a16_mma_sm80();
  const auto mx = cuda::make_mxfp8_weight_only_mma_sm80(),
             nv = cuda::make_nvfp4_weight_only_mma_sm80();
  const auto w4a8 = cuda::make_w4a8_int_mma_sm80();
  const auto fp32_act = [](LayerConfig& c) { c.act_type = T::fp32; };
  const auto row_split = [](LayerConfig& c) { c.act_order = true, c.partition_k = c.k / 2; };
  const LayerConfig mx_default = default_config(Family::mxfp8_weight_only, 256, 512);
  const LayerConfig nv_default = default_config(Family::nvfp4_weight_only, 256, 512);
  const LayerConfig w4a8_default = default_config(Family::w4a8_int, 256, 4096);
  const auto w4a8_group = [&](int64_t k, int64_t group_size) {
    return with(default_config(Family::w4a8_int, 256, k),
                [&](LayerConfig& c) { c.group_size = group_size; });
  };
  const auto w4a8_channel = [&](int64_t k) {
    return with(default_config(Family::w4a8_int, 256, k), [](LayerConfig& c) {
      c.weight_scale = Granularity::per_channel, c.group_size = 0;
    });
  };
  const Case cases[] = {
      {w4, mixed(T::uint4b8, 4096, 128), ""},
      {w4, mixed(T::uint4, 4096, 32), ""},
      {w4, mixed(T::uint8b128, 4096, 128),
       "weight_type (uint8b128) not supported; supported: uint4b8, uint4"},
      {w4, mixed(T::uint4b8, 4608, 48),
       "group_size (48) not supported; supported: 32 and multiples of 64"},
      {w4, with(mixed(T::uint4b8, 4096, 128), fp32_act),
       "act_type (fp32) not supported; supported: bf16, fp16"},
      {w4, with(mixed(T::uint4b8, 4096, 128), row_split),
       "act order on a row-split partition (K 2048 of 4096)"},
      {w8, mixed(T::uint8b128, 4096, 128), ""},
      {w8, mixed(T::uint8, 4096, 16), ""},
      {w8,
       with(mixed(T::int8, 4096, 0),
            [](LayerConfig& c) { c.weight_scale = Granularity::per_channel; }),
       ""},
      {w8, with(mixed(T::uint8, 4608, 96), [](LayerConfig& c) { c.act_order = true; }), ""},
      {w8, mixed(T::uint4b8, 4096, 128),
       "weight_type (uint4b8) not supported; supported: uint8b128, uint8, int8"},
      {w8, mixed(T::uint8b128, 4608, 48),
       "group_size (48) not supported; supported: 16 and multiples of 32"},
      {w8, mixed(T::int8, 4096, 8),
       "group_size (8) not supported; supported: 16 and multiples of 32"},
      {w8,
       with(
           mixed(T::int8, 4096, 0),
           [](LayerConfig& c) { c.weight_scale = Granularity::per_channel, c.act_type = T::fp32; }),
       "act_type (fp32) not supported; supported: bf16, fp16"},
      {w8, with(mixed(T::uint8, 4096, 128), row_split),
       "act order on a row-split partition (K 2048 of 4096)"},
      {mx, mx_default, ""},
      {mx, with(mx_default, [](LayerConfig& c) { c.act_type = c.out_type = T::fp16; }), ""},
      {mx, with(mx_default, fp32_act), "act_type (fp32) not supported; supported: bf16, fp16"},
      {nv, nv_default, ""},
      {nv, with(nv_default, [](LayerConfig& c) { c.act_type = T::fp16, c.partition_k = 256; }), ""},
      {nv, with(nv_default, fp32_act), "act_type (fp32) not supported; supported: bf16, fp16"},
      // int8 activations are quantized from bf16, fp16 or fp32 alike
      {w4a8, w4a8_default, ""},
      {w4a8, with(w4a8_default, fp32_act), ""},
      {w4a8, w4a8_group(4096, 32), ""},
      {w4a8, w4a8_group(4096, 1024), ""},
      {w4a8, w4a8_channel(14336), ""},
      {w4a8, with(w4a8_default, [](LayerConfig& c) { c.partition_k = 2048; }), ""},
      {w4a8, w4a8_group(4608, 96),
       "group_size (96) not supported; supported: 32 and multiples of 64"},
      {w4a8, w4a8_group(4096, 16),
       "group_size (16) not supported; supported: 32 and multiples of 64"},
      // int32 sums of |q| <= 128 times |c - 8| <= 8: at most 2097151 products a group
      {w4a8, w4a8_channel(2097152),
       "K (2097152) not supported: a weight group's int32 sum of int8 x int4 products could "
       "overflow; supported: up to 2097151"},
      {w4a8, w4a8_group(4194304, 4194304),
       "group_size (4194304) not supported: a weight group's int32 sum of int8 x int4 products "
       "could overflow; supported: up to 2097151"},
      {w4a8, w4a8_channel(2097150), ""},
  };
  for (const Case& c : cases) {
    validate(c.config);
    const Verdict v = c.kernel->can_implement(c.config);
    if (c.reason.empty()) {
      EXPECT_TRUE(v.ok()) << c.kernel->name() << " " << c.config.describe() << ": " << v.reason();
    } else {
      EXPECT_NE(v.reason().find(c.reason), std::string::npos)
          << c.kernel->name() << " " << c.config.describe() << ": '" << v.reason() << "'";
    }
  }
}

TEST(MixedInputMmaSm80Limits, RunOnAmpereAndLater) {
  for (const auto& kernel :
       {cuda::make_w4a16_mma_sm80(), cuda::make_w8a16_mma_sm80(),
        cuda::make_mxfp8_weight_only_mma_sm80(), cuda::make_nvfp4_weight_only_mma_sm80(),
        cuda::make_w4a8_int_mma_sm80(), cuda::make_dequant_gemm_mixed_precision(),
        cuda::make_dequant_gemm_nvfp4_weight_only(), cuda::make_dequant_gemm_mxfp8_weight_only()}) {
    EXPECT_NE(
        kernel->supported(parse_target("cuda:sm_75")).reason().find("needs compute capability 8.0"),
        std::string::npos)
        << kernel->name();
    EXPECT_TRUE(kernel->supported(parse_target("cuda:sm_80"))) << kernel->name();
    EXPECT_TRUE(kernel->supported(parse_target("cuda:sm_90a"))) << kernel->name();
    EXPECT_FALSE(kernel->supported(parse_target("cpu:avx2"))) << kernel->name();
  }
}

// Each weight format's composite plan leads its configs: its mma kernel for decode, then the
// prefill kernel (src/core/heuristics_cuda.hpp); every part can still be forced alone.
TEST(MixedInputMmaSm80Limits, SelectionOnTheGpu) {
  const Platform hopper = parse_target("cuda:sm_90a");
  const std::tuple<LayerConfig, std::string, std::string, std::string> plans[] = {
      {mixed(T::uint4b8, 4096, 128), "w4a16_by_tokens", "w4a16_mma_sm80",
       "dequant_gemm_mixed_precision"},
      {mixed(T::uint8b128, 4096, 128), "w8a16_by_tokens", "w8a16_mma_sm80",
       "dequant_gemm_mixed_precision"},
      {default_config(Family::mxfp8_weight_only, 4096, 4096), "mxfp8_weight_only_by_tokens",
       "mxfp8_weight_only_mma_sm80", "dequant_gemm_mxfp8_weight_only"},
      {default_config(Family::nvfp4_weight_only, 4096, 4096), "nvfp4_weight_only_by_tokens",
       "nvfp4_weight_only_mma_sm80", "dequant_gemm_nvfp4_weight_only"},
      {default_config(Family::w4a8_int, 4096, 4096), "w4a8_int_by_tokens", "w4a8_int_mma_sm80",
       "emulation_w4a8_int"},
  };
  for (const auto& [config, plan, decode, prefill] : plans) {
    const Choice choice = Registry::global().choose(config, hopper);
    EXPECT_EQ(choice.kernel->name(), plan);
    EXPECT_EQ(choice.kernel_for(1).name(), decode);
    EXPECT_EQ(choice.kernel_for(8192).name(), prefill);
    for (const std::string& kernel : {decode, prefill}) {
      ChooseOptions force;
      force.force = kernel;
      EXPECT_EQ(Registry::global().choose(config, hopper, force).kernel->name(), kernel);
    }
  }
}

// On the H100 the table measured there (tuning/h100-llama3-8b.json, shipped) decides each layer
// it holds: the int4 layer N = 28672 runs the mma kernel to 8 tokens, the wgmma kernel to 1024 and
// hands prefill to the dequantizing GEMM after (the first tune had lost that: it pruned the
// kernel at one token), block fp8 N = 6144 leaves its own GEMM after 16 tokens, not the priority
// list's 32. A layer it lacks follows the priority list.
TEST(MixedInputMmaSm80Limits, TheH100FollowsItsTuningTable) {
  Platform h100 = parse_target("cuda:sm_90a");
  h100.detected = true, h100.device_name = "NVIDIA H100 80GB HBM3", h100.sm_count = 132;
  const auto choose = [&](Family family, int64_t n, int64_t k) {
    return Registry::global().choose(default_config(family, n, k), h100);
  };
  const Choice int4 = choose(Family::mixed_precision, 28672, 4096);
  // Tuned again after the wgmma core's consumer changes (2026-12-07, eleventh session).
  EXPECT_EQ(int4.kernel_for(8).name(), "w4a16_mma_sm80");
  EXPECT_EQ(int4.kernel_for(9).name(), "w4a16_wgmma_sm90");
  EXPECT_EQ(int4.kernel_for(1024).name(), "w4a16_wgmma_sm90");
  EXPECT_EQ(int4.kernel_for(1025).name(), "dequant_gemm_mixed_precision");
  EXPECT_EQ(int4.kernel_for(8192).name(), "dequant_gemm_mixed_precision");
  const Choice block = choose(Family::fp8_block, 6144, 4096);
  EXPECT_EQ(block.kernel_for(16).name(), "fp8_block_sm90");
  EXPECT_EQ(block.kernel_for(17).name(), "cublaslt_fp8_block");
  // Its nvfp4 weight-only entries, tuned again after the wgmma kernel's 256-token tiles
  // (2026-12-07, twelfth session): N = 6144 runs the mma kernel to 16 tokens and the wgmma kernel
  // at every M past; N = 4096 hands prefill past 4096 tokens to the dequantizing GEMM.
  const Choice nvfp4 = choose(Family::nvfp4_weight_only, 6144, 4096);
  EXPECT_EQ(nvfp4.kernel->name(), "tuned_nvfp4_weight_only");
  EXPECT_EQ(nvfp4.kernel_for(16).name(), "nvfp4_weight_only_mma_sm80");
  EXPECT_EQ(nvfp4.kernel_for(17).name(), "nvfp4_weight_only_wgmma_sm90");
  EXPECT_EQ(nvfp4.kernel_for(8192).name(), "nvfp4_weight_only_wgmma_sm90");
  const Choice nvfp4_o = choose(Family::nvfp4_weight_only, 4096, 4096);
  EXPECT_EQ(nvfp4_o.kernel_for(4096).name(), "nvfp4_weight_only_wgmma_sm90");
  EXPECT_EQ(nvfp4_o.kernel_for(4097).name(), "dequant_gemm_nvfp4_weight_only");
  // Its mxfp8 weight-only entries, tuned with that format's wgmma kernel (2026-12-07, after the
  // consumer changes): N = 6144 runs the mma kernel to 16 tokens, the wgmma kernel to 256, the
  // dequantizing GEMM after. A layer it lacks follows the priority plan.
  const Choice mxfp8 = choose(Family::mxfp8_weight_only, 6144, 4096);
  EXPECT_EQ(mxfp8.kernel->name(), "tuned_mxfp8_weight_only");
  EXPECT_EQ(mxfp8.kernel_for(16).name(), "mxfp8_weight_only_mma_sm80");
  EXPECT_EQ(mxfp8.kernel_for(17).name(), "mxfp8_weight_only_wgmma_sm90");
  EXPECT_EQ(mxfp8.kernel_for(256).name(), "mxfp8_weight_only_wgmma_sm90");
  EXPECT_EQ(mxfp8.kernel_for(257).name(), "dequant_gemm_mxfp8_weight_only");
  EXPECT_EQ(choose(Family::mxfp8_weight_only, 5120, 4096).kernel->name(),
            "mxfp8_weight_only_by_tokens");
  // Its mxfp4 weight-only entries, tuned with that format's wgmma kernel (2026-12-07, thirteenth
  // session): N = 28672 runs the mma kernel to 8 tokens, N = 6144 to 16, the wgmma kernel at every
  // M past (it beat dequantize-then-GEMM to 8192 tokens).
  const Choice mxfp4 = choose(Family::mxfp4_weight_only, 28672, 4096);
  EXPECT_EQ(mxfp4.kernel->name(), "tuned_mxfp4_weight_only");
  EXPECT_EQ(mxfp4.kernel_for(8).name(), "mxfp4_weight_only_mma_sm80");
  EXPECT_EQ(mxfp4.kernel_for(9).name(), "mxfp4_weight_only_wgmma_sm90");
  EXPECT_EQ(mxfp4.kernel_for(8192).name(), "mxfp4_weight_only_wgmma_sm90");
  EXPECT_EQ(choose(Family::mxfp4_weight_only, 6144, 4096).kernel_for(17).name(),
            "mxfp4_weight_only_wgmma_sm90");
  // W4A8's entries, tuned with the emulation its priority plan runs past the mma kernel
  // (2026-12-07, twelfth session): N = K = 4096 runs the mma kernel to 64 tokens, then the
  // emulation (dense bf16 copy, one cuBLASLt GEMM).
  const Choice w4a8 = choose(Family::w4a8_int, 4096, 4096);
  EXPECT_EQ(w4a8.kernel->name(), "tuned_w4a8_int");
  EXPECT_EQ(w4a8.kernel_for(64).name(), "w4a8_int_mma_sm80");
  EXPECT_EQ(w4a8.kernel_for(65).name(), "emulation_w4a8_int");
  const Choice w4a8_fp8 = choose(Family::w4a8_fp8, 6144, 4096);
  EXPECT_EQ(w4a8_fp8.kernel_for(32).name(), "w4a8_fp8_mma_sm89");
  EXPECT_EQ(w4a8_fp8.kernel_for(33).name(), "emulation_w4a8_fp8");
  const Choice untuned = choose(Family::fp8_block, 5120, 4096);
  EXPECT_EQ(untuned.kernel->name(), "fp8_block_by_tokens");
  EXPECT_EQ(untuned.kernel_for(32).name(), "fp8_block_sm90");
  EXPECT_EQ(untuned.kernel_for(33).name(), "cublaslt_fp8_block");
  h100.sm_count = 114;  // an H100 PCIe: another device, the table is not its own
  EXPECT_EQ(choose(Family::fp8_block, 6144, 4096).kernel_for(17).name(), "fp8_block_sm90");
}

// `qlinear tune` leaves kernels that keep a dense copy of the weights out of a plan, except where
// the priority list's plan runs one already: W4A8 past its mma kernel (the H100 table of the
// eleventh session held W4A8's mma kernel at every M, 2.5-4x slower than its default from 256
// tokens: bench/NOTES.md "The whole preset tuned on the H100").
TEST(MixedInputMmaSm80Limits, TuneKeepsADenseCopyOnlyWhereThePriorityPlanHasOne) {
  const Platform h100 = parse_target("cuda:sm_90a");
  const auto candidates = [&](const LayerConfig& c) { return bench::tune_candidates(c, h100); };
  const auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const auto& [family, mma, emulation] :
       {std::tuple{Family::w4a8_int, "w4a8_int_mma_sm80", "emulation_w4a8_int"},
        std::tuple{Family::w4a8_fp8, "w4a8_fp8_mma_sm89", "emulation_w4a8_fp8"}}) {
    const std::vector<std::string> names = candidates(default_config(family, 4096, 4096));
    EXPECT_TRUE(has(names, mma)) << mma;
    EXPECT_TRUE(has(names, emulation)) << emulation;
    EXPECT_FALSE(has(names, "reference_" + std::string(name(family))));
  }
  const std::vector<std::string> int4 =
      candidates(default_config(Family::mixed_precision, 4096, 4096));
  EXPECT_TRUE(has(int4, "w4a16_wgmma_sm90"));
  EXPECT_TRUE(has(int4, "dequant_gemm_mixed_precision"));
  EXPECT_FALSE(has(int4, "emulation_mixed_precision"));
  EXPECT_FALSE(has(int4, "w4a16_by_tokens"));
}

}  // namespace
}  // namespace qlinear
