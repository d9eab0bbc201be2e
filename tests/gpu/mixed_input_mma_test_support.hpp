// Checks shared by the tests of the mixed-input tensor-core kernels (w4a16_mma_sm80,
// w8a16_mma_sm80, mxfp8_weight_only_mma_sm80, nvfp4_weight_only_mma_sm80, w4a8_int_mma_sm80,
// w4a8_fp8_mma_sm89) on the first GPU.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "cuda/detail/mixed_input_prepared.hpp"
#include "cuda/hopper/mixed_input_wgmma_sm90.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::testing {

// The kernel where the first GPU can run it, else null: the tests of the Hopper kernels skip on
// other GPUs (if (!kernel) GTEST_SKIP() << kNeedsHopper).
inline std::shared_ptr<const Kernel> runnable_here(std::shared_ptr<const Kernel> kernel) {
  return kernel->supported(platform_of(Device::cuda(0))) ? kernel : nullptr;
}
inline constexpr const char* kNeedsHopper = "needs an sm_90a GPU";

// Every code of a `bits`-wide weight type, 0 .. 2^bits - 1.
inline std::vector<uint32_t> every_code(int bits) {
  std::vector<uint32_t> codes(size_t{1} << bits);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint32_t>(i);
  return codes;
}

// Every e4m3 code but the NaNs 0x7f and 0xff.
inline std::vector<uint32_t> every_finite_e4m3_code() {
  std::vector<uint32_t> codes;
  for (uint32_t i = 0; i < 256; ++i)
    if ((i & 0x7f) != 0x7f) codes.push_back(i);
  return codes;
}

// An 8-bit mixed_precision layer: uint8 with zero points, else symmetric; group_size 0 is per
// channel.
inline LayerConfig eight_bit_config(ScalarType type, int64_t n, int64_t k, int64_t group_size) {
  LayerConfig c = default_config(Family::mixed_precision, n, k);
  c.weight_type = type;
  c.zero_points = type == ScalarType::uint8;
  c.group_size = group_size;
  if (group_size == 0) c.weight_scale = Granularity::per_channel;
  return c;
}

// Up to 1024 tokens the tensor-core path runs, whose weights are exact: held to the bound of an
// fp32 sum (twice the plain one) and one output rounding, tighter than the kernel's stated
// tolerance, which also covers the emulation path it takes past 1024 tokens. The FP8 tensor cores
// (w4a8_fp8) accumulate with fewer bits than fp32: held to the kernel's tolerance, which says how
// many.
// The Hopper integer wgmma kernels round each weight with its group scale on their 256-token tiles
// (past 256 tokens, without zero points: GroupScalesInFragment), within their stated tolerance.
inline bool rounds_weights(const Kernel& kernel, const LayerConfig& c, int64_t m) {
  return m > 256 && !c.zero_points &&
         (kernel.name() == "w4a16_wgmma_sm90" || kernel.name() == "w8a16_wgmma_sm90");
}

inline void expect_conforms(const Kernel& kernel, const LayerConfig& c, int64_t m, uint64_t seed) {
  const ConformanceResult r = run_against_reference(kernel, {c, m, seed}, Device::cuda(0));
  const double exact = unit_roundoff(c.out_type) +
                       2.0 * static_cast<double>(c.part_k()) * unit_roundoff(ScalarType::fp32);
  const bool fp8_accumulation = kernel.family() == Family::w4a8_fp8;
  const double bound =
      m <= 1024 && !fp8_accumulation && !rounds_weights(kernel, c, m) ? exact : r.tolerance;
  EXPECT_TRUE(r.pass && r.max_error <= bound)
      << kernel.name() << " " << c.describe() << " M=" << m << ": error " << r.max_error
      << " > bound " << bound << "; " << r.detail;
}

// Every conformance config of the kernel's family that it implements, at M = 1, 7, 16, 33, 67 and
// 300; returns how many configs ran.
inline int expect_conformance_configs(const Kernel& kernel) {
  int configs = 0;
  uint64_t seed = 10;
  for (const LayerConfig& c : conformance_configs(kernel.family())) {
    if (!kernel.can_implement(c)) continue;
    ++configs;
    for (int64_t m : {1, 7, 16, 33, 67, 300}) expect_conforms(kernel, c, m, seed++);
  }
  return configs;
}

// Each config at M = 1, 5, 9, 16, 33, 64, 65 and 300: one token tile, two, the 16- and 32-token
// blocks, and several blocks of 32 with a partial last one.
inline void expect_shapes_conform(const Kernel& kernel,
                                  std::initializer_list<LayerConfig> configs) {
  uint64_t seed = 100;
  for (const LayerConfig& c : configs)
    for (int64_t m : {1, 5, 9, 16, 33, 64, 65, 300}) expect_conforms(kernel, c, m, ++seed);
}

// A Hopper mixed-input kernel on the family's typical config: 4096 x 4096 at M = 3 (32 tiles, K
// split 4 ways) and M = 200 (tiles of 128 tokens, split 2 ways), and prefill-sized M on 1000 x 2048
// (M = 2100).
inline void expect_split_over_k_and_prefill(const Kernel& kernel) {
  const LayerConfig big = default_config(kernel.family(), 4096, 4096);
  expect_conforms(kernel, big, 3, 7);
  expect_conforms(kernel, big, 200, 8);
  expect_conforms(kernel, default_config(kernel.family(), 1000, 2048), 2100, 10);
}

// The family's typical config (adjusted by `adjust`) on a layer split over K (4096 x 4096, M = 3),
// a deep one in fp16 (512 x 14336, M = 20), and at the last M of one launch and past it, which
// runs as launches over row chunks (136 x 256, M = 1024, 1100 and 2100).
template <typename Adjust>
void expect_split_over_k_and_many_tokens(const Kernel& kernel, Adjust adjust) {
  const auto config = [&](int64_t n, int64_t k) {
    LayerConfig c = default_config(kernel.family(), n, k);
    adjust(c);
    return c;
  };
  expect_conforms(kernel, config(4096, 4096), 3, 7);
  LayerConfig deep = config(512, 14336);
  deep.act_type = deep.out_type = ScalarType::fp16;
  if (deep.weight_scale_type == ScalarType::bf16) deep.weight_scale_type = ScalarType::fp16;
  expect_conforms(kernel, deep, 20, 8);
  expect_conforms(kernel, config(136, 256), 1024, 9);
  expect_conforms(kernel, config(136, 256), 1100, 10);
  expect_conforms(kernel, config(136, 256), 2100, 11);
}

// The weights `kernel` prepares on the first GPU for `c` with these e8m0 scale codes (cycled).
inline std::shared_ptr<const PreparedWeights> prepared_with_scales(
    const Kernel& kernel, const LayerConfig& c, std::span<const uint32_t> scales) {
  RandomLayer layer = make_random_layer(c, 5);
  for (int64_t i = 0; i < layer.weight_scale.numel(); ++i)
    store_code(layer.weight_scale, i, scales[static_cast<size_t>(i % std::ssize(scales))]);
  const LayerTensors on_device = layer.to(Device::cuda(0));
  return kernel.process_weights(c, on_device.weights(), Device::cuda(0));
}

// Whether an MX mma kernel applies these scales in the fragment, not folding them per group.
inline bool scales_in_fragment(const Kernel& kernel, const LayerConfig& c,
                               std::span<const uint32_t> scales) {
  return !static_cast<const cuda::detail::Prepared&>(*prepared_with_scales(kernel, c, scales))
              .folds;
}

// Whether a Hopper MX kernel runs `c` with these scales on its own wgmma path, not the mma kernel
// it hands the layers to whose scales that kernel folds.
inline bool runs_on_wgmma(const Kernel& kernel, const LayerConfig& c,
                          std::span<const uint32_t> scales) {
  return !static_cast<const cuda::sm90::MixedInputWeights&>(
              *prepared_with_scales(kernel, c, scales))
              .on_mma_kernel;
}

// Every code of the weight type at every position of the packed fragments, and every scale and
// zero point at its rows and groups, checked exactly: the layer's codes cycle through `codes`, its
// scales are powers of two (nvfp4's e4m3 block scales cycle through every positive code, the
// subnormal ones included), and x is `diagonal` times the identity (M = K, fp32 out), so y[m, n]
// must equal diagonal · the reference's ŵ[n, m] to the last bit. A wrong slot, shift, byte
// selector or exponent bias shows up here as the first (n, k) that differs, with its code. (Int8
// per-token activations: diagonal 127 quantizes to code 127 with scale 1, exactly.) e8m0 scales
// cycle through `e8m0_codes` where given, else 2^-3 .. 2^3.
inline void expect_every_code_exact(const Kernel& kernel, LayerConfig c,
                                    std::span<const uint32_t> codes, uint64_t seed,
                                    double diagonal = 1.0,
                                    std::span<const uint32_t> e8m0_codes = {}) {
  c.out_type = ScalarType::fp32;
  c.bias = false;
  RandomLayer layer = make_random_layer(c, seed);
  const int64_t n = c.part_n(), k = c.part_k();
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i)
      store_code(layer.weight, r * k + i,
                 codes[static_cast<size_t>((5 * r + i) % std::ssize(codes))]);
  for (int64_t i = 0; i < layer.weight_scale.numel(); ++i) {
    switch (c.weight_scale_type) {
      case ScalarType::float8_e8m0fnu:
        store_code(layer.weight_scale, i,
                   e8m0_codes.empty()
                       ? static_cast<uint32_t>(127 + i % 7 - 3)
                       : e8m0_codes[static_cast<size_t>(i % std::ssize(e8m0_codes))]);
        break;
      case ScalarType::float8_e4m3fn:
        store_code(layer.weight_scale, i, static_cast<uint32_t>(1 + i % 126));
        break;
      default:
        store_value(layer.weight_scale, i, std::ldexp(1.0, static_cast<int>(i % 7) - 3));
        break;
    }
  }
  if (c.has_global_scale()) *layer.weight_global_scale.data_as<float>() = 0.125f;

  const Tensor x = Tensor::empty(c.act_type, {k, k});
  for (int64_t i = 0; i < k * k; ++i) store_value(x, i, i / k == i % k ? diagonal : 0.0);
  const std::vector<double> w_hat = reference::dequantize_weights(c, layer.weights());

  const LayerTensors on_device = layer.to(Device::cuda(0));
  const QuantizedLinear linear(c, on_device.weights(), kernel, Device::cuda(0));
  Tensor poisoned = Tensor::empty(ScalarType::fp32, {k, n});
  for (int64_t i = 0; i < k * n; ++i) poisoned.data_as<float>()[i] = std::nanf("");
  const Tensor out = Tensor::copy_of(poisoned, Device::cuda(0));
  linear.forward_into(Tensor::copy_of(x, Device::cuda(0)), out);
  const Tensor y = Tensor::copy_of(out, Device::cpu());
  int64_t wrong = 0;
  for (int64_t m = 0; m < k; ++m)
    for (int64_t r = 0; r < n; ++r) {
      const double got = load_value(y, m * n + r), want = diagonal * w_hat[r * k + m];
      if (got != want && wrong++ == 0)
        ADD_FAILURE() << kernel.name() << " " << c.describe() << ": w[" << r << ", " << m
                      << "] (code " << load_code(layer.weight, r * k + m) << ") came out " << got
                      << ", reference " << want;
    }
  EXPECT_EQ(wrong, 0) << kernel.name() << " " << c.describe() << ": outputs that differ";
}

// Every e2m1 code at every position and every positive e4m3 block scale, exactly, for an NVFP4
// weight-only kernel: bf16 on 72 x 256, and fp16 on 264 x 208 (K: 3.25 k-blocks of 64).
inline void expect_every_nvfp4_weight_only_code_exact(const Kernel& kernel) {
  const std::vector<uint32_t> codes = every_code(4);
  LayerConfig bf16 = default_config(Family::nvfp4_weight_only, 72, 256);
  LayerConfig fp16 = default_config(Family::nvfp4_weight_only, 264, 208);
  fp16.act_type = ScalarType::fp16;
  expect_every_code_exact(kernel, bf16, codes, 1);
  expect_every_code_exact(kernel, fp16, codes, 2);
}

// Every finite e4m3 code at every position and every e8m0 scale, exactly, for an MXFP8
// weight-only kernel: bf16 on 72 x 256, and fp16 on 264 x 96 (past 256 rows).
// An MX kernel's layers with scales past the fragment's exact range (cuda/mx_fragment_scales.hpp:
// bf16 mxfp4 2^-126 .. 2^1, mxfp8 2^-117 .. 2^7; fp16 2^-13 .. 2^1, 2^-5 .. 2^7), the codes cycled:
// `in_fragment` (scales_in_fragment for an mma kernel, runs_on_wgmma for a Hopper one) says they
// take the folds, and every code stays exact there.
template <typename InFragment>
void expect_scales_outside_the_fragment_exact(const Kernel& kernel, Family family,
                                              InFragment in_fragment) {
  const bool mxfp4 = family == Family::mxfp4_weight_only;
  const std::vector<uint32_t> codes = mxfp4 ? every_code(4) : every_finite_e4m3_code();
  const std::vector<uint32_t> bf16_scales = mxfp4 ? std::vector<uint32_t>{1, 60, 127, 129, 200}
                                                  : std::vector<uint32_t>{9, 60, 127, 135, 140};
  const std::vector<uint32_t> fp16_scales = mxfp4 ? std::vector<uint32_t>{110, 113, 127, 129, 131}
                                                  : std::vector<uint32_t>{115, 121, 127, 129};
  LayerConfig bf16 = default_config(family, 72, 256), fp16 = default_config(family, 264, 96);
  fp16.act_type = ScalarType::fp16;
  EXPECT_FALSE(in_fragment(kernel, bf16, bf16_scales));
  EXPECT_FALSE(in_fragment(kernel, fp16, fp16_scales));
  expect_every_code_exact(kernel, bf16, codes, 3, 1.0, bf16_scales);
  expect_every_code_exact(kernel, fp16, codes, 4, 1.0, fp16_scales);
}

inline void expect_every_mxfp8_weight_only_code_exact(const Kernel& kernel) {
  const std::vector<uint32_t> codes = every_finite_e4m3_code();
  LayerConfig bf16 = default_config(Family::mxfp8_weight_only, 72, 256);
  LayerConfig fp16 = default_config(Family::mxfp8_weight_only, 264, 96);
  fp16.act_type = ScalarType::fp16;
  expect_every_code_exact(kernel, bf16, codes, 1);
  expect_every_code_exact(kernel, fp16, codes, 2);
}

}  // namespace qlinear::testing
