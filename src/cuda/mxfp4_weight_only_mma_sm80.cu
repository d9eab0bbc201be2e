// mxfp4_weight_only_mma_sm80: float4_e2m1 weights (two a byte) with e8m0 scales per 32 along K ×
// bf16/fp16 activations on tensor cores, for sm_80 and later (gpt-oss's and OCP MX's W4A16): the
// mixed-input pipeline of cuda/detail/mixed_input_mma_sm80.cuh with the format of
// cuda/detail/mxfp4_weights.cuh (its scales in the fragment where that is exact, else folded).
#include "cuda/detail/mxfp4_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_mxfp4_weight_only_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<detail::Mxfp4>>();
}

}  // namespace qlinear::cuda
