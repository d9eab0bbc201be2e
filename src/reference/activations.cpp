// Activation quantization as every family prescribes it (see qlinear/reference.hpp): scales and
// divisions in fp32, codes by round-to-nearest-even with saturation.
#include <algorithm>
#include <cmath>

#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::reference {
namespace {

// The extent of one activation scale along K, and how many there are per row.
struct ScaleGrid {
  int64_t rows;   // 1 (per tensor) or M
  int64_t group;  // K elements per scale
};

ScaleGrid grid_of(const LayerConfig& c, int64_t m, int64_t k) {
  switch (c.act_scale) {
    case Granularity::per_tensor: return {1, k};
    case Granularity::per_token: return {m, k};
    default: return {m, c.act_group_size};
  }
}

float amax_of(const TensorView& x, int64_t begin_row, int64_t end_row, int64_t k, int64_t k0,
              int64_t k1) {
  float amax = 0;
  for (int64_t r = begin_row; r < end_row; ++r)
    for (int64_t i = k0; i < k1; ++i)
      amax = std::max(amax, static_cast<float>(std::fabs(load_value(x, r * k + i))));
  return amax;
}

}  // namespace

QuantizedActivations quantize_activations(const LayerConfig& c, const LayerWeights& w,
                                          const TensorView& x) {
  require(c.act_quant.has_value(), "reference: ", name(c.family), " does not quantize activations");
  require(x.device().is_cpu() && x.is_contiguous(), "reference: x must be contiguous on the CPU");
  const int64_t k = c.part_k();
  const int64_t m = x.rows();
  const ScalarType qtype = *c.act_quant;
  const ScalarType stype = *c.act_scale_type();
  const ScaleGrid grid = grid_of(c, m, k);
  const int64_t groups = k / grid.group + (k % grid.group ? 1 : 0);

  QuantizedActivations q;
  q.codes = Tensor::empty(qtype, {m, k});
  if (c.act_scale == Granularity::per_group) {
    q.scales = Tensor::empty(stype, {m, groups});
  } else {
    q.scales = Tensor::empty(stype, {grid.rows});
  }
  if (c.act_zero_points) q.zero_points = Tensor::empty(ScalarType::int32, {grid.rows});

  const float qmax = static_cast<float>(info(qtype).max_finite);
  const float input_scale = c.has_static_input_scale() ? *w.input_scale.data_as<const float>() : 0.f;

  for (int64_t row = 0; row < grid.rows; ++row) {
    // Rows covered by this scale: all of x for a per-tensor scale, else one.
    const int64_t r0 = grid.rows == 1 ? 0 : row, r1 = grid.rows == 1 ? m : row + 1;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * grid.group, k1 = std::min(k, k0 + grid.group);
      const int64_t scale_index = c.act_scale == Granularity::per_group ? row * groups + g : row;
      float scale = 1.f;     // x̂ = (q - zero) · scale
      float zero = 0.f;
      float multiplier = 0;  // q = rne(x · multiplier) where the format multiplies (nvfp4)
      bool multiply = false;

      if (c.family == Family::nvfp4) {
        const float global = 1.f / input_scale;
        const float amax = amax_of(x, r0, r1, k, k0, k1);
        const uint32_t sf_code = encode(stype, global * (amax / 6.f));
        const float sf = static_cast<float>(decode(stype, sf_code));
        store_code(q.scales, scale_index, sf_code);
        multiply = true;
        multiplier = sf != 0 ? 1.f / (sf * (1.f / global)) : 0.f;
      } else if (c.family == Family::mxfp8 || c.family == Family::mxfp4) {
        // OCP MX: the block's largest exponent less the element type's largest (e4m3 8, e2m1 2),
        // so amax / 2^e lands in [2^emax, 2^(emax+1)) and saturates above max_finite.
        const int emax = std::ilogb(info(qtype).max_finite);
        const float amax = amax_of(x, r0, r1, k, k0, k1);
        const int e = amax > 0 ? std::clamp(std::ilogb(amax) - emax, -127, 127) : -127;
        store_code(q.scales, scale_index, static_cast<uint32_t>(e + 127));
        scale = std::ldexp(1.f, e);
      } else if (c.act_scale_static) {
        scale = input_scale;
        if (c.act_zero_points) zero = static_cast<float>(*w.input_zero_point.data_as<const int32_t>());
        store_value(q.scales, scale_index, scale);
      } else if (c.act_zero_points) {
        float lo = 0, hi = 0;
        bool first = true;
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t i = k0; i < k1; ++i) {
            const auto v = static_cast<float>(load_value(x, r * k + i));
            lo = first ? v : std::min(lo, v);
            hi = first ? v : std::max(hi, v);
            first = false;
          }
        scale = (hi - lo) / 255.f;
        if (scale == 0) scale = 1.f;
        zero = std::nearbyint(-128.f - lo / scale);
        store_value(q.scales, scale_index, scale);
      } else {
        const float amax = amax_of(x, r0, r1, k, k0, k1);
        scale = amax > 0 ? amax / qmax : 1.f;
        store_value(q.scales, scale_index, scale);
      }
      if (c.act_zero_points) store_value(q.zero_points, row, zero);

      for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = k0; i < k1; ++i) {
          const auto v = static_cast<float>(load_value(x, r * k + i));
          const float scaled = multiply ? v * multiplier : v / scale;
          const uint32_t code =
              c.act_zero_points
                  ? encode(qtype, static_cast<double>(std::nearbyint(scaled) + zero))
                  : encode(qtype, scaled, Overflow::saturate);
          store_code(q.codes, r * k + i, code);
        }
    }
  }
  return q;
}

std::vector<double> activations_as_used(const LayerConfig& c, const LayerWeights& w,
                                        const TensorView& x) {
  const int64_t k = c.part_k();
  const int64_t m = x.rows();
  std::vector<double> x_hat(static_cast<size_t>(m * k));
  if (!c.act_quant) {
    for (int64_t i = 0; i < m * k; ++i) x_hat[i] = load_value(x, i);
    return x_hat;
  }
  const QuantizedActivations q = quantize_activations(c, w, x);
  const int64_t groups = c.act_scale == Granularity::per_group ? q.scales.size(1) : 1;
  const int64_t group = c.act_scale == Granularity::per_group ? c.act_group_size : k;
  const double global = c.family == Family::nvfp4 ? *w.input_scale.data_as<const float>() : 1.0;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < k; ++i) {
      const int64_t row = c.act_scale == Granularity::per_tensor ? 0 : r;
      const int64_t s = c.act_scale == Granularity::per_group ? row * groups + i / group : row;
      const double zero = c.act_zero_points ? load_value(q.zero_points, row) : 0.0;
      x_hat[r * k + i] = (load_value(q.codes, r * k + i) - zero) * load_value(q.scales, s) * global;
    }
  return x_hat;
}

}  // namespace qlinear::reference
