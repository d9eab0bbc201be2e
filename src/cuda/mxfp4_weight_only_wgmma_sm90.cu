// mxfp4_weight_only_wgmma_sm90: float4_e2m1 weights with e8m0 scales per 32 along K (gpt-oss's and
// OCP MX's W4A16) × bf16/fp16 activations on Hopper's wgmma, the weights converted in registers:
// the mixed-input core of cuda/hopper/mixed_input_wgmma_sm90.cuh on the packed weights of
// mxfp4_weight_only_mma_sm80, its scales applied in the fragment as NVFP4's block scales are (one
// fp32 sum over K; cuda/mxfp4_fragment_scales.hpp says where that is exact). A layer with a scale
// outside that range runs every call on the mma kernel.
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"
#include "cuda/mxfp4_fragment_scales.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp4ScalesInFragment : detail::NoOffsets {
  static constexpr Family kFamily = Family::mxfp4_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float4_e2m1f};
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = true;

  // No scale outside the fragment: the core's one scale a row (NVFP4's global scale) is 1.
  __device__ static float scale(const void*, int64_t) { return 1.f; }

  // Register p of step s: the codes at slots p and p + 4 of word s (the mma kernel's packing) in
  // T's places, times the power of two whose exponent field is byte s of its row's block scales
  // (p even: row q, odd: q + 8) — one multiply to the dequantized weight, exactly.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    constexpr int kField = std::is_same_v<T, __half> ? 10 : 7;  // T's exponent field
    const uint16_t power[2] = {static_cast<uint16_t>((scales.x >> (8 * s) & 0xffu) << kField),
                               static_cast<uint16_t>((scales.y >> (8 * s) & 0xffu) << kField)};
#pragma unroll
    for (int p = 0; p < 4; ++p)
      a[p] = detail::scale_pair_by<T>(detail::e2m1_bits<T>(word[s] << (4 * (3 - p))), power[p % 2]);
  }

  static std::optional<std::vector<uint8_t>> fragment_scales(const LayerConfig& c,
                                                             const LayerWeights& w, int64_t tiles,
                                                             int64_t kblocks) {
    return mxfp4_fragment_scales(c, w, tiles, kblocks);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_mxfp4_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<Mxfp4ScalesInFragment>>(
      "mxfp4_weight_only_wgmma_sm90", std::move(layout));
}

}  // namespace qlinear::cuda
