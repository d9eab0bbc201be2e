// The CUDA provider's kernels, one factory per kernel file, for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// The mixed-input tensor-core kernels (cuda/detail/mixed_input_mma_sm80.cuh), one per weight
// format; w4a8_int_mma_sm80 multiplies int8 activation codes (integer mma), w4a8_fp8_mma_sm89
// e4m3 ones (FP8 mma, sm_89 and later).
std::shared_ptr<const Kernel> make_w4a16_mma_sm80();
std::shared_ptr<const Kernel> make_w8a16_mma_sm80();
std::shared_ptr<const Kernel> make_mxfp8_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_nvfp4_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_mxfp4_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_fp8_weight_only_mma_sm80();
std::shared_ptr<const Kernel> make_w4a8_int_mma_sm80();
std::shared_ptr<const Kernel> make_w4a8_fp8_mma_sm89();
// The Hopper scaled-mm kernels (cuda/hopper/scaled_mm_sm90.cuh): qlinear's wgmma + TMA GEMM at
// every M, on the codes `layout` prepares (the family's cuBLASLt kernel, given by the kernel list:
// one copy for both in a composite plan, gpu/cublaslt_layout.hpp).
std::shared_ptr<const Kernel> make_fp8_scaled_mm_sm90(std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_int8_scaled_mm_sm90(std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_fp8_block_sm90(std::shared_ptr<const Kernel> layout);
// The Hopper mixed-input kernels (cuda/hopper/mixed_input_wgmma_sm90.cuh): wgmma with the weights
// converted in registers, on the packed weights of the format's mma kernel (`layout`).
std::shared_ptr<const Kernel> make_w4a16_wgmma_sm90(std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_w8a16_wgmma_sm90(std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_mxfp8_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_nvfp4_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout);
std::shared_ptr<const Kernel> make_mxfp4_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout);
// The weight-only families for prefill (cuda/detail/dequant_gemm.cuh): per call, the canonical
// weights dequantized to the activation type into scratch, then one cuBLASLt GEMM.
std::shared_ptr<const Kernel> make_dequant_gemm_mixed_precision();
std::shared_ptr<const Kernel> make_dequant_gemm_nvfp4_weight_only();
std::shared_ptr<const Kernel> make_dequant_gemm_mxfp8_weight_only();
std::shared_ptr<const Kernel> make_dequant_gemm_mxfp4_weight_only();
std::shared_ptr<const Kernel> make_dequant_gemm_fp8_weight_only();

}  // namespace qlinear::cuda
