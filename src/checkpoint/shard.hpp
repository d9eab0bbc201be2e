// One tensor-parallel rank's part of a canonical layer: where split_layer cuts a converted layer,
// and what a converter reads of a checkpoint's mapped tensors when it converts that part alone.
// Both cut with these functions, so a part read from the file is the part cut from the whole.
#pragma once

#include <string>
#include <string_view>

#include "qlinear/checkpoint.hpp"

namespace qlinear::checkpoint {

// Rows [row0, row1) and columns [col0, col1) of a matrix. Of the canonical [N, K] weight: the
// output rows and input columns one rank holds (all of them when the layer is not split).
struct Window {
  int64_t row0 = 0, row1 = 0, col0 = 0, col1 = 0;
  int64_t rows() const { return row1 - row0; }
  int64_t cols() const { return col1 - col0; }
};

// The config of rank tp.rank's part of the whole layer `whole`: partition_n (columns) or
// partition_k (rows) set, and no bias for a row split's ranks other than 0 (the partial sums add up
// across ranks: the bias belongs to rank 0 alone). Throws when the split would cut a group, a block
// or a packed byte, or N (K) is not a multiple of the size, saying which; `layer` names the layer.
LayerConfig shard_config(const LayerConfig& whole, const TensorParallel& tp,
                         std::string_view layer);
// The part's format: "gptq v1 4-bit sym, columns shard 1/2" (the format as is when size is 1).
std::string shard_format(std::string_view format, const TensorParallel& tp);
// The weight window of rank `rank`'s part, from its config's partitions.
Window weight_window(const LayerConfig& part, int rank);
// The cells of the weight-scale (and zero-point) grid of layer `c` that cover the weight window:
// rows by the weight rows (or blocks of rows) they scale, columns by the groups (blocks) along K;
// every group of an act-order layer (a rank's g_idx may name any group); the one per-tensor cell.
Window scale_window(const LayerConfig& c, const Window& weight);

// Window `w` of the row-major [rows, cols] matrix of `type` at `data`, as a [w.rows(), w.cols()]
// tensor. 4-bit codes are packed two a byte, low nibble first; their columns and the window's
// bounds must be even (rows on whole bytes, as Tensor keeps them).
Tensor copy_window(const std::byte* data, ScalarType type, int64_t cols, const Window& w);
// Elements [begin, end) of the vector of `type` at `data`, as a tensor [end - begin].
Tensor copy_range(const std::byte* data, ScalarType type, int64_t begin, int64_t end);

}  // namespace qlinear::checkpoint
