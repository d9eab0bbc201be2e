// MXFP4's e8m0 scales as mxfp4_weight_only_wgmma_sm90 applies them: inside the A fragment, one
// multiply a register, so that one fp32 sum runs over all of K (its groups of 32 are half a
// k-block of 4-bit codes: a fold per group, as the mma kernel does, would stall wgmma every two
// k16 steps). CUDA-free, so that CI tests it without a GPU
// (tests/gpu/mixed_input_packing_test.cpp).
//
// The fragment holds an e2m1 code's bits in T's places, the value times 2^-b (b = 126 for bf16, 14
// for fp16: formats.cuh, e2m1_bits); multiplying by 2^(e - 127 + b) for scale code e gives
// value · 2^(e - 127), the dequantized weight. That is exact where the multiplier is a normal T
// (its exponent field, the byte kept per row and step, in 1 .. 254 for bf16, 1 .. 30 for fp16) and
// every product is a normal T (0.5 · 2^(e - 127) to 6 · 2^(e - 127)):
//   bf16: e in 2 .. 128 (multiplier 2^(e - 1); the products from 2^-126)
//   fp16: e in 114 .. 128 (multiplier 2^(e - 113); the products 2^-14 .. 12)
// Weights of LLM checkpoints lie well inside (|w| <= 6 · 2^(e - 127), e <= 128 for |w| up to 12;
// fp16's lower end is |w| ~ 2^-12). A group of zero codes is exact at any finite scale. A layer
// with any other scale runs on the mma kernel, whose fp32 folds take every code.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// The exponent field, in act_type (bf16 or fp16), of the multiplier for e8m0 scale `code`, or none
// where the fragment could not apply it exactly.
std::optional<uint8_t> mxfp4_fragment_exponent(ScalarType act_type, uint32_t code);

// The multipliers' exponent fields of a layer's scales, one per row and k16 step (each group of 32
// twice) in the block-scale layout of cuda/detail/fragments.hpp, for `tiles` 16-row tiles and
// `kblocks` k-blocks of 64 (padding: the multiplier of 1). None if a scale cannot be applied
// exactly (above; a group of zero codes is exact unless its scale is NaN).
std::optional<std::vector<uint8_t>> mxfp4_fragment_scales(const LayerConfig& config,
                                                          const LayerWeights& weights,
                                                          int64_t tiles, int64_t kblocks);

}  // namespace qlinear::cuda
