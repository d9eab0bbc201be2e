// Tensor-parallel splits of a canonical layer. Every tensor is cut where the weight is cut: scales
// and zero points by the rows (groups, blocks) they cover, g_idx along K, the bias by N.
#include <cstring>

#include "checkpoint/convert.hpp"
#include "qlinear/linear.hpp"

namespace qlinear::checkpoint {
namespace {

// Rows [r0, r1) and columns [c0, c1) of a 2-D tensor (4-bit types: column bounds even).
Tensor slice(const Tensor& t, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t cols = t.size(1);
  Tensor out = Tensor::empty(t.dtype(), {r1 - r0, c1 - c0});
  const auto* in = static_cast<const std::byte*>(t.data());
  auto* o = static_cast<std::byte*>(out.data());
  const int64_t row_bytes = storage_bytes(t.dtype(), cols), begin = storage_bytes(t.dtype(), c0),
                width = storage_bytes(t.dtype(), c1 - c0);
  for (int64_t r = r0; r < r1; ++r)
    std::memcpy(o + (r - r0) * width, in + r * row_bytes + begin, static_cast<size_t>(width));
  return out;
}

Tensor slice_1d(const Tensor& t, int64_t begin, int64_t end) {
  Tensor out = Tensor::empty(t.dtype(), {end - begin});
  const int64_t size = info(t.dtype()).bits / 8;
  std::memcpy(out.data(), static_cast<const std::byte*>(t.data()) + begin * size,
              static_cast<size_t>((end - begin) * size));
  return out;
}

// The scale rows / columns that cover weight rows [n0, n1) / columns [k0, k1).
Tensor slice_scales(const Tensor& t, const LayerConfig& c, int64_t n0, int64_t n1, int64_t k0,
                    int64_t k1) {
  if (!t.defined() || c.weight_scale == Granularity::per_tensor) return t;
  const int64_t row_extent = c.weight_scale == Granularity::block ? c.block_n : 1;
  int64_t col0 = 0, col1 = t.size(1);
  if ((c.weight_scale == Granularity::per_group && !c.act_order) ||
      c.weight_scale == Granularity::block) {
    col0 = k0 / c.group_size;
    col1 = (k1 + c.group_size - 1) / c.group_size;
  }
  return slice(t, n0 / row_extent, (n1 + row_extent - 1) / row_extent, col0, col1);
}

}  // namespace

std::string_view name(Split split) { return split == Split::columns ? "columns" : "rows"; }

Split default_split(std::string_view layer) {
  const std::string_view last = layer.substr(layer.rfind('.') + 1);
  for (std::string_view row :
       {"o_proj", "down_proj", "out_proj", "dense_4h_to_h", "fc2", "w2", "wo"})
    if (last == row) return Split::rows;
  return Split::columns;
}

CheckpointLayer split_layer(const CheckpointLayer& full, const TensorParallel& tp) {
  const LayerConfig& c = full.config;
  const std::string where = cat("layer ", full.name, ": splitting ", name(tp.split), " for rank ",
                                tp.rank, " of ", tp.size, ": ");
  require(tp.size >= 1 && tp.rank >= 0 && tp.rank < tp.size, where,
          "the rank must be in [0, size)");
  require(c.part_n() == c.n && c.part_k() == c.k, where, "the layer is already a partition");
  if (tp.size == 1) return full;
  CheckpointLayer part = full;
  part.format = cat(full.format, ", ", name(tp.split), " shard ", tp.rank, "/", tp.size);
  const int s = tp.size, r = tp.rank;
  if (tp.split == Split::columns) {
    require(c.n % s == 0, where, "N = ", c.n, " is not a multiple of ", s);
    const int64_t pn = c.n / s, n0 = r * pn;
    if (c.weight_scale == Granularity::block)
      require(pn % c.block_n == 0, where, "each rank's ", pn, " rows would cut a ", c.block_n,
              "-row weight block");
    part.config.partition_n = pn;
    part.weight = slice(full.weight, n0, n0 + pn, 0, c.k);
    part.weight_scale = slice_scales(full.weight_scale, c, n0, n0 + pn, 0, c.k);
    part.weight_zero_point = slice_scales(full.weight_zero_point, c, n0, n0 + pn, 0, c.k);
    if (full.bias.defined()) part.bias = slice_1d(full.bias, n0, n0 + pn);
  } else {
    require(c.k % s == 0, where, "K = ", c.k, " is not a multiple of ", s);
    const int64_t pk = c.k / s, k0 = r * pk;
    if (info(c.weight_type).bits == 4)
      require(pk % 2 == 0, where, "each rank's ", pk,
              " columns would cut a byte of packed 4-bit codes");
    if (c.weight_scale == Granularity::per_group || c.weight_scale == Granularity::block)
      require(pk % c.group_size == 0, where, "each rank's ", pk, " columns would cut a ",
              c.weight_scale == Granularity::block ? "weight block" : "scale group", " of ",
              c.group_size, " along K");
    if (c.act_scale == Granularity::per_group)
      require(pk % c.act_group_size == 0, where, "each rank's ", pk,
              " columns would cut an activation group of ", c.act_group_size);
    part.config.partition_k = pk;
    part.weight = slice(full.weight, 0, c.n, k0, k0 + pk);
    part.weight_scale = slice_scales(full.weight_scale, c, 0, c.n, k0, k0 + pk);
    part.weight_zero_point = slice_scales(full.weight_zero_point, c, 0, c.n, k0, k0 + pk);
    if (full.g_idx.defined()) part.g_idx = slice_1d(full.g_idx, k0, k0 + pk);
    // Partial sums add up across ranks: the bias belongs to rank 0 alone.
    if (r != 0) {
      part.bias = Tensor();
      part.config.bias = false;
    }
  }
  try {
    validate(part.config);
    validate_weights(part.config, part.weights(), Device::cpu());
  } catch (const Error& e) {
    throw Error(cat(where, e.what()));
  }
  return part;
}

}  // namespace qlinear::checkpoint
