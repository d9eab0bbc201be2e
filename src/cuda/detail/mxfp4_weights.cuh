// The MXFP4 weight-only format of the mixed-input kernels (mxfp4_weight_only_mma_sm80 and
// mxfp4_weight_only_wgmma_sm90, which read the same packed weights): float4_e2m1 weights (two a
// byte) with e8m0 scales per 32 along K.
//
// Layout: the pipeline's 4-bit layout (two codes a byte along each lane's fragment); a k-block of
// 64 K holds two scale groups. Where the fragment can apply a layer's scales exactly
// (cuda/mx_fragment_scales.hpp: bf16 codes 2..128, fp16 114..128), they ride beside the weights as
// NVFP4's block scales do (one 4-byte load a quad, tile and k-block: two groups of two rows) and
// one multiply a register dequantizes: one fp32 sum over K, no group state in the main loop. Any
// other layer keeps MXFP8's one byte a group (cuda/detail/mxfp8_weights.cuh) and folds each half
// k-block's sum by its scale in fp32 (Mxfp4Folds).
//
// Exactness: an e2m1 value (0.5 .. 6, at most 2 significant bits) is exact in bf16 and fp16, and
// so is its product with a scale in that range, so the mma sums exact products in fp32; outside
// it, the scale (2^-127 .. 2^127) is applied to the group's fp32 sum.
#pragma once

#include "cuda/detail/mx_scales_in_fragment.cuh"
#include "cuda/detail/mxfp8_weights.cuh"
#include "gpu/formats.cuh"

namespace qlinear::cuda::detail {

// The fragment with the layer's scales in it: the policy of both kernels.
struct Mxfp4ScalesInFragment : MxScalesInFragment<4> {
  static constexpr Family kFamily = Family::mxfp4_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float4_e2m1f};

  // Register p of step s: the codes at slots p and p + 4 of word s in T's places (slots 3 and 7,
  // the high nibbles of the halves), times the power of two of its row's group (p even: row q,
  // odd: q + 8) — one multiply to the dequantized weight, exactly.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    const uint16_t row_power[2] = {power<T>(scales.x, mx_scale_byte(kBlockScaleSlots, 0, s)),
                                   power<T>(scales.x, mx_scale_byte(kBlockScaleSlots, 1, s))};
#pragma unroll
    for (int p = 0; p < 4; ++p)
      a[p] = scale_pair_by<T>(e2m1_bits<T>(word[s] << (4 * (3 - p))), row_power[p % 2]);
  }
};

// The same words as exact values, the scales folded per half k-block in fp32.
struct Mxfp4Folds : NoOffsets, E8m0GroupScales {
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = false;

  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2], uint2,
                                  uint32_t (&a)[4]) {
#pragma unroll
    for (int p = 0; p < 4; ++p) a[p] = e2m1_pair<T>(word[s] << (4 * (3 - p)));
  }
};

struct Mxfp4 : Mxfp4ScalesInFragment {
  static constexpr const char* kName = "mxfp4_weight_only_mma_sm80";
  using Folds = Mxfp4Folds;
};

}  // namespace qlinear::cuda::detail
