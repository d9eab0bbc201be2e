// mxfp8_weight_only_mma_sm80: float8_e4m3fn weights with e8m0 scales per 32 along K × bf16/fp16
// activations on tensor cores, for sm_80 and later: the mixed-input pipeline of
// cuda/detail/mixed_input_mma_sm80.cuh with the format of cuda/detail/mxfp8_weights.cuh.
#include "cuda/detail/mxfp8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_mxfp8_weight_only_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<detail::Mxfp8>>();
}

}  // namespace qlinear::cuda
