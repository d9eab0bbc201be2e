// The second pass of a split-K GEMM: the fp32 partial sums of each K slice added in a fixed order
// (deterministic), the bias added, and the sum rounded once to the output type. Used by the
// *_mma_sm80 kernels. CUDA-free header.
#pragma once

#include "qlinear/tensor.hpp"

namespace qlinear::cuda {

// out[m, n] = Σ_s partials[s][m][n] + bias[n], for partials [slices, m, n] in fp32; bias (fp32,
// bf16 or fp16) may be undefined; out (contiguous [m, n]) is fp32, bf16 or fp16.
void reduce_slices(const float* partials, int slices, int m, int n, const TensorView& bias,
                   const TensorView& out, void* stream);

}  // namespace qlinear::cuda
