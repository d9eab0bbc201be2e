// The NVFP4 weight-only format of the mixed-input kernels (nvfp4_weight_only_mma_sm80 and
// nvfp4_weight_only_wgmma_sm90, which read the same packed weights): float4_e2m1 weights (two a
// byte) with e4m3 scales per 16 along K and an fp32 global scale.
//
// Layout: two codes a byte along each lane's fragment (the pipeline's 4-bit layout), a k-block is
// 64 K = 4 scale groups, one per k16 step. The e4m3 scales ride beside the weights as the block
// scales of cuda/detail/fragments.hpp (lay_out_block_scales: a slot a group, a group a step), so
// that one 8-byte load per tile and k-block gives a lane its two rows' four scales: 1/16 byte per
// weight.
//
// Exactness: an e2m1 value (at most 2 significant bits, 0.5..6) times an e4m3 scale (at most 4,
// 2^-9..448) has at most 6 significant bits and lies in 2^-10..2688: exact in bf16 and fp16, both
// factors exact too (formats.cuh). So the block scale is applied to the weight in the activation
// type, with no rounding, and the tensor cores sum exact products in fp32; the global scale (fp32)
// is applied once, to the fp32 sum: the pipelines' one "group" per row has it as scale.
#pragma once

#include "cuda/detail/mixed_input_mma_sm80.cuh"
#include "gpu/formats.cuh"

namespace qlinear::cuda::detail {

struct Nvfp4 : NoOffsets, Fp32Scales {
  static constexpr const char* kName = "nvfp4_weight_only_mma_sm80";
  static constexpr Family kFamily = Family::nvfp4_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float4_e2m1f};
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = true;
  static constexpr int kBlockScaleSlots = 4;  // a k16 step each
  static constexpr uint32_t kPadCode = 0;     // +0

  // Register p of step s: the codes at slots p and p + 4 of word s, moved to slots 3 and 7 (the
  // high nibbles of the halves), times the block scale of its row (p even: row q, odd: q + 8).
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    // Byte s of each row's scales, in all four bytes: e4m3_pair reads bytes 1 and 3.
    const uint32_t scale[2] = {e4m3_pair<T>(__byte_perm(scales.x, 0, s * 0x1111)),
                               e4m3_pair<T>(__byte_perm(scales.y, 0, s * 0x1111))};
#pragma unroll
    for (int p = 0; p < 4; ++p) {
      const auto product =
          pair_of<T>(e2m1_pair<T>(word[s] << (4 * (3 - p)))) * pair_of<T>(scale[p % 2]);
      a[p] = bits_of<T>(product);
    }
  }

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
  static void prepare_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                             Device device, Prepared& out) {
    const int64_t n = c.part_n(), groups = c.weight_scale_shape()[1];
    const Tensor codes = Tensor::copy_of(w.weight_scale, Device::cpu());
    const std::vector<uint8_t> block_scales = lay_out_block_scales(
        padded_n / kRowsPerTile, out.kblocks, kBlockScaleSlots,
        [&](int64_t row, int64_t group) -> uint8_t {
          return row < n && group < groups ? load_code(codes, row * groups + group) : 0;
        });
    out.block_scales = to_device(block_scales, ScalarType::uint8, device);
    // One group a row, the whole of K, with the global scale as its scale.
    const Tensor global = Tensor::copy_of(w.weight_global_scale, Device::cpu());
    const std::vector<float> scales(static_cast<size_t>(padded_n), *global.data_as<const float>());
    out.scales = to_device(scales, ScalarType::fp32, device);
    out.groups = 1;
    out.group_size = out.padded_k;
  }
};

}  // namespace qlinear::cuda::detail
