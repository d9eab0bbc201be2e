// nvfp4_weight_only_wgmma_sm90: float4_e2m1 weights with e4m3 scales per 16 along K and an fp32
// global scale × bf16/fp16 activations on Hopper's wgmma, the weights converted in registers: the
// mixed-input core of cuda/hopper/mixed_input_wgmma_sm90.cuh with the format of
// cuda/detail/nvfp4_weights.cuh (block scales in the fragment, the global scale on the fp32 sum),
// on the packed weights of nvfp4_weight_only_mma_sm80.
#include "cuda/detail/nvfp4_weights.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_nvfp4_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<detail::Nvfp4>>("nvfp4_weight_only_wgmma_sm90",
                                                                    std::move(layout));
}

}  // namespace qlinear::cuda
