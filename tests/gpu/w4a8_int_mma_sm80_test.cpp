// w4a8_int_mma_sm80 against the reference on the GPU: the w4a8_int conformance configs, every int4
// code at every fragment position exactly, groups of 32 (two a k-block), 64 and 128 and per
// channel, bf16 / fp16 / fp32 activations, outputs and scales, bias, shapes off the tiles (N not a
// multiple of 16 or 256, K not a multiple of 64), M = 1, 7, 16, 33, 67 and 300, layers split over
// K, M in row chunks past one launch's 1024 tokens, the largest sums of a long
// per-channel row, zero and saturating tokens, and a refusal through the layer. Its limits on the
// host: mixed_input_mma_sm80_limits_test.cpp; its packing, fragments and decode on the host:
// w4a8_int_mma_sm80_fragments_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "cuda/kernels.hpp"
#include "mixed_input_mma_test_support.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

LayerConfig w4a8(int64_t n, int64_t k, int64_t group_size) {
  LayerConfig c = default_config(Family::w4a8_int, n, k);
  c.group_size = group_size;
  if (group_size == 0) c.weight_scale = Granularity::per_channel;
  return c;
}

TEST(W4a8IntMmaSm80, ConformanceConfigs) {
  // g128 and per channel with fp16 out and bias
  EXPECT_GE(testing::expect_conformance_configs(*cuda::make_w4a8_int_mma_sm80()), 2);
}

TEST(W4a8IntMmaSm80, EveryCodeExact) {
  const auto kernel = cuda::make_w4a8_int_mma_sm80();
  const std::vector<uint32_t> codes = testing::every_code(4);
  LayerConfig g32 = w4a8(72, 192, 32);  // a fold after every k32 step
  LayerConfig g64 = w4a8(40, 256, 64);
  g64.act_type = g64.weight_scale_type = T::fp16;
  LayerConfig channel = w4a8(264, 160, 0);  // N past one block of 256 rows, K padded to 192
  channel.weight_scale_type = T::bf16;
  LayerConfig g128 = w4a8(24, 256, 128);
  g128.act_type = T::fp32;
  uint64_t seed = 1;
  for (const LayerConfig& c : {g32, g64, channel, g128})
    testing::expect_every_code_exact(*kernel, c, codes, ++seed, /*diagonal=*/127.0);
}

TEST(W4a8IntMmaSm80, ShapesOffTheTiles) {
  LayerConfig g32 = w4a8(72, 96, 32);   // K: 1.5 k-blocks
  LayerConfig g64 = w4a8(33, 192, 64);  // 1 row into a third tile
  g64.act_type = g64.out_type = g64.weight_scale_type = T::fp16;
  LayerConfig channel = w4a8(130, 200, 0);  // K not a multiple of 16
  channel.out_type = T::fp32, channel.bias = true;
  LayerConfig g128 = w4a8(300, 1024, 128);
  g128.act_type = T::fp32, g128.weight_scale_type = T::bf16, g128.bias = true;
  LayerConfig wide = w4a8(264, 480, 32);  // N past 256 rows, K 7.5 k-blocks
  wide.act_type = T::fp16, wide.bias = true;
  const auto kernel = cuda::make_w4a8_int_mma_sm80();
  uint64_t seed = 100;
  for (const LayerConfig& c : {g32, g64, channel, g128, wide})
    for (int64_t m : {1, 7, 16, 33, 67, 300}) testing::expect_conforms(*kernel, c, m, ++seed);
}

TEST(W4a8IntMmaSm80, SplitOverKAndManyTokens) {
  const auto kernel = cuda::make_w4a8_int_mma_sm80();
  testing::expect_split_over_k_and_many_tokens(*kernel, [](LayerConfig&) {});
  testing::expect_split_over_k_and_many_tokens(
      *kernel, [](LayerConfig& c) { c.weight_scale = Granularity::per_channel, c.group_size = 0; });
  testing::expect_split_over_k_and_many_tokens(*kernel, [](LayerConfig& c) { c.group_size = 32; });
}

// A per-channel row of 14336 (one group, its int32 sum over every slice of a split K) with the
// largest products: weights all -8 (code 0) or all +7 (code 15), and tokens of -1 (codes -127),
// 0 (scale 1, codes 0: y = bias), +8 (codes 127) and a random one with outliers. |sum| reaches
// 127 · 8 · 14336 < 2^24, so its conversion to fp32 is exact too.
TEST(W4a8IntMmaSm80, LargestSumsAndSpecialTokens) {
  const auto kernel = cuda::make_w4a8_int_mma_sm80();
  LayerConfig c = w4a8(64, 14336, 0);
  c.out_type = T::fp32, c.bias = true;
  constexpr int64_t m = 4;
  const int64_t n = c.part_n(), k = c.part_k();
  RandomLayer layer = make_random_layer(c, 7);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i) store_code(layer.weight, r * k + i, r < n / 2 ? 0u : 15u);
  const Tensor x = random_activations(c.act_type, std::array{m, k}, 8);
  for (int64_t i = 0; i < k; ++i) {
    store_value(x, i, -1.0);
    store_value(x, k + i, 0.0);
    store_value(x, 2 * k + i, 8.0);
  }
  const Tensor bias = random_activations(T::fp32, std::array{n}, 9);

  const LayerWeights host = layer.weights();
  const std::vector<double> x_hat = reference::activations_as_used(c, host, x);
  const std::vector<double> w_hat = reference::dequantize_weights(c, host);
  const std::vector<double> want = reference::linear_f64(x_hat, w_hat, m, n, k, bias);
  const std::vector<double> terms = reference::magnitude_f64(x_hat, w_hat, m, n, k, bias);

  const LayerTensors on_device = layer.to(Device::cuda(0));
  const QuantizedLinear linear(c, on_device.weights(), *kernel, Device::cuda(0));
  const Tensor y = Tensor::copy_of(
      linear.forward(Tensor::copy_of(x, Device::cuda(0)), Tensor::copy_of(bias, Device::cuda(0))),
      Device::cpu());
  const double bound =
      unit_roundoff(c.out_type) + 2.0 * static_cast<double>(k) * unit_roundoff(ScalarType::fp32);
  for (int64_t i = 0; i < m * n; ++i) {
    const double error = std::fabs(load_value(y, i) - want[i]) / std::max(terms[i], 1e-300);
    EXPECT_LE(error, bound) << "token " << i / n << ", row " << i % n << ": " << load_value(y, i)
                            << ", reference " << want[i];
  }
}

TEST(W4a8IntMmaSm80, RefusesThroughTheLayer) {
  const auto kernel = cuda::make_w4a8_int_mma_sm80();
  const LayerConfig c = w4a8(64, 4608, 96);
  const LayerTensors on_device = make_random_layer(c, 3).to(Device::cuda(0));
  try {
    const QuantizedLinear linear(c, on_device.weights(), *kernel, Device::cuda(0));
    ADD_FAILURE() << "w4a8_int_mma_sm80 took group_size 96";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "group_size (96) not supported; supported: 32 and multiples of 64"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qlinear
