// The Hopper scaled-mm kernels (fp8_scaled_mm_sm90, int8_scaled_mm_sm90, fp8_block_sm90) against
// the reference on the GPU: every scale combination, zero points, bias, bf16 / fp16 / fp32 out,
// M in {1, 7, 64, 129, 1000, 4096} (the decode tiles with split K, the 128x128 tiles with and
// without split K), N and K off the 128 grid (K off the 16-byte grid too). Each kernel runs its
// own GEMM at every M; the registered composite plans hand large M to cuBLASLt.
#include <gtest/gtest.h>

#include "cublaslt/kernels.hpp"
#include "cuda/kernels.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using G = Granularity;

const std::vector<int64_t> kM = {1, 7, 64, 129, 1000, 4096};

void expect_conforms(const Kernel& kernel, const LayerConfig& c, int64_t m, uint64_t seed) {
  const ConformanceResult r = run_against_reference(kernel, {c, m, seed}, Device::cuda(0));
  EXPECT_TRUE(r.pass) << kernel.name() << " " << c.describe() << " M=" << m << ": error "
                      << r.max_error << " > tolerance " << r.tolerance << "; " << r.detail;
}

// The activation schemes of the per-tensor / per-token families: static per-tensor, dynamic
// per-tensor, dynamic per-token.
std::vector<LayerConfig> scale_combinations(Family family, int64_t n, int64_t k) {
  std::vector<LayerConfig> out;
  for (G weight : {G::per_tensor, G::per_channel})
    for (int act = 0; act < 3; ++act) {
      LayerConfig c = default_config(family, n, k);
      c.weight_scale = weight;
      c.act_scale = act == 2 ? G::per_token : G::per_tensor;
      c.act_scale_static = act == 0;
      c.bias = act != 1;
      c.out_type = act == 2 ? T::fp16 : T::bf16;
      out.push_back(c);
    }
  return out;
}

TEST(Fp8ScaledMmSm90, EveryScaleCombinationAndM) {
  const auto kernel = cuda::make_fp8_scaled_mm_sm90(cublaslt::make_fp8_scaled_mm());
  uint64_t seed = 1;
  for (const LayerConfig& c : scale_combinations(Family::fp8_scaled_mm, 200, 336))
    for (int64_t m : kM) expect_conforms(*kernel, c, m, ++seed);
}

TEST(Fp8ScaledMmSm90, SplitKAndOddShapes) {
  const auto kernel = cuda::make_fp8_scaled_mm_sm90(cublaslt::make_fp8_scaled_mm());
  LayerConfig deep = default_config(Family::fp8_scaled_mm, 264, 4096);  // K split at every M here
  LayerConfig odd = default_config(Family::fp8_scaled_mm, 130, 200);    // K off the 16 grid
  odd.out_type = T::fp32, odd.bias = true;
  uint64_t seed = 50;
  for (const LayerConfig& c : {deep, odd})
    for (int64_t m : {1, 3, 33, 64, 65, 300}) expect_conforms(*kernel, c, m, ++seed);
}

TEST(Int8ScaledMmSm90, EveryScaleCombinationAndM) {
  const auto kernel = cuda::make_int8_scaled_mm_sm90(cublaslt::make_int8_scaled_mm());
  uint64_t seed = 100;
  for (const LayerConfig& c : scale_combinations(Family::int8_scaled_mm, 200, 336))
    for (int64_t m : kM) expect_conforms(*kernel, c, m, ++seed);
}

TEST(Int8ScaledMmSm90, ZeroPointsPerTensorAndPerToken) {
  const auto kernel = cuda::make_int8_scaled_mm_sm90(cublaslt::make_int8_scaled_mm());
  uint64_t seed = 200;
  for (const LayerConfig& base : scale_combinations(Family::int8_scaled_mm, 264, 400)) {
    LayerConfig c = base;
    c.act_zero_points = true;
    for (int64_t m : {1, 7, 64, 129, 1000}) expect_conforms(*kernel, c, m, ++seed);
  }
  LayerConfig deep = default_config(Family::int8_scaled_mm, 136, 4096);
  deep.act_zero_points = true, deep.bias = true;
  for (int64_t m : {2, 100}) expect_conforms(*kernel, deep, m, ++seed);
}

TEST(Fp8BlockSm90, EveryMAndBlocksOffTheGrid) {
  const auto kernel = cuda::make_fp8_block_sm90(cublaslt::make_fp8_block());
  LayerConfig bf16 = default_config(Family::fp8_block, 320, 400);  // 2.5 N blocks, 3.1 K blocks
  LayerConfig fp16 = default_config(Family::fp8_block, 200, 1000);
  fp16.out_type = T::fp16, fp16.bias = true;
  LayerConfig deep = default_config(Family::fp8_block, 256, 4096);
  uint64_t seed = 300;
  for (const LayerConfig& c : {bf16, fp16})
    for (int64_t m : kM) expect_conforms(*kernel, c, m, ++seed);
  for (int64_t m : {1, 16, 200}) expect_conforms(*kernel, deep, m, ++seed);
}

TEST(ScaledMmSm90, ConformanceConfigs) {
  int run = 0;
  for (const auto& kernel : {cuda::make_fp8_scaled_mm_sm90(cublaslt::make_fp8_scaled_mm()),
                             cuda::make_int8_scaled_mm_sm90(cublaslt::make_int8_scaled_mm()),
                             cuda::make_fp8_block_sm90(cublaslt::make_fp8_block())})
    for (const LayerConfig& c : conformance_configs(kernel->info().family)) {
      if (!kernel->can_implement(c)) continue;
      for (int64_t m : conformance_m_values()) expect_conforms(*kernel, c, m, 400 + run++);
    }
  EXPECT_GE(run, 6);
}

// As registered: the composite plan of each family runs the own GEMM for decode and cuBLASLt
// past it, on one copy of the codes; chosen ahead of either part alone.
TEST(ScaledMmSm90, RegisteredPlansHandLargeMToCublasLt) {
  uint64_t seed = 500;
  for (Family family : {Family::fp8_scaled_mm, Family::int8_scaled_mm, Family::fp8_block}) {
    const LayerConfig c = default_config(family, 264, 400);
    const Choice choice = Registry::global().choose(c, platform_of(Device::cuda(0)));
    const auto* plan = dynamic_cast<const CompositeKernel*>(choice.kernel);
    ASSERT_NE(plan, nullptr) << describe(choice);
    const int64_t limit = plan->parts().front().max_m;
    EXPECT_NE(choice.kernel_for(limit).name().find("_sm90"), std::string::npos);
    EXPECT_NE(choice.kernel_for(limit + 1).name().find("cublaslt_"), std::string::npos);
    for (int64_t m : {int64_t{1}, limit, limit + 1, int64_t{300}})
      expect_conforms(*choice.kernel, c, m, ++seed);
  }
}

TEST(ScaledMmSm90, StatesWhatItRefuses) {
  const auto block = cuda::make_fp8_block_sm90(cublaslt::make_fp8_block());
  LayerConfig c = default_config(Family::fp8_block, 256, 256);
  c.block_n = 64;
  EXPECT_NE(block->can_implement(c).reason().find("128x128 blocks"), std::string::npos);
  EXPECT_FALSE(block->supported(parse_target("cuda:sm_80")));
  EXPECT_NE(block->supported(parse_target("cuda:sm_80")).reason().find("sm_90a"),
            std::string::npos);
  EXPECT_TRUE(block->supported(platform_of(Device::cuda(0))))
      << block->supported(platform_of(Device::cuda(0))).reason();
}

}  // namespace
}  // namespace qlinear
