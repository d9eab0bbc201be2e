// The dequant_gemm kernels against the reference on the GPU (run_against_reference: fresh random
// data, the output poisoned first), at M = 1, 7, 64, 300 and 1100: every weight type of the three
// families (uint4b8, uint4 + zero points, uint8b128, uint8 + zero points, int8, float4_e2m1 with
// e4m3 scales per 16 and a global scale, float8_e4m3 with e8m0 scales per 32), per-channel scales
// and groups of 16 / 8 (two a run), 32, 64, 128 and 48 / 24 (a group per position), act order
// (a row split too), bf16 and fp16 activations and scales, bf16 / fp16 / fp32 outputs, a bias of
// each type (cuBLASLt's bias epilogue, qlinear's epilogue from fp32, in place on fp32), N and K
// off every grid; every code of each format exactly (identity activations); operands read in
// place at addresses that are not 256-byte aligned. Host-side parts: dequant_gemm_host_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cuda/kernels.hpp"
#include "layer_configs.hpp"
#include "mixed_input_mma_test_support.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {
namespace {

using T = ScalarType;

constexpr int64_t kTokens[] = {1, 7, 64, 300, 1100};

void expect_conforms(const Kernel& kernel, const LayerConfig& c, uint64_t& seed,
                     T bias_type = T::fp32, std::span<const int64_t> tokens = kTokens) {
  ASSERT_TRUE(kernel.can_implement(c)) << c.describe();
  for (int64_t m : tokens) {
    const ConformanceResult r =
        run_against_reference(kernel, {c, m, ++seed, bias_type}, Device::cuda(0));
    EXPECT_TRUE(r.pass) << kernel.name() << " " << c.describe() << " M=" << m << " bias "
                        << name(bias_type) << ": error " << r.max_error << " > tolerance "
                        << r.tolerance << "; " << r.detail;
  }
}

constexpr auto mixed = testing::mixed_precision;
using testing::with;

const auto fp16 = [](LayerConfig& c) { c.act_type = c.out_type = c.weight_scale_type = T::fp16; };
const auto fp32_out_bias = [](LayerConfig& c) { c.out_type = T::fp32, c.bias = true; };
const auto bias = [](LayerConfig& c) { c.bias = true; };
const auto order = [](LayerConfig& c) { c.act_order = true; };

TEST(DequantGemm, MixedPrecisionFourBit) {
  const auto kernel = cuda::make_dequant_gemm_mixed_precision();
  uint64_t seed = 100;
  for (const LayerConfig& c : {
           mixed(T::uint4b8, 136, 200, 0),                         // per channel, K % 32 = 8
           with(mixed(T::uint4b8, 72, 96, 32), bias),              // one group a run
           with(mixed(T::uint4b8, 100, 320, 64), fp16),            //
           with(mixed(T::uint4b8, 129, 384, 128), fp32_out_bias),  //
           with(mixed(T::uint4b8, 40, 208, 16), fp16),             // two groups a run; K % 32 = 16
           mixed(T::uint4b8, 33, 240, 48),                         // a group per position
           with(mixed(T::uint4b8, 72, 640, 128), order),           // act order
           with(mixed(T::uint4, 136, 320, 64), fp16),              // zero points
           with(mixed(T::uint4, 65, 160, 32), bias),               //
           with(mixed(T::uint4, 40, 512, 128), order),             // act order, zero points
           with(mixed(T::uint4, 40, 512, 128),
                [](LayerConfig& c) { c.act_order = true, c.partition_k = 256; }),  // row split
       })
    expect_conforms(*kernel, c, seed);
}

TEST(DequantGemm, MixedPrecisionEightBit) {
  const auto kernel = cuda::make_dequant_gemm_mixed_precision();
  uint64_t seed = 200;
  for (const LayerConfig& c : {
           mixed(T::uint8b128, 100, 200, 0),                        // per channel, K % 16 = 8
           with(mixed(T::uint8b128, 72, 96, 32), fp16),             //
           with(mixed(T::uint8b128, 33, 256, 128), fp32_out_bias),  //
           mixed(T::uint8b128, 72, 200, 8),                         // two groups a run
           with(mixed(T::uint8b128, 40, 240, 24), bias),            // a group per position
           with(mixed(T::uint8b128, 300, 1024, 128), order),        // act order
           with(mixed(T::uint8, 40, 96, 32), bias),                 // zero points
           with(mixed(T::uint8, 129, 448, 64), fp16),               //
           with(mixed(T::uint8, 72, 480, 32), order),               // act order, zero points
           with(mixed(T::int8, 33, 136, 0), fp16),                  // per channel, K % 16 = 8
           with(mixed(T::int8, 100, 384, 128),
                [](LayerConfig& c) { c.weight_scale_type = T::fp32, c.out_type = T::fp16; }),
       })
    expect_conforms(*kernel, c, seed);
}

TEST(DequantGemm, Nvfp4WeightOnly) {
  const auto kernel = cuda::make_dequant_gemm_nvfp4_weight_only();
  uint64_t seed = 300;
  const LayerConfig typical = default_config(Family::nvfp4_weight_only, 136, 208);  // K % 32 = 16
  for (const LayerConfig& c : {
           typical,
           with(default_config(Family::nvfp4_weight_only, 72, 112),
                [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; }),
           with(default_config(Family::nvfp4_weight_only, 129, 256), fp32_out_bias),
           with(default_config(Family::nvfp4_weight_only, 33, 512),
                [](LayerConfig& c) { c.act_type = T::fp16, c.out_type = T::bf16; }),
       })
    expect_conforms(*kernel, c, seed);
}

TEST(DequantGemm, Mxfp8WeightOnly) {
  const auto kernel = cuda::make_dequant_gemm_mxfp8_weight_only();
  uint64_t seed = 400;
  for (const LayerConfig& c : {
           default_config(Family::mxfp8_weight_only, 100, 224),
           with(default_config(Family::mxfp8_weight_only, 72, 96),
                [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; }),
           with(default_config(Family::mxfp8_weight_only, 129, 320), fp32_out_bias),
           with(default_config(Family::mxfp8_weight_only, 33, 160),
                [](LayerConfig& c) { c.out_type = T::fp16; }),
       })
    expect_conforms(*kernel, c, seed);
}

TEST(DequantGemm, Mxfp4WeightOnly) {
  const auto kernel = cuda::make_dequant_gemm_mxfp4_weight_only();
  uint64_t seed = 450;
  for (const LayerConfig& c : {
           default_config(Family::mxfp4_weight_only, 136, 224),  // K % 64 = 32
           with(default_config(Family::mxfp4_weight_only, 72, 96),
                [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; }),
           with(default_config(Family::mxfp4_weight_only, 129, 320), fp32_out_bias),
       })
    expect_conforms(*kernel, c, seed);
}

TEST(DequantGemm, Fp8WeightOnly) {
  const auto kernel = cuda::make_dequant_gemm_fp8_weight_only();
  const auto per_tensor = [](LayerConfig& c) { c.weight_scale = Granularity::per_tensor; };
  uint64_t seed = 470;
  for (const LayerConfig& c : {
           default_config(Family::fp8_weight_only, 100, 200),  // per channel, K % 16 = 8
           with(default_config(Family::fp8_weight_only, 72, 96),
                [&](LayerConfig& c) {
                  per_tensor(c);
                  c.act_type = c.out_type = T::fp16, c.bias = true;
                }),
           with(default_config(Family::fp8_weight_only, 129, 320), fp32_out_bias),
           with(default_config(Family::fp8_weight_only, 33, 160), per_tensor),
       })
    expect_conforms(*kernel, c, seed);
}

// Each way the bias is added (cuda/dequant_gemm_plan.hpp, plan_output): by cuBLASLt (the bias's
// type is the output's), by qlinear's epilogue from an fp32 product, in place on an fp32 output;
// at two M (the paths do not depend on it).
TEST(DequantGemm, EveryBiasPath) {
  uint64_t seed = 500;
  constexpr int64_t kTwoM[] = {7, 300};
  const auto kernel = cuda::make_dequant_gemm_mixed_precision();
  for (T act : {T::bf16, T::fp16})
    for (T out : {T::bf16, T::fp16, T::fp32})
      for (T bias_type : {T::bf16, T::fp16, T::fp32}) {
        const LayerConfig c = with(mixed(T::uint4b8, 72, 160, 32), [&](LayerConfig& c) {
          c.act_type = act, c.out_type = out, c.bias = true;
        });
        expect_conforms(*kernel, c, seed, bias_type, kTwoM);
      }
  expect_conforms(*cuda::make_dequant_gemm_nvfp4_weight_only(),
                  with(default_config(Family::nvfp4_weight_only, 40, 96), bias), seed, T::bf16,
                  kTwoM);
  expect_conforms(*cuda::make_dequant_gemm_mxfp8_weight_only(),
                  with(default_config(Family::mxfp8_weight_only, 40, 96),
                       [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; }),
                  seed, T::fp16, kTwoM);
}

// Every code at every position, power-of-two scales, identity activations (M = K) and fp32
// output: y[m, n] must be the reference's ŵ[n, m] to the bit (ŵ is exact in both 16-bit types).
TEST(DequantGemm, EveryCodeExact) {
  std::vector<uint32_t> all(256);
  for (uint32_t i = 0; i < 256; ++i) all[i] = i;
  const std::span<const uint32_t> nibbles(all.data(), 16), bytes(all.data(), 256);
  std::vector<uint32_t> e4m3;  // NaN codes (0x7f, 0xff) left out: NaN is not equal to itself
  for (uint32_t i = 0; i < 256; ++i)
    if ((i & 0x7f) != 0x7f) e4m3.push_back(i);
  const auto mp = cuda::make_dequant_gemm_mixed_precision();
  uint64_t seed = 600;
  for (T act : {T::bf16, T::fp16}) {
    const auto in = [&](LayerConfig c) {
      c.act_type = act;
      return c;
    };
    testing::expect_every_code_exact(*mp, in(mixed(T::uint4b8, 72, 256, 64)), nibbles, ++seed);
    testing::expect_every_code_exact(*mp, in(mixed(T::uint4, 40, 208, 16)), nibbles, ++seed);
    testing::expect_every_code_exact(*mp, in(with(mixed(T::uint4, 24, 256, 128), order)), nibbles,
                                     ++seed);
    testing::expect_every_code_exact(*mp, in(mixed(T::uint8b128, 72, 200, 0)), bytes, ++seed);
    testing::expect_every_code_exact(*mp, in(mixed(T::uint8, 40, 192, 32)), bytes, ++seed);
    testing::expect_every_code_exact(*mp, in(mixed(T::int8, 33, 240, 24)), bytes, ++seed);
    testing::expect_every_code_exact(*cuda::make_dequant_gemm_nvfp4_weight_only(),
                                     in(default_config(Family::nvfp4_weight_only, 40, 208)),
                                     nibbles, ++seed);
    testing::expect_every_code_exact(*cuda::make_dequant_gemm_mxfp8_weight_only(),
                                     in(default_config(Family::mxfp8_weight_only, 40, 224)), e4m3,
                                     ++seed);
    testing::expect_every_code_exact(*cuda::make_dequant_gemm_mxfp4_weight_only(),
                                     in(default_config(Family::mxfp4_weight_only, 40, 224)),
                                     nibbles, ++seed);
    testing::expect_every_code_exact(*cuda::make_dequant_gemm_fp8_weight_only(),
                                     in(default_config(Family::fp8_weight_only, 40, 224)), e4m3,
                                     ++seed);
  }
}

// x and out read and written in place where they start 16 (not 256) bytes into an allocation (a
// view of rows 1.. of a larger tensor, as a batch slice is): cuBLASLt is told the alignment.
TEST(DequantGemm, OperandsNotAlignedTo256Bytes) {
  const auto kernel = cuda::make_dequant_gemm_mixed_precision();
  const LayerConfig c = with(mixed(T::uint4b8, 136, 392, 56), bias);  // rows of 784 / 272 bytes
  const int64_t m = 1100, n = c.part_n(), k = c.part_k();
  const RandomLayer layer = make_random_layer(c, 700);
  const Tensor x = random_activations(c.act_type, std::array{m + 1, k}, 701);
  const Tensor bias_t = random_activations(T::bf16, std::array{n}, 702);
  const std::vector<double> w_hat = reference::dequantize_weights(c, layer.weights());
  const TensorView x_rows(x.data_as<uint8_t>() + k * 2, c.act_type, {m, k});
  const std::vector<double> x_hat = reference::activations_as_used(c, layer.weights(), x_rows);
  const std::vector<double> want = reference::linear_f64(x_hat, w_hat, m, n, k, bias_t);
  const std::vector<double> terms = reference::magnitude_f64(x_hat, w_hat, m, n, k, bias_t);

  const Device gpu = Device::cuda(0);
  const LayerTensors on_device = layer.to(gpu);
  const QuantizedLinear linear(c, on_device.weights(), *kernel, gpu);
  const Tensor x_dev = Tensor::copy_of(x, gpu);
  Tensor out_host = Tensor::empty(c.out_type, {m + 1, n});
  for (int64_t i = 0; i < out_host.numel(); ++i)
    store_code(out_host, i, encode(c.out_type, std::nan("")));
  const Tensor out_dev = Tensor::copy_of(out_host, gpu);
  const TensorView x_view(x_dev.data_as<uint8_t>() + k * 2, c.act_type, {m, k}, gpu);
  const TensorView out_view(out_dev.data_as<uint8_t>() + n * 2, c.out_type, {m, n}, gpu);
  linear.forward_into(x_view, out_view, Tensor::copy_of(bias_t, gpu));
  const Tensor y = Tensor::copy_of(out_dev, Device::cpu());

  double worst = 0;
  for (int64_t i = 0; i < m * n; ++i) {
    const double got = load_value(y, n + i);
    worst = std::max(worst, std::isnan(got) ? std::numeric_limits<double>::infinity()
                                            : std::fabs(got - want[i]) / terms[i]);
  }
  EXPECT_LE(worst, kernel->tolerance(c));
  EXPECT_TRUE(std::isnan(load_value(y, 0))) << "row 0 of the larger output was written";
}

}  // namespace
}  // namespace qlinear
