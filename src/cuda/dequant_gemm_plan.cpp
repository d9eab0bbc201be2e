#include "cuda/dequant_gemm_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/scale_values.hpp"
#include "gpu/check.hpp"

namespace qlinear::cuda {
namespace {

using T = ScalarType;

// The largest |value(code) - zero point| of a weight type (the zero point is a code of the type).
double max_abs_value(ScalarType type) {
  switch (type) {
    case T::uint4b8:
      return 8;
    case T::uint4:
      return 15;
    case T::uint8b128:
    case T::int8:
      return 128;
    case T::uint8:
      return 255;
    default:
      return info(type).max_finite;  // e4m3 448, e2m1 6
  }
}

}  // namespace

RunGrouping run_grouping(const LayerConfig& c) {
  const int run = run_length(info(c.weight_type).bits);
  if (c.act_order) return RunGrouping::per_position;
  if (c.weight_scale != Granularity::per_group || c.group_size % run == 0)
    return RunGrouping::one_group;
  if (2 * c.group_size == run) return RunGrouping::two_groups;
  return RunGrouping::per_position;
}

int weight_exponent_shift(ScalarType act_type, double max_abs_weight) {
  if (act_type != T::fp16 || !(max_abs_weight > 0) || !std::isfinite(max_abs_weight)) return 0;
  int exponent = 0;
  std::frexp(max_abs_weight, &exponent);  // max_abs_weight in [2^(exponent-1), 2^exponent)
  return std::clamp(15 - exponent, -120, 120);
}

OutputPlan plan_output(ScalarType act_type, ScalarType out_type,
                       std::optional<ScalarType> bias_type) {
  OutputPlan plan{out_type};
  const bool direct = out_type == act_type || out_type == T::fp32;
  if (!direct || (bias_type && *bias_type != out_type && out_type != T::fp32)) {
    plan.gemm_type = T::fp32;
    plan.epilogue_from_fp32 = true;
  } else if (bias_type) {
    (*bias_type == out_type ? plan.bias_in_gemm : plan.bias_in_place) = true;
  }
  return plan;
}

DequantLayout dequant_layout(const LayerConfig& c, const LayerWeights& w) {
  DequantLayout l;
  const int64_t n = c.part_n(), k = c.part_k();
  l.code_bits = info(c.weight_type).bits;
  const int run = run_length(l.code_bits);
  l.runs_per_row = static_cast<int>((k + run - 1) / run);
  l.code_row_bytes = static_cast<int64_t>(l.runs_per_row) * kRunBytes;

  // Scales: one-byte codes (e4m3, e8m0) as they are; bf16 / fp16 / fp32 as fp32; a per-tensor
  // scale once for every row (the runs read their row's).
  const Tensor scales = Tensor::copy_of(w.weight_scale, Device::cpu());
  const bool per_tensor = c.weight_scale == Granularity::per_tensor;
  l.groups = static_cast<int>(c.weight_scale_shape()[1]);
  // A per-tensor scale is repeated for every row.
  std::vector<float> values = values_as_fp32(scales);
  if (per_tensor) values.assign(static_cast<size_t>(n), values.at(0));
  float max_scale = 0;
  for (const float v : values) max_scale = std::fmax(max_scale, std::fabs(v));
  if (info(c.weight_scale_type).bits == 8) {
    const auto* codes = scales.data_as<const uint8_t>();
    if (per_tensor)
      l.scales.assign(static_cast<size_t>(n), codes[0]);
    else
      l.scales.assign(codes, codes + scales.numel());
  } else {
    l.scales.resize(values.size() * sizeof(float));
    std::memcpy(l.scales.data(), values.data(), l.scales.size());
  }
  if (c.zero_points) {
    const Tensor zeros = Tensor::copy_of(w.weight_zero_point, Device::cpu());
    const auto* first = zeros.data_as<const uint8_t>();
    l.zeros.assign(first, first + zeros.numel());
  }
  l.zero_default = c.weight_type == T::uint4b8                                 ? 8
                   : c.weight_type == T::uint8b128 || c.weight_type == T::int8 ? 128
                                                                               : 0;
  l.code_xor = c.weight_type == T::int8 ? 0x80808080u : 0;

  const double global = c.has_global_scale()
                            ? load_value(Tensor::copy_of(w.weight_global_scale, Device::cpu()), 0)
                            : 1.0;
  l.shift = weight_exponent_shift(c.act_type,
                                  max_abs_value(c.weight_type) * max_scale * std::fabs(global));
  l.factor = static_cast<float>(std::ldexp(global, l.shift));
  l.alpha = static_cast<float>(std::ldexp(1.0, -l.shift));

  l.grouping = run_grouping(c);
  l.runs_per_group = c.weight_scale == Granularity::per_group
                         ? static_cast<int>(std::max<int64_t>(c.group_size / run, 1))
                         : l.runs_per_row;
  if (l.grouping == RunGrouping::per_position) {
    l.group_of_k.assign(static_cast<size_t>(l.runs_per_row) * run, 0);
    const Tensor g_idx = c.act_order ? Tensor::copy_of(w.g_idx, Device::cpu()) : Tensor();
    for (int64_t i = 0; i < k; ++i)
      l.group_of_k[i] =
          c.act_order ? g_idx.data_as<const int32_t>()[i] : static_cast<int32_t>(i / c.group_size);
  }
  return l;
}

Tensor dequant_codes(const LayerConfig& c, const DequantLayout& l, const TensorView& weight,
                     Device device) {
  const int64_t n = c.part_n(), row_bytes = storage_bytes(c.weight_type, c.part_k());
  const Tensor contiguous = weight.is_contiguous() ? Tensor() : Tensor::copy_of(weight, device);
  const void* rows = contiguous.defined() ? contiguous.data() : weight.data();
  Tensor codes = Tensor::empty(ScalarType::uint8, {n * l.code_row_bytes}, device);
  if (device.is_cpu()) {
    auto* out = codes.data_as<uint8_t>();
    for (int64_t r = 0; r < n; ++r) {
      std::memcpy(out + r * l.code_row_bytes, static_cast<const uint8_t*>(rows) + r * row_bytes,
                  static_cast<size_t>(row_bytes));
      std::memset(out + r * l.code_row_bytes + row_bytes, 0,
                  static_cast<size_t>(l.code_row_bytes - row_bytes));
    }
    return codes;
  }
  DeviceGuard guard(device.index);
  check_cuda(cudaMemset(codes.data(), 0, static_cast<size_t>(codes.nbytes())), "cudaMemset");
  check_cuda(cudaMemcpy2D(codes.data(), static_cast<size_t>(l.code_row_bytes), rows,
                          static_cast<size_t>(row_bytes), static_cast<size_t>(row_bytes),
                          static_cast<size_t>(n), cudaMemcpyDefault),
             "cudaMemcpy2D (the dequantization's codes)");
  return codes;
}

}  // namespace qlinear::cuda
