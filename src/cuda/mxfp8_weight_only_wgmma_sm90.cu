// mxfp8_weight_only_wgmma_sm90: float8_e4m3fn weights with e8m0 scales per 32 along
// K × bf16/fp16 activations on Hopper's wgmma, the weights converted in registers: the
// mixed-input core of cuda/hopper/mixed_input_wgmma_sm90.cuh with the format of
// cuda/detail/mxfp8_weights.cuh, on the packed weights of mxfp8_weight_only_mma_sm80.
#include "cuda/detail/mxfp8_weights.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_mxfp8_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<detail::Mxfp8>>("mxfp8_weight_only_wgmma_sm90",
                                                                    std::move(layout));
}

}  // namespace qlinear::cuda
