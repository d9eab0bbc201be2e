// The MX formats' e8m0 scales applied in the A fragment as block scales, one multiply a register
// by a power of two whose exponent field the layer's block-scale bytes hold (cuda/mx_fragment_
// scales.hpp: the bytes, and where that is exact): the policies of mxfp4_weight_only and
// mxfp8_weight_only on the mma pipeline (whose layers outside that range run the policy's Folds)
// and on the wgmma core. The format's policy adds its family, weight type and fragment.
#pragma once

#include <optional>
#include <vector>

#include "cuda/detail/mixed_input_mma_sm80.cuh"
#include "cuda/mx_fragment_scales.hpp"

namespace qlinear::cuda::detail {

template <int kCodeBits>
struct MxScalesInFragment : NoOffsets {
  static constexpr int kBits = kCodeBits;
  static constexpr bool kBlockScales = true;
  // A slot a group of 32: 2 a 4-bit k-block of 64, 1 an 8-bit one of 32; a lane's scales of a
  // k-block are its row q's slots, then row q + 8's, in the low bytes of the uint2.
  static constexpr int kBlockScaleSlots = block_k(kCodeBits) / 32;
  static constexpr uint32_t kPadCode = 0;  // +0

  // No scale outside the fragment: the pipelines' one scale a row (NVFP4's global scale) is 1.
  __device__ static float scale(const void*, int64_t) { return 1.f; }

  // Byte `b` of a lane's block-scale bytes as the power of two it encodes, T's 16 bits.
  template <typename T>
  static __device__ uint16_t power(uint32_t bytes, int b) {
    constexpr int kField = std::is_same_v<T, __half> ? 10 : 7;  // T's exponent field
    return static_cast<uint16_t>((bytes >> (8 * b) & 0xffu) << kField);
  }

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
  static std::optional<std::vector<uint8_t>> fragment_scales(const LayerConfig& c,
                                                             const LayerWeights& w, int64_t tiles,
                                                             int64_t kblocks) {
    return mx_fragment_scales(c, w, tiles, kblocks, block_k(kBits));
  }
};

}  // namespace qlinear::cuda::detail
