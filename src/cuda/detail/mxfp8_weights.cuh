// The MXFP8 weight-only format of the mixed-input kernels (mxfp8_weight_only_mma_sm80 and
// mxfp8_weight_only_wgmma_sm90, which read the same packed weights): float8_e4m3fn weights with
// e8m0 scales per 32 along K; its two halves, the e4m3 codes and the e8m0 scales, also serve
// fp8_weight_only_mma_sm80 and mxfp4_weight_only_mma_sm80. One code a byte along each lane's
// fragment (the 8-bit layout of cuda/detail/fragments.hpp), so a k-block is 32 K, one scale group.
// Where the fragment can apply a layer's scales exactly (cuda/mx_fragment_scales.hpp: bf16 codes
// 10..134, fp16 122..134) they ride beside the weights as NVFP4's block scales do (a byte a row and
// k-block) and one multiply a register dequantizes; any other layer keeps them one byte each, [N, K
// / 32] (an fp32 copy would add 12% to the bytes read at decode, the codes 3%), and folds each
// k-block's sum by its scale.
//
// Exactness: every e4m3 value is exact in bf16 and fp16 (formats.cuh, e4m3_pair), and so is its
// product with a scale in that range; outside it, the scale (a power of two 2^-127..2^127) is
// applied in fp32 when each group's sum is folded. The NaN codes (0x7f, 0xff) decode to ±480, not
// NaN: no quantizer emits them.
#pragma once

#include "cuda/detail/mixed_input_mma_sm80.cuh"
#include "cuda/detail/mx_scales_in_fragment.cuh"
#include "gpu/formats.cuh"

namespace qlinear::cuda::detail {

// e4m3 codes one a byte (the pipeline's 8-bit layout) as exact A fragments: the codes of
// mxfp8_weight_only and fp8_weight_only.
struct E4m3Fragments : NoOffsets {
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float8_e4m3fn};
  static constexpr int kBits = 8;
  static constexpr bool kBlockScales = false;
  static constexpr uint32_t kPadCode = 0;  // +0

  // Step s: registers a0, a1 from bytes (0, 2) and (1, 3) of word 2s; a2, a3 likewise of word 2s
  // + 1.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2], uint2,
                                  uint32_t (&a)[4]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      a[2 * h] = e4m3_pair<T>(word[2 * s + h] << 8);
      a[2 * h + 1] = e4m3_pair<T>(word[2 * s + h]);
    }
  }

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
};

// e8m0 scales per 32 along K, kept one byte each, [N, K / 32]: the scales of the MX formats
// (mxfp8_weight_only, mxfp4_weight_only).
struct E8m0GroupScales : E8m0Scales {
  static void prepare_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                             Device device, Prepared& out) {
    const int64_t n = c.part_n(), groups = c.weight_scale_shape()[1];
    const Tensor codes = Tensor::copy_of(w.weight_scale, Device::cpu());
    std::vector<uint8_t> scales(static_cast<size_t>(padded_n * groups), 127);  // padding rows: 1.0
    for (int64_t i = 0; i < n * groups; ++i) scales[i] = static_cast<uint8_t>(load_code(codes, i));
    out.scales = to_device(scales, ScalarType::uint8, device);
    out.groups = static_cast<int>(groups);
    out.group_size = static_cast<int>(c.group_size);
  }
};

// The fragment with the layer's scales in it: the policy of both kernels.
struct Mxfp8ScalesInFragment : MxScalesInFragment<8> {
  static constexpr Family kFamily = Family::mxfp8_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float8_e4m3fn};

  // Step s: registers a0, a1 from bytes (0, 2) and (1, 3) of word 2s, a2, a3 likewise of word
  // 2s + 1 (E4m3Fragments' layout), each code's bits in T's places times the power of two of its
  // row's group (a k-block of 32 K is one; a0 / a2: row q, a1 / a3: q + 8).
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    const uint16_t row_power[2] = {power<T>(scales.x, mx_scale_byte(kBlockScaleSlots, 0, s)),
                                   power<T>(scales.x, mx_scale_byte(kBlockScaleSlots, 1, s))};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      a[2 * h] = scale_pair_by<T>(e4m3_bits<T>(word[2 * s + h] << 8), row_power[0]);
      a[2 * h + 1] = scale_pair_by<T>(e4m3_bits<T>(word[2 * s + h]), row_power[1]);
    }
  }
};

// The same words as exact values, the scales folded per k-block in fp32.
struct Mxfp8Folds : E4m3Fragments, E8m0GroupScales {};

struct Mxfp8 : Mxfp8ScalesInFragment {
  static constexpr const char* kName = "mxfp8_weight_only_mma_sm80";
  using Folds = Mxfp8Folds;
};

}  // namespace qlinear::cuda::detail
