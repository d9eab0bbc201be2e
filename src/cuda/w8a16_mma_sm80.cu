// w8a16_mma_sm80: 8-bit integer weights of the mixed_precision family (uint8b128, uint8 with zero
// points, int8) × bf16/fp16 activations on tensor cores, for sm_80 and later: the mixed-input
// pipeline of cuda/detail/mixed_input_mma_sm80.cuh (its header says how the work is split, staged
// and reduced) with the format of cuda/detail/int8_weights.cuh; groups of 16 or multiples of 32.
#include "cuda/detail/int8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w8a16_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<detail::Int8>>();
}

}  // namespace qlinear::cuda
