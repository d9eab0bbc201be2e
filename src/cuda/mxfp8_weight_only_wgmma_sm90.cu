// mxfp8_weight_only_wgmma_sm90: float8_e4m3fn weights with e8m0 scales per 32 along K ×
// bf16/fp16 activations on Hopper's wgmma, the weights converted in registers: the mixed-input
// core of cuda/hopper/mixed_input_wgmma_sm90.cuh on the packed weights and block scales of
// mxfp8_weight_only_mma_sm80, its scales applied in the fragment (one fp32 sum over K on up to
// 256-token tiles, where a fold would stall wgmma every 32-K k-block;
// cuda/detail/mxfp8_weights.cuh). A layer whose scales the mma kernel folds (outside the
// fragment's exact range) runs every call on the mma kernel.
#include "cuda/detail/mxfp8_weights.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_mxfp8_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<detail::Mxfp8ScalesInFragment>>(
      "mxfp8_weight_only_wgmma_sm90", std::move(layout));
}

}  // namespace qlinear::cuda
