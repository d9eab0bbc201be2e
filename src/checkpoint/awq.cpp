// AWQ (AutoAWQ "gemm" layout), 4 bits with zero points:
//   qweight int32 [K, N/8]   eight codes of consecutive n per word, in AWQ's interleaved order:
//                            nibble i holds column 8·j + kOrder[i], kOrder = 0, 2, 4, 6, 1, 3, 5, 7
//   qzeros  int32 [G, N/8]   zero points, same packing, stored as is
//   scales  fp16  [G, N]
// Dequantized: w[n, k] = (code - zero) · scale[k / group_size, n].
#include <algorithm>
#include <array>

#include "checkpoint/convert.hpp"

namespace qlinear::checkpoint {
namespace {

// Nibble that holds column n % 8 (the inverse of the pack order 0, 2, 4, 6, 1, 3, 5, 7).
constexpr std::array<int, 8> kNibbleOfColumn{0, 4, 1, 5, 2, 6, 3, 7};

uint32_t awq_code(const TensorEntry& packed, int64_t row, int64_t column, int64_t n) {
  return field(word(packed, row * (n / 8) + column / 8), 4, kNibbleOfColumn[column % 8]);
}

// Window `w` of the canonical codes [N, K] (two a byte along K, low nibble first) from qweight
// [K, N / 8], for even w.col0 and w.col1: rows k and k + 1 of a word column give one output byte
// for each of its 8 columns. Pairs go in tiles of 16, so that the 32 qweight rows read stay in
// cache while every column is visited; only the words that hold the window's columns are read.
void unpack_awq_codes(const TensorEntry& qweight, int64_t n, const Window& w, uint8_t* out) {
  constexpr int64_t kPairTile = 16;
  const int64_t words = n / 8, first = w.col0 / 2, end = w.col1 / 2, pairs = end - first;
  for (int64_t p0 = first; p0 < end; p0 += kPairTile) {
    const int64_t p1 = std::min(end, p0 + kPairTile);
    for (int64_t j = w.row0 / 8; j < (w.row1 + 7) / 8; ++j)
      for (int64_t p = p0; p < p1; ++p) {
        const uint32_t low = word(qweight, 2 * p * words + j);
        const uint32_t high = word(qweight, (2 * p + 1) * words + j);
        for (int c = 0; c < 8; ++c) {
          const int64_t column = 8 * j + c;
          if (column < w.row0 || column >= w.row1) continue;  // a word the split cuts
          const int nibble = kNibbleOfColumn[c];
          out[(column - w.row0) * pairs + p - first] =
              static_cast<uint8_t>(field(low, 4, nibble) | field(high, 4, nibble) << 4);
        }
      }
  }
}

}  // namespace

CheckpointLayer load_awq(const LayerSource& src) {
  const std::string where = cat(src.where(), "quantization_config.");
  const int64_t bits =
      json_int(src.quant, "bits", json_int(src.quant, "w_bit", 4, where, 1, 32), where, 1, 32);
  require(bits == 4, where, "bits is ", bits, "; AWQ checkpoints are 4-bit");
  require(json_bool(src.quant, "zero_point", true, where), where,
          "zero_point is false; qlinear reads AWQ with zero points (the GEMM layout)");
  const std::string version = json_string(src.quant, "version", "gemm", where);
  require(version == "gemm" || version == "GEMM", where, "version is '", version,
          "'; qlinear reads the gemm layout (qweight [K, N/8])");
  const int64_t group_size = json_int(
      src.quant, "group_size", json_int(src.quant, "q_group_size", 128, where, -1, kMaxConfigSize),
      where, -1, kMaxConfigSize);

  const TensorEntry& qweight = src.need("qweight", {Dtype::I32});
  require(qweight.shape.size() == 2, src.where(), qweight.describe(), " should be [K, N / 8]");
  const int64_t k = qweight.shape[0], n = qweight.shape[1] * 8;
  const int64_t group = group_size == -1 ? k : group_size;
  require(group > 0 && k % group == 0, where, "group_size is ", group_size,
          "; it must divide K = ", k);
  const int64_t groups = k / group;
  const TensorEntry& scales = src.need("scales", kFloatScales, std::vector<int64_t>{groups, n},
                                       cat("[K / group_size, N] with K = ", k));
  const TensorEntry& qzeros = src.need("qzeros", {Dtype::I32}, std::vector<int64_t>{groups, n / 8},
                                       "[K / group_size, N / 8] zero points packed along N");

  LayerConfig c = base_config(src.checkpoint, Family::mixed_precision, n, k);
  c.weight_type = ScalarType::uint4;
  c.zero_points = true;
  c.weight_scale = group_size == -1 ? Granularity::per_channel : Granularity::per_group;
  c.group_size = group_size == -1 ? 0 : group;
  c.weight_scale_type = scale_type_of(scales);
  CheckpointLayer layer = start_layer(src, "awq 4-bit", c);

  const Window w = src.window(layer.config), cells = scale_window(c, w);
  layer.weight =
      Tensor::empty(ScalarType::uint4, {w.rows(), w.cols()}, Device::cpu(), Lifetime::layer);
  if (k % 2 == 0) {
    unpack_awq_codes(qweight, n, w, static_cast<uint8_t*>(layer.weight.data()));
  } else {  // rows do not start on a byte
    for (int64_t kk = w.col0; kk < w.col1; ++kk)
      for (int64_t nn = w.row0; nn < w.row1; ++nn)
        store_code(layer.weight, (nn - w.row0) * w.cols() + kk - w.col0,
                   awq_code(qweight, kk, nn, n));
  }
  layer.weight_scale = transposed(scales, c.weight_scale_type, cells);
  layer.weight_zero_point = Tensor::empty(ScalarType::uint8, {cells.rows(), cells.cols()},
                                          Device::cpu(), Lifetime::layer);
  for (int64_t g = cells.col0; g < cells.col1; ++g)
    for (int64_t nn = cells.row0; nn < cells.row1; ++nn)
      store_code(layer.weight_zero_point, (nn - cells.row0) * cells.cols() + g - cells.col0,
                 awq_code(qzeros, g, nn, n));
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
