// Exact weight dequantization for every family:
//   ŵ[n, k] = (value(code[n, k]) - zp[row(n), group(k)]) · scale[row(n), group(k)] · global
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::reference {

std::vector<double> dequantize_weights(const LayerConfig& c, const LayerWeights& w) {
  const int64_t n_rows = c.part_n(), k_cols = c.part_k();
  const int64_t scale_cols = c.weight_scale_shape()[1];
  require(w.weight.device().is_cpu(), "reference: weights must be on the CPU");

  // The group of each K position: g_idx under act order, else position / group extent.
  std::vector<int64_t> group_of_k(static_cast<size_t>(k_cols));
  for (int64_t k = 0; k < k_cols; ++k) {
    switch (c.weight_scale) {
      case Granularity::per_group:
        group_of_k[k] = c.act_order ? w.g_idx.data_as<const int32_t>()[k] : k / c.group_size;
        break;
      case Granularity::block: group_of_k[k] = k / c.group_size; break;
      default: group_of_k[k] = 0; break;
    }
  }
  const auto row_of_n = [&](int64_t n) -> int64_t {
    switch (c.weight_scale) {
      case Granularity::per_channel:
      case Granularity::per_group: return n;
      case Granularity::block: return n / c.block_n;
      default: return 0;
    }
  };
  const double global = c.has_global_scale() ? load_value(w.weight_global_scale, 0) : 1.0;
  // uint4 / uint8 codes with zero points are plain unsigned values; the table's bias handles
  // uint4b8 and uint8b128.
  std::vector<double> result(static_cast<size_t>(n_rows * k_cols));
  for (int64_t n = 0; n < n_rows; ++n) {
    const int64_t r = row_of_n(n);
    for (int64_t k = 0; k < k_cols; ++k) {
      const int64_t s = r * scale_cols + group_of_k[k];
      double value = load_value(w.weight, n * k_cols + k);
      if (c.zero_points) value -= static_cast<double>(load_code(w.weight_zero_point, s));
      result[n * k_cols + k] = value * load_value(w.weight_scale, s) * global;
    }
  }
  return result;
}

}  // namespace qlinear::reference
