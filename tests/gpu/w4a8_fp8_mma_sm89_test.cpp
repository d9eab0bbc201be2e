// w4a8_fp8_mma_sm89 against the reference on the GPU (sm_89 and later; skipped elsewhere): the
// w4a8_fp8 conformance configs, every int4 code at every fragment position exactly, groups of 32,
// 64 and 128 and per channel, bf16 / fp16 / fp32 activations, outputs and scales, bias, shapes off
// the tiles, M = 1 to 300, layers split over K, M past one launch's 1024 tokens, the pool's NaN
// bytes past K that staging must clear, and the refusals. The fragment layout and the staging mask
// on the host: w4a8_int_mma_sm80_fragments_test.cpp (the same packing as W4A8).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

LayerConfig w4a8_fp8(int64_t n, int64_t k, int64_t group_size) {
  LayerConfig c = default_config(Family::w4a8_fp8, n, k);
  c.group_size = group_size;
  if (group_size == 0) c.weight_scale = Granularity::per_channel;
  return c;
}

std::shared_ptr<const Kernel> kernel_here() {
  return testing::runnable_here(cuda::make_w4a8_fp8_mma_sm89());
}
constexpr const char* kNeedsFp8 = "needs FP8 tensor cores (sm_89 or later)";

TEST(W4a8Fp8MmaSm89, ConformanceConfigs) {
  const auto kernel = kernel_here();
  if (!kernel) GTEST_SKIP() << kNeedsFp8;
  EXPECT_GE(testing::expect_conformance_configs(*kernel), 2);  // g128; per channel, fp16, bias
}

// x = 448 · identity: each token's scale is 448 / 448 = 1 and its one nonzero code 448, so every
// output is 448 · ŵ exactly (one product a sum: no accumulation error).
TEST(W4a8Fp8MmaSm89, EveryCodeExact) {
  const auto kernel = kernel_here();
  if (!kernel) GTEST_SKIP() << kNeedsFp8;
  const std::vector<uint32_t> codes = testing::every_code(4);
  LayerConfig g32 = w4a8_fp8(72, 192, 32);
  LayerConfig g64 = w4a8_fp8(40, 256, 64);
  g64.act_type = g64.weight_scale_type = T::fp16;
  LayerConfig channel = w4a8_fp8(264, 160, 0);  // N past one block of 256 rows, K padded to 192
  channel.weight_scale_type = T::bf16;
  LayerConfig g128 = w4a8_fp8(24, 256, 128);
  g128.act_type = T::fp32;
  uint64_t seed = 1;
  for (const LayerConfig& c : {g32, g64, channel, g128})
    testing::expect_every_code_exact(*kernel, c, codes, ++seed, /*diagonal=*/448.0);
}

TEST(W4a8Fp8MmaSm89, ShapesOffTheTiles) {
  const auto kernel = kernel_here();
  if (!kernel) GTEST_SKIP() << kNeedsFp8;
  LayerConfig g32 = w4a8_fp8(72, 96, 32);   // K: 1.5 k-blocks
  LayerConfig g64 = w4a8_fp8(33, 192, 64);  // 1 row into a third tile
  g64.act_type = g64.out_type = g64.weight_scale_type = T::fp16;
  LayerConfig channel = w4a8_fp8(130, 200, 0);  // K not a multiple of 16: codes past K staged
  channel.out_type = T::fp32, channel.bias = true;
  LayerConfig long_channel = w4a8_fp8(64, 4000, 0);  // folded every 128 K, 31 times
  LayerConfig g128 = w4a8_fp8(300, 1024, 128);
  g128.act_type = T::fp32, g128.weight_scale_type = T::bf16, g128.bias = true;
  uint64_t seed = 100;
  for (const LayerConfig& c : {g32, g64, channel, long_channel, g128})
    for (int64_t m : {1, 7, 16, 33, 67, 300}) testing::expect_conforms(*kernel, c, m, ++seed);
}

TEST(W4a8Fp8MmaSm89, SplitOverKAndManyTokens) {
  const auto kernel = kernel_here();
  if (!kernel) GTEST_SKIP() << kNeedsFp8;
  testing::expect_split_over_k_and_many_tokens(*kernel, [](LayerConfig&) {});
  testing::expect_split_over_k_and_many_tokens(
      *kernel, [](LayerConfig& c) { c.weight_scale = Granularity::per_channel, c.group_size = 0; });
  testing::expect_split_over_k_and_many_tokens(*kernel, [](LayerConfig& c) { c.group_size = 32; });
}

// The codes' bytes past K come from the stream's pool as the last user left them; e4m3 0x7f is
// NaN, and NaN times the zero weights there is NaN. Fill pool memory with 0x7f, give it back and
// run a layer whose K (200) leaves 56 of each row's 256 code bytes unwritten: staging must clear
// them. Without the clearing every output is NaN.
TEST(W4a8Fp8MmaSm89, PoolBytesPastKAreCleared) {
  const auto kernel = kernel_here();
  if (!kernel) GTEST_SKIP() << kNeedsFp8;
  const LayerConfig c = w4a8_fp8(64, 200, 0);
  const LayerTensors on_device = make_random_layer(c, 5).to(Device::cuda(0));
  const QuantizedLinear linear(c, on_device.weights(), *kernel, Device::cuda(0));
  for (int round = 0; round < 3; ++round) {
    void* dirty = nullptr;
    constexpr size_t kBytes = size_t{1} << 20;
    ASSERT_EQ(cudaMallocAsync(&dirty, kBytes, nullptr), cudaSuccess);
    ASSERT_EQ(cudaMemsetAsync(dirty, 0x7f, kBytes, nullptr), cudaSuccess);
    ASSERT_EQ(cudaFreeAsync(dirty, nullptr), cudaSuccess);
    const ConformanceResult r =
        run_against_reference(*kernel, {c, 16, static_cast<uint64_t>(40 + round)}, Device::cuda(0));
    EXPECT_TRUE(r.pass) << r.detail;
  }
}

TEST(W4a8Fp8MmaSm89, RefusesGroupsPastTheFoldAndOlderGpus) {
  const auto kernel = cuda::make_w4a8_fp8_mma_sm89();
  const Verdict g256 = kernel->can_implement(w4a8_fp8(64, 4096, 256));
  EXPECT_FALSE(g256.ok());
  EXPECT_NE(g256.reason().find("group_size (256) not supported"), std::string::npos)
      << g256.reason();
  Platform ampere = platform_of(Device::cuda(0));
  ampere.compute_capability = 80;
  const Verdict old = kernel->supported(ampere);
  EXPECT_FALSE(old.ok());
  EXPECT_NE(old.reason().find("needs compute capability 8.9"), std::string::npos) << old.reason();
}

}  // namespace
}  // namespace qlinear
