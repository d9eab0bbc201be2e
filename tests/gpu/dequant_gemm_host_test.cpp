// The dequant_gemm kernels' host-testable parts, without a GPU (in CI): the code decoders of
// formats.cuh for every code, the dequantization of every run of random layers (the same
// __host__ __device__ code the kernel runs, dequant_run.cuh, here on the host) against the
// reference's ŵ for every weight type, grouping, activation type and shapes off every grid, the
// index math's bounds, the layout choices (grouping, fp16's power of two, where the output and
// bias go) and the refusals. Their platforms and place in selection (after the emulation,
// forceable): mixed_input_mma_sm80_limits_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cuda/dequant_gemm_plan.hpp"
#include "cuda/detail/dequant_run.cuh"
#include "cuda/kernels.hpp"
#include "layer_configs.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::cuda {
namespace {

using T = ScalarType;
using detail::DequantParams;

// ---- the decoders
// ---------------------------------------------------------------------------------

bool same_value(double got, double want) {
  return std::isnan(want) ? std::isnan(got)
                          : got == want && std::signbit(got) == std::signbit(want);
}

TEST(DequantGemmHost, DecodersMatchTheReferenceForEveryCode) {
  for (uint32_t code = 0; code < 256; ++code) {
    EXPECT_TRUE(same_value(detail::e4m3_decode(code), decode(T::float8_e4m3fn, code))) << code;
    EXPECT_TRUE(same_value(detail::e8m0_value(code), decode(T::float8_e8m0fnu, code))) << code;
    EXPECT_EQ(detail::integer_plus_2p23(code) - 8388608.f, static_cast<float>(code));
  }
  for (uint32_t code = 0; code < 16; ++code)
    EXPECT_TRUE(same_value(detail::e2m1_decode(code), decode(T::float4_e2m1f, code))) << code;
}

// ---- the dequantization on the host
// ---------------------------------------------------------------

template <typename F, typename A, RunGrouping G>
void dequantize_all(const DequantParams& p) {
  for (int row = 0; row < p.n; ++row)
    for (int run = 0; run < p.runs_per_row; ++run) detail::dequantize_run<F, A, G>(p, row, run);
}
template <typename F, typename A>
void dequantize_all(const DequantParams& p, RunGrouping g) {
  switch (g) {
    case RunGrouping::one_group:
      return dequantize_all<F, A, RunGrouping::one_group>(p);
    case RunGrouping::two_groups:
      return dequantize_all<F, A, RunGrouping::two_groups>(p);
    case RunGrouping::per_position:
      return dequantize_all<F, A, RunGrouping::per_position>(p);
  }
}
template <typename F>
void dequantize_all(const DequantParams& p, RunGrouping g, T act) {
  if (act == T::bf16)
    dequantize_all<F, __nv_bfloat16>(p, g);
  else
    dequantize_all<F, __half>(p, g);
}

// The layout's every group index, code and output offset in bounds (what the kernel would read
// and write), for every run of every row.
template <typename F>
void expect_indices_in_bounds(const LayerConfig& c, const DequantLayout& l, const Tensor& codes,
                              const DequantParams& p) {
  const int64_t n = c.part_n(), run = run_length(l.code_bits);
  ASSERT_EQ(codes.numel(), n * l.code_row_bytes);
  const size_t scale_bytes = info(c.weight_scale_type).bits == 8 ? 1 : 4;  // codes, or fp32
  ASSERT_EQ(l.scales.size(), static_cast<size_t>(n * l.groups) * scale_bytes);
  for (int r = 0; r < l.runs_per_row; ++r) {
    EXPECT_LE(detail::code_offset(p, static_cast<int>(n - 1), r) + kRunBytes, codes.numel());
    EXPECT_LE(detail::out_offset<F>(p, static_cast<int>(n - 1), r) + run, n * l.out_row_stride());
    for (int s = 0; s < 2; ++s) {
      const int g = l.grouping == RunGrouping::two_groups
                        ? detail::segment_group<RunGrouping::two_groups>(p, r, s)
                        : detail::segment_group<RunGrouping::one_group>(p, r, s);
      EXPECT_TRUE(g >= 0 && g < l.groups) << c.describe() << " run " << r << ": group " << g;
      // Every K position of the segment inside K belongs to that group (one_group / two_groups).
      if (l.grouping == RunGrouping::per_position) continue;
      const int64_t half = l.grouping == RunGrouping::two_groups ? run / 2 : run;
      if (l.grouping == RunGrouping::one_group && s == 1) continue;
      for (int64_t k = r * run + s * half;
           k < std::min<int64_t>(r * run + (s + 1) * half, c.part_k()); ++k) {
        const int64_t want = c.weight_scale == Granularity::per_group ? k / c.group_size : 0;
        ASSERT_EQ(g, want) << c.describe() << " k " << k;
      }
    }
  }
  if (l.grouping == RunGrouping::per_position) {
    ASSERT_EQ(l.group_of_k.size(), static_cast<size_t>(l.out_row_stride()));
    for (int32_t g : l.group_of_k) EXPECT_TRUE(g >= 0 && g < l.groups) << c.describe();
  }
}

// ŵ of a layer's weights, dequantized on the host by the kernel's own run code: [N, row stride]
// 16-bit codes of the activation type.
std::vector<uint16_t> host_dequantize(const LayerConfig& c, const DequantLayout& l,
                                      const Tensor& codes) {
  std::vector<uint16_t> out(static_cast<size_t>(c.part_n() * l.out_row_stride()), 0xffff);
  DequantParams p = detail::dequant_params(l, c.part_n(), codes.data(), l.scales.data(),
                                           l.zeros.empty() ? nullptr : l.zeros.data(),
                                           l.group_of_k.empty() ? nullptr : l.group_of_k.data());
  p.out = out.data();
  const auto run = [&]<typename F>(F) {
    expect_indices_in_bounds<F>(c, l, codes, p);
    dequantize_all<F>(p, l.grouping, c.act_type);
  };
  if (c.family == Family::nvfp4_weight_only) {
    run(detail::Nvfp4Codes{});
  } else if (c.family == Family::mxfp8_weight_only) {
    run(detail::Mxfp8Codes{});
  } else if (c.family == Family::mxfp4_weight_only) {
    run(detail::Mxfp4Codes{});
  } else if (c.family == Family::fp8_weight_only) {
    run(detail::Fp8Codes{});
  } else if (l.code_bits == 4) {
    run(detail::IntegerCodes<4>{});
  } else {
    run(detail::IntegerCodes<8>{});
  }
  return out;
}

// Whether (value - zero point) · scale · factor is exact in fp32, so that ŵ must be the reference
// rounded once to the activation type, to the bit: integer codes with 16-bit scales, and the MX
// formats (a float code times a power of two).
bool exact_in_fp32(const LayerConfig& c) {
  if (c.family == Family::mxfp8_weight_only || c.family == Family::mxfp4_weight_only) return true;
  return c.family == Family::mixed_precision && c.weight_scale_type != T::fp32;
}

// Every ŵ[n, k < K] against the reference's ŵ · 2^shift: the same code rounded once to the
// activation type where fp32 is exact, else within the kernel's per-weight bound.
void expect_matches_reference(const LayerConfig& c, const LayerWeights& w, const char* what,
                              bool exact) {
  const DequantLayout l = dequant_layout(c, w);
  const std::vector<uint16_t> got =
      host_dequantize(c, l, dequant_codes(c, l, w.weight, Device::cpu()));
  const std::vector<double> want = reference::dequantize_weights(c, w);
  const int64_t n = c.part_n(), k = c.part_k();
  const double bound = (1 + unit_roundoff(c.act_type)) * (1 + 2 * unit_roundoff(T::fp32)) - 1;
  int64_t wrong = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i) {
      const uint32_t code = got[static_cast<size_t>(r * l.out_row_stride() + i)];
      const double value = decode(c.act_type, code), exact = std::ldexp(want[r * k + i], l.shift);
      const bool ok = exact ? same_value(value, decode(c.act_type, encode(c.act_type, exact)))
                            : std::fabs(value - exact) <= bound * std::fabs(exact);
      if (!ok && wrong++ < 3)
        ADD_FAILURE() << what << " " << c.describe() << ": w[" << r << ", " << i << "] (code "
                      << load_code(w.weight, r * k + i) << ") is " << value << ", reference "
                      << exact << " (ŵ · 2^" << l.shift << ")";
    }
  EXPECT_EQ(wrong, 0) << what << " " << c.describe();
}

constexpr auto mixed = testing::mixed_precision;
using testing::with;

// Every weight type of the weight-only families, every grouping, both activation types, every scale
// type, N and K off the runs (K % 32 = 8 or 16), act order on a row split.
std::vector<LayerConfig> layouts() {
  const auto fp16 = [](LayerConfig& c) { c.act_type = c.out_type = T::fp16; };
  const auto fp16_scales = [](LayerConfig& c) { c.act_type = c.weight_scale_type = T::fp16; };
  const auto fp32_scales = [](LayerConfig& c) { c.weight_scale_type = T::fp32; };
  const auto order = [](LayerConfig& c) { c.act_order = true; };
  const auto order_split = [](LayerConfig& c) { c.act_order = true, c.partition_k = c.k / 2; };
  const auto per_tensor_fp16 = [](LayerConfig& c) {
    c.weight_scale = Granularity::per_tensor, c.act_type = c.out_type = T::fp16;
  };
  return {
      mixed(T::uint4b8, 72, 200, 0),                        // per channel, a half run at K
      with(mixed(T::uint4b8, 33, 96, 32), fp16_scales),     // one group a run
      with(mixed(T::uint4b8, 40, 320, 64), fp16),           // two runs a group
      mixed(T::uint4b8, 17, 384, 128),                      // four
      with(mixed(T::uint4b8, 24, 208, 16), fp16),           // two groups a run, half run at K
      mixed(T::uint4b8, 24, 192, 48),                       // a group per position (k / 48)
      with(mixed(T::uint4b8, 40, 512, 128), order),         // act order
      with(mixed(T::uint4, 36, 160, 32), fp32_scales),      // zero points
      with(mixed(T::uint4, 20, 256, 128), fp16_scales),     //
      with(mixed(T::uint4, 20, 256, 64), order_split),      // act order on half of K
      mixed(T::uint8b128, 72, 200, 0),                      // per channel, K % 16 = 8
      with(mixed(T::uint8b128, 33, 96, 32), fp16),          //
      mixed(T::uint8b128, 24, 200, 8),                      // two groups a run (8 of 16)
      with(mixed(T::uint8b128, 24, 240, 24), fp32_scales),  // a group per position
      with(mixed(T::uint8, 40, 192, 64), fp16_scales),      // zero points
      with(mixed(T::uint8, 24, 256, 128), order),           // act order with zero points
      with(mixed(T::int8, 72, 136, 0), fp16),               // per channel, K % 16 = 8
      with(mixed(T::int8, 24, 256, 128), fp32_scales),      //
      default_config(Family::nvfp4_weight_only, 40, 208),   // half a run at K
      with(default_config(Family::nvfp4_weight_only, 17, 256), fp16),
      default_config(Family::mxfp8_weight_only, 40, 224),
      with(default_config(Family::mxfp8_weight_only, 17, 96), fp16),
      default_config(Family::mxfp4_weight_only, 40, 224),  // a run a group
      with(default_config(Family::mxfp4_weight_only, 17, 96), fp16),
      default_config(Family::fp8_weight_only, 72, 200),  // per channel, K % 16 = 8
      with(default_config(Family::fp8_weight_only, 17, 96), per_tensor_fp16),
  };
}

TEST(DequantGemmHost, RunsMatchTheReference) {
  uint64_t seed = 40;
  for (const LayerConfig& c : layouts()) {
    const RandomLayer layer = make_random_layer(c, ++seed);
    expect_matches_reference(c, layer.weights(), "random", exact_in_fp32(c));
  }
}

// Every code of the weight type (the NaN codes of e4m3 included) at many positions, scales powers
// of two (nvfp4: every positive e4m3 scale, times a global of 1/8), so that every ŵ is exact in
// fp32 and rounds once to the activation type: the bits must match.
TEST(DequantGemmHost, EveryCodeExact) {
  uint64_t seed = 70;
  for (const LayerConfig& c : layouts()) {
    RandomLayer layer = make_random_layer(c, ++seed);
    const int64_t n = c.part_n(), k = c.part_k(), codes = int64_t{1} << info(c.weight_type).bits;
    for (int64_t i = 0; i < n * k; ++i)
      store_code(layer.weight, i, static_cast<uint32_t>((5 * (i / k) + i % k) % codes));
    for (int64_t i = 0; i < layer.weight_scale.numel(); ++i) {
      if (c.weight_scale_type == T::float8_e8m0fnu)
        store_code(layer.weight_scale, i, static_cast<uint32_t>(127 + i % 7 - 3));
      else if (c.weight_scale_type == T::float8_e4m3fn)
        store_code(layer.weight_scale, i, static_cast<uint32_t>(1 + i % 126));
      else
        store_value(layer.weight_scale, i, std::ldexp(1.0, static_cast<int>(i % 7) - 3));
    }
    if (c.has_global_scale()) *layer.weight_global_scale.data_as<float>() = 0.125f;
    expect_matches_reference(c, layer.weights(), "every code", true);
  }
}

// ---- the choices around it
// ------------------------------------------------------------------------

TEST(DequantGemmHost, Grouping) {
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4096, 0)), RunGrouping::one_group);
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4096, 128)), RunGrouping::one_group);
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4096, 32)), RunGrouping::one_group);
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4096, 16)), RunGrouping::two_groups);
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4608, 48)), RunGrouping::per_position);
  EXPECT_EQ(run_grouping(mixed(T::uint4b8, 64, 4096, 8)), RunGrouping::per_position);
  EXPECT_EQ(run_grouping(mixed(T::uint8, 64, 4096, 16)), RunGrouping::one_group);
  EXPECT_EQ(run_grouping(mixed(T::uint8, 64, 4096, 8)), RunGrouping::two_groups);
  EXPECT_EQ(run_grouping(
                with(mixed(T::uint8, 64, 4096, 128), [](LayerConfig& c) { c.act_order = true; })),
            RunGrouping::per_position);
  EXPECT_EQ(run_grouping(default_config(Family::nvfp4_weight_only, 64, 4096)),
            RunGrouping::two_groups);
  EXPECT_EQ(run_grouping(default_config(Family::mxfp8_weight_only, 64, 4096)),
            RunGrouping::one_group);
  EXPECT_EQ(run_grouping(default_config(Family::mxfp4_weight_only, 64, 4096)),
            RunGrouping::one_group);
  EXPECT_EQ(run_grouping(default_config(Family::fp8_weight_only, 64, 4096)),
            RunGrouping::one_group);
}

TEST(DequantGemmHost, Fp16WeightsScaledIntoRange) {
  EXPECT_EQ(weight_exponent_shift(T::bf16, 1e30), 0);
  EXPECT_EQ(weight_exponent_shift(T::fp16, 0.0), 0);
  EXPECT_EQ(weight_exponent_shift(T::fp16, 1.0), 14);           // 1 · 2^14 in [2^14, 2^15)
  EXPECT_EQ(weight_exponent_shift(T::fp16, 0.16), 17);          // 20972
  EXPECT_EQ(weight_exponent_shift(T::fp16, 448.0 * 1024), -4);  // mxfp8 with a scale of 2^10
  for (double max : {1e-30, 3e-5, 0.16, 1.0, 6.0, 32767.0, 1e9}) {
    const double scaled = std::ldexp(max, weight_exponent_shift(T::fp16, max));
    EXPECT_TRUE(scaled >= 16384 && scaled < 32768) << max << " -> " << scaled;
  }
}

TEST(DequantGemmHost, OutputPlan) {
  struct Row {
    T act, out;
    std::optional<T> bias;
    T gemm;
    bool in_gemm, in_place, from_fp32;
  };
  const Row rows[] = {
      {T::bf16, T::bf16, std::nullopt, T::bf16, false, false, false},
      {T::bf16, T::bf16, T::bf16, T::bf16, true, false, false},  // cuBLASLt's bias epilogue
      {T::bf16, T::bf16, T::fp32, T::fp32, false, false, true},  // bias type != D type
      {T::fp16, T::fp16, T::fp16, T::fp16, true, false, false},
      {T::fp16, T::bf16, std::nullopt, T::fp32, false, false, true},  // no fp16 x fp16 -> bf16
      {T::bf16, T::fp16, T::fp16, T::fp32, false, false, true},
      {T::bf16, T::fp32, T::fp32, T::fp32, true, false, false},
      {T::fp16, T::fp32, T::bf16, T::fp32, false, true, false},  // 16-bit bias on fp32 out
      {T::fp16, T::fp32, std::nullopt, T::fp32, false, false, false},
  };
  for (const Row& r : rows) {
    const OutputPlan plan = plan_output(r.act, r.out, r.bias);
    EXPECT_EQ(plan.gemm_type, r.gemm) << name(r.act) << " -> " << name(r.out);
    EXPECT_EQ(plan.bias_in_gemm, r.in_gemm) << name(r.act) << " -> " << name(r.out);
    EXPECT_EQ(plan.bias_in_place, r.in_place) << name(r.act) << " -> " << name(r.out);
    EXPECT_EQ(plan.epilogue_from_fp32, r.from_fp32) << name(r.act) << " -> " << name(r.out);
  }
}

std::vector<std::shared_ptr<const Kernel>> kernels() {
  return {make_dequant_gemm_mixed_precision(), make_dequant_gemm_nvfp4_weight_only(),
          make_dequant_gemm_mxfp8_weight_only(), make_dequant_gemm_mxfp4_weight_only(),
          make_dequant_gemm_fp8_weight_only()};
}

TEST(DequantGemmHost, RefusalsNameTheValueAndWhatIsAccepted) {
  const auto fp32 = [](LayerConfig& c) { c.act_type = T::fp32; };
  for (const auto& kernel : kernels()) {
    const LayerConfig typical = default_config(kernel->family(), 256, 512);
    EXPECT_TRUE(kernel->can_implement(typical)) << kernel->name();
    EXPECT_TRUE(kernel->can_implement(with(typical, [](LayerConfig& c) {
      c.act_type = c.out_type = T::fp16;
    }))) << kernel->name();
    const Verdict v = kernel->can_implement(with(typical, fp32));
    EXPECT_NE(v.reason().find("act_type (fp32) not supported; supported: bf16, fp16"),
              std::string::npos)
        << kernel->name() << ": '" << v.reason() << "'";
  }
  // Every layout of the family table the mixed-precision kernel could meet.
  for (const LayerConfig& c : layouts())
    if (c.family == Family::mixed_precision)
      EXPECT_TRUE(make_dequant_gemm_mixed_precision()->can_implement(c)) << c.describe();
}

}  // namespace
}  // namespace qlinear::cuda
