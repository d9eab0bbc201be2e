// The CUDA provider's kernels, one factory per kernel file, for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// The mixed-input tensor-core kernels (cuda/detail/mixed_input_mma_sm80.cuh), one per weight
// format; w4a8_int_mma_sm80 multiplies int8 activation codes (integer mma).
std::shared_ptr<const Kernel> make_w4a16_mma_sm80();
std::shared_ptr<const Kernel> make_w8a16_mma_sm80();
std::shared_ptr<const Kernel> make_mxfp8_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_nvfp4_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_w4a8_int_mma_sm80();
// The Hopper scaled-mm kernels run their own GEMM (cuda/hopper/scaled_mm_sm90.cuh) for calls of
// up to own_max_m tokens and hand larger ones to the family's cuBLASLt kernel, faster there as
// measured (bench/NOTES.md, `qlinear_gpu_bench --sm90` on the llama3-8b and 70b/TP8 layers):
// per-channel fp8 and int8 win on 7 and 8 of the 8 layers at 32 tokens, block fp8 on 6 at 16 and
// on 5 at 32. The GPU tests pass a limit past every M to test the GEMM alone.
inline constexpr int64_t kFp8ScaledMmSm90OwnMaxM = 32;
inline constexpr int64_t kInt8ScaledMmSm90OwnMaxM = 32;
inline constexpr int64_t kFp8BlockSm90OwnMaxM = 16;
std::shared_ptr<const Kernel> make_fp8_scaled_mm_sm90(int64_t own_max_m = kFp8ScaledMmSm90OwnMaxM);
std::shared_ptr<const Kernel> make_int8_scaled_mm_sm90(
    int64_t own_max_m = kInt8ScaledMmSm90OwnMaxM);
std::shared_ptr<const Kernel> make_fp8_block_sm90(int64_t own_max_m = kFp8BlockSm90OwnMaxM);
// The weight-only families for prefill (cuda/detail/dequant_gemm.cuh): per call, the canonical
// weights dequantized to the activation type into scratch, then one cuBLASLt GEMM.
std::shared_ptr<const Kernel> make_dequant_gemm_mixed_precision();
std::shared_ptr<const Kernel> make_dequant_gemm_nvfp4_weight_only();
std::shared_ptr<const Kernel> make_dequant_gemm_mxfp8_weight_only();

}  // namespace qlinear::cuda
