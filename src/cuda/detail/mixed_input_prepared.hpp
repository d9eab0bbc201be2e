// The prepared weights of the mixed-input mma pipeline (cuda/detail/mixed_input_mma_sm80.cuh),
// which the wgmma core reads as they are (cuda/hopper/mixed_input_wgmma_sm90.cuh): CUDA-free, so
// that host code and the tests can tell how a layer was laid out.
#pragma once

#include "qlinear/kernel.hpp"

namespace qlinear::cuda::detail {

struct Prepared final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  Tensor weights, scales, zeros, block_scales, k_order;  // on the device
  int padded_k = 0, group_size = 0, groups = 0, kblocks = 0;
  bool folds = false;  // a format with Folds (the MX formats): this layer's scales are folded
};

}  // namespace qlinear::cuda::detail
