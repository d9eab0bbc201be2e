// The CUDA provider's kernels, one factory per kernel file, for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w4a16_mma_sm80();
// The Hopper scaled-mm kernels run their own GEMM (cuda/hopper/scaled_mm_sm90.cuh) for calls of
// up to own_max_m tokens and hand larger ones to the family's cuBLASLt kernel, faster there as
// measured (bench/NOTES.md); the GPU tests pass a limit past every M to test the GEMM alone.
inline constexpr int64_t kSm90OwnMaxM = 16;
std::shared_ptr<const Kernel> make_fp8_scaled_mm_sm90(int64_t own_max_m = kSm90OwnMaxM);
std::shared_ptr<const Kernel> make_int8_scaled_mm_sm90(int64_t own_max_m = kSm90OwnMaxM);
std::shared_ptr<const Kernel> make_fp8_block_sm90(int64_t own_max_m = kSm90OwnMaxM);

}  // namespace qlinear::cuda
