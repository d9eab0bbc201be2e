// w4a16_wgmma_sm90: int4 weights (uint4b8, or uint4 with zero points) × bf16/fp16 activations on
// Hopper's wgmma, the weights converted in registers: the mixed-input core of
// cuda/hopper/mixed_input_wgmma_sm90.cuh with the int4 format of cuda/detail/int4_weights.cuh, on
// the packed weights of w4a16_mma_sm80 (one copy for both in the plan w4a16_by_tokens).
#include "cuda/detail/int4_weights.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w4a16_wgmma_sm90(std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<detail::Int4>>("w4a16_wgmma_sm90",
                                                                   std::move(layout));
}

}  // namespace qlinear::cuda
