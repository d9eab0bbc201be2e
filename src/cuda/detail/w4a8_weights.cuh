// The int4 weight format of the W4A8 mma kernels (w4a8_int_mma_sm80: int8 activations;
// w4a8_fp8_mma_sm89: e4m3 ones), which read the same packed weights: uint4b8, symmetric (code - 8
// is fixed: nothing kept per group but the scale), packed by fragment_words_s8 (byte j of each word
// holds one K position of the lane's two rows), group scales in fp32 [N, groups]. Each kernel's
// policy adds its name, family, activation Codes and the decode of a word into those codes.
#pragma once

#include "cuda/detail/mixed_input_mma_sm80.cuh"

namespace qlinear::cuda::detail {

struct W4a8Weights : NoOffsets, IntegerGroupScales<8> {
  static constexpr ScalarType kWeightTypes[] = {ScalarType::uint4b8};
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = false;
  static constexpr uint32_t kPadCode = 8;  // value 0

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
};

}  // namespace qlinear::cuda::detail
