// Activation quantization on the GPU: one fused pass over x per call (two for a dynamic per-tensor
// scale, whose amax must be known before the first code), following the rules of
// include/qlinear/reference.hpp operation for operation, so that codes and scales equal the
// reference's bit for bit.
//
// The scale grid is a "segment": the K extent that shares one scale (act_group_size for per-group
// schemes, the whole row for per-token, the whole row under a tensor-wide scale for per-tensor).
// Scales land at scales[row * scale_row_stride + group * scale_group_stride], so one kernel writes
// both the reference's row-major [M, groups] and the layouts a GEMM reads (cuBLASLt's 1x128 scales
// are M-major: stride 1 along M, M_padded along K groups). A per-tensor scale is written once with
// scale_row_stride 0, or repeated for every row with scale_row_stride 1 (outer-vector GEMMs).
// This header is CUDA-free, so tests and host code include it without the toolkit's headers.
#pragma once

#include <cstdint>

#include "qlinear/config.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::cuda {

struct ActQuantTarget {
  // Codes of config.act_quant, row pitch codes_row_stride elements (>= K; the caller zero-fills
  // any padding). Packed 4-bit codes need an even pitch.
  void* codes = nullptr;
  int64_t codes_row_stride = 0;
  // Scales of config.act_scale_type() (fp32, or the e4m3 / e8m0 code byte).
  void* scales = nullptr;
  int64_t scale_row_stride = 0;
  int64_t scale_group_stride = 1;
  int32_t* zero_points = nullptr;  // [rows] (or [1] per tensor) when config.act_zero_points
  int64_t zero_point_row_stride = 0;
  // Instead of codes: x̂ = (q - z) · s (· global) as bf16, pitch codes_row_stride (emulation).
  bool dequantized = false;
  // Words the quantizer zeroes on the way, for the kernel that follows it (a GEMM's split-K
  // tickets): one launch fewer than a memset.
  int32_t* cleared = nullptr;
  int64_t cleared_count = 0;
};

// Quantizes x [M, K] (bf16, fp16 or fp32 on a CUDA device, contiguous) as `config` prescribes.
// input_scale / input_zero_point: the layer's static tensors on the device (or undefined views).
void quantize_activations(const LayerConfig& config, const TensorView& x,
                          const TensorView& input_scale, const TensorView& input_zero_point,
                          const ActQuantTarget& target, void* stream);

// x converted to bf16 with row pitch `row_stride` (weight-only families' emulation).
void convert_to_bf16(const TensorView& x, void* out, int64_t row_stride, void* stream);

}  // namespace qlinear::cuda
