// w8a16_wgmma_sm90: 8-bit integer weights (uint8b128, uint8 with zero points, int8) × bf16/fp16
// activations on Hopper's wgmma, the weights converted in registers: the
// mixed-input core of cuda/hopper/mixed_input_wgmma_sm90.cuh with the format of
// cuda/detail/int8_weights.cuh, on the packed weights of w8a16_mma_sm80.
#include "cuda/detail/int8_weights.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w8a16_wgmma_sm90(std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<detail::Int8>>("w8a16_wgmma_sm90",
                                                                   std::move(layout));
}

}  // namespace qlinear::cuda
