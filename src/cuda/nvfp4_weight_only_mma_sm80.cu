// nvfp4_weight_only_mma_sm80: float4_e2m1 weights (two a byte) with e4m3 scales per 16 along K and
// an fp32 global scale × bf16/fp16 activations on tensor cores, for sm_80 and later: the
// mixed-input pipeline of cuda/detail/mixed_input_mma_sm80.cuh with the format of
// cuda/detail/nvfp4_weights.cuh.
#include "cuda/detail/nvfp4_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_nvfp4_weight_only_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<detail::Nvfp4>>();
}

}  // namespace qlinear::cuda
