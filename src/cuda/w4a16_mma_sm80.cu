// w4a16_mma_sm80: int4 weights (uint4b8, or uint4 with zero points) × bf16/fp16 activations on
// tensor cores, for sm_80 and later: the mixed-input pipeline of
// cuda/detail/mixed_input_mma_sm80.cuh (its header says how the work is split, staged and reduced)
// with the int4 format of cuda/detail/int4_weights.cuh.
#include "cuda/detail/int4_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w4a16_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<detail::Int4>>();
}

}  // namespace qlinear::cuda
