// The MX formats' e8m0 scales as their kernels (mxfp4_weight_only_mma_sm80 and _wgmma_sm90,
// mxfp8_weight_only_mma_sm80 and _wgmma_sm90) apply them: inside the A fragment, one multiply a
// register, so that one fp32 sum runs over all of K (a group of 32 is half a k-block of 4-bit codes
// and one of 8-bit codes: a fold per group stalls wgmma every k-block or two, and costs the mma
// kernels a byte load per row and group at decode). CUDA-free, so that CI tests it without a GPU
// (tests/gpu/mx_fragment_scales_test.cpp).
//
// The fragment holds a code's bits in T's places, the value times 2^-b (formats.cuh, e2m1_bits /
// e4m3_bits: b = 126 / 120 for bf16, 14 / 8 for fp16); multiplying by 2^(e - 127 + b) for scale
// code e gives value · 2^(e - 127), the dequantized weight. That is exact where the multiplier is a
// normal T (its exponent field, the byte kept per row and step) and every product is a normal T
// (the format's smallest to largest magnitude times 2^(e - 127)):
//   e2m1 (0.5 .. 6):       bf16 e in 2 .. 128,  fp16 e in 114 .. 128
//   e4m3 (2^-9 .. 448):    bf16 e in 10 .. 134, fp16 e in 122 .. 134
// LLM weights lie inside for bf16 (the upper ends are |w| up to 12 and 3584); fp16's lower ends
// are |w| ~ 2^-12 and ~ 2^-4 at most, which many mxfp8 layers go below. A group of zero codes is
// exact at any finite scale. A layer with any other scale runs on the mma kernel's folding policy
// (Folds), whose fp32 folds take every code.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// The exponent field, in act_type (bf16 or fp16), of the multiplier for e8m0 scale `code` of
// weights of `weight_type` (float4_e2m1f or float8_e4m3fn), or none where the fragment could not
// apply it exactly.
std::optional<uint8_t> mx_fragment_exponent(ScalarType weight_type, ScalarType act_type,
                                            uint32_t code);

// The multipliers' exponent fields of a layer's scales in the block-scale layout of
// cuda/detail/fragments.hpp with a slot a group (block_k / 32 bytes a row and k-block: 2 for a
// 4-bit k-block of 64, 1 for an 8-bit one of 32), for `tiles` 16-row tiles and `kblocks` k-blocks
// of `block_k` (padding: the multiplier of 1). None if a
// scale cannot be applied exactly (above; a group of zero codes is exact unless its scale is NaN).
// Which of a lane's 2·slots block-scale bytes (its row q's slots, then row q + 8's) holds the
// group of row q + 8·half at k16 step `step` of the k-block: a slot a group of 32, two steps.
constexpr int mx_scale_byte(int slots, int half, int step) { return half * slots + step / 2; }

std::optional<std::vector<uint8_t>> mx_fragment_scales(const LayerConfig& config,
                                                       const LayerWeights& weights, int64_t tiles,
                                                       int64_t kblocks, int block_k);

}  // namespace qlinear::cuda
