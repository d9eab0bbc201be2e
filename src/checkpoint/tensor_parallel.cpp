// Tensor-parallel splits of a canonical layer. Every tensor is cut where the weight is cut: scales
// and zero points by the rows (groups, blocks) they cover, g_idx along K, the bias by N. The
// converters read a rank's part straight from a checkpoint with the same cuts (shard.hpp).
#include <cstring>

#include "checkpoint/shard.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"

namespace qlinear::checkpoint {
namespace {

std::string split_where(std::string_view layer, const TensorParallel& tp) {
  return cat("layer ", layer, ": splitting ", name(tp.split), " for rank ", tp.rank, " of ",
             tp.size, ": ");
}

// The scale (or zero-point) tensor's cells over the weight window; as is when undefined.
Tensor slice_scales(const Tensor& t, const LayerConfig& c, const Window& weight) {
  if (!t.defined()) return t;
  return copy_window(static_cast<const std::byte*>(t.data()), t.dtype(), t.size(1),
                     scale_window(c, weight));
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

LayerConfig shard_config(const LayerConfig& c, const TensorParallel& tp, std::string_view layer) {
  const std::string where = split_where(layer, tp);
  require(tp.size >= 1 && tp.rank >= 0 && tp.rank < tp.size, where,
          "the rank must be in [0, size)");
  require(c.part_n() == c.n && c.part_k() == c.k, where, "the layer is already a partition");
  if (tp.size == 1) return c;
  LayerConfig part = c;
  const int s = tp.size;
  if (tp.split == Split::columns) {
    require(c.n % s == 0, where, "N = ", c.n, " is not a multiple of ", s);
    const int64_t pn = c.n / s;
    if (c.weight_scale == Granularity::block)
      require(pn % c.block_n == 0, where, "each rank's ", pn, " rows would cut a ", c.block_n,
              "-row weight block");
    part.partition_n = pn;
    return part;
  }
  require(c.k % s == 0, where, "K = ", c.k, " is not a multiple of ", s);
  const int64_t pk = c.k / s;
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
  part.partition_k = pk;
  // Partial sums add up across ranks: the bias belongs to rank 0 alone.
  if (tp.rank != 0) part.bias = false;
  return part;
}

std::string shard_format(std::string_view format, const TensorParallel& tp) {
  if (tp.size == 1) return std::string(format);
  return cat(format, ", ", name(tp.split), " shard ", tp.rank, "/", tp.size);
}

Window weight_window(const LayerConfig& part, int rank) {
  const int64_t pn = part.part_n(), pk = part.part_k();
  const int64_t n0 = pn < part.n ? rank * pn : 0, k0 = pk < part.k ? rank * pk : 0;
  return {n0, n0 + pn, k0, k0 + pk};
}

Window scale_window(const LayerConfig& c, const Window& w) {
  switch (c.weight_scale) {
    case Granularity::per_tensor:
      return {0, 1, 0, 1};
    case Granularity::per_channel:
      return {w.row0, w.row1, 0, 1};
    case Granularity::per_group:
      if (c.act_order) return {w.row0, w.row1, 0, c.k / c.group_size};
      return {w.row0, w.row1, w.col0 / c.group_size, (w.col1 + c.group_size - 1) / c.group_size};
    case Granularity::block:
      return {w.row0 / c.block_n, (w.row1 + c.block_n - 1) / c.block_n, w.col0 / c.group_size,
              (w.col1 + c.group_size - 1) / c.group_size};
    case Granularity::per_token:
      break;
  }
  throw Error(cat("scale_window: ", name(c.weight_scale), " is not a weight-scale granularity"));
}

Tensor copy_window(const std::byte* data, ScalarType type, int64_t cols, const Window& w) {
  // Tensor keeps 4-bit rows on whole bytes (even columns), and shard_config keeps every cut on a
  // byte: a window's rows are byte runs.
  require(info(type).bits >= 8 || (cols % 2 == 0 && w.col0 % 2 == 0 && w.col1 % 2 == 0),
          "copy_window: columns [", w.col0, ", ", w.col1, ") of ", cols, " cut a byte of ",
          name(type), " codes");
  Tensor out = Tensor::empty(type, {w.rows(), w.cols()}, Device::cpu(), Lifetime::layer);
  auto* o = static_cast<std::byte*>(out.data());
  const int64_t row_bytes = storage_bytes(type, cols), begin = storage_bytes(type, w.col0),
                width = storage_bytes(type, w.cols());
  for (int64_t r = 0; r < w.rows(); ++r)
    std::memcpy(o + r * width, data + (w.row0 + r) * row_bytes + begin, static_cast<size_t>(width));
  return out;
}

Tensor copy_range(const std::byte* data, ScalarType type, int64_t begin, int64_t end) {
  Tensor out = Tensor::empty(type, {end - begin}, Device::cpu(), Lifetime::layer);
  const int64_t size = info(type).bits / 8;
  std::memcpy(out.data(), data + begin * size, static_cast<size_t>((end - begin) * size));
  return out;
}

CheckpointLayer split_layer(const CheckpointLayer& full, const TensorParallel& tp) {
  const LayerConfig& c = full.config;
  const LayerConfig part_config = shard_config(c, tp, full.name);
  if (tp.size == 1) return full;
  CheckpointLayer part = full;
  part.format = shard_format(full.format, tp);
  part.config = part_config;
  const Window w = weight_window(part_config, tp.rank);
  part.weight =
      copy_window(static_cast<const std::byte*>(full.weight.data()), c.weight_type, c.k, w);
  part.weight_scale = slice_scales(full.weight_scale, c, w);
  part.weight_zero_point = slice_scales(full.weight_zero_point, c, w);
  if (full.g_idx.defined())
    part.g_idx = copy_range(static_cast<const std::byte*>(full.g_idx.data()), ScalarType::int32,
                            w.col0, w.col1);
  const bool keeps_bias = tp.split == Split::columns || tp.rank == 0;  // as shard_config says
  part.bias = keeps_bias && full.bias.defined()
                  ? copy_range(static_cast<const std::byte*>(full.bias.data()), full.bias.dtype(),
                               w.row0, w.row1)
                  : Tensor();
  try {
    validate(part.config);
    validate_weights(part.config, part.weights(), Device::cpu());
  } catch (const Error& e) {
    throw Error(cat(split_where(full.name, tp), e.what()));
  }
  return part;
}

}  // namespace qlinear::checkpoint
