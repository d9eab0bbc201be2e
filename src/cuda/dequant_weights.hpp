// The canonical weights of any family dequantized on the GPU to bf16 (the emulation kernels' B
// operand): ŵ[n, k] = (value(code) - zp) · scale[row(n), group(k)] · global, computed in fp32 and
// rounded once to bf16. CUDA-free header.
#pragma once

#include <cstdint>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// Writes ŵ as bf16 [N, row_stride] (row_stride >= K; columns K.. are zero) to `out` on the
// weights' device.
void dequantize_weights_bf16(const LayerConfig& config, const LayerWeights& weights, void* out,
                             int64_t row_stride, void* stream);

}  // namespace qlinear::cuda
