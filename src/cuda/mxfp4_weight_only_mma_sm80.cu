// mxfp4_weight_only_mma_sm80: float4_e2m1 weights (two a byte) with e8m0 scales per 32 along K ×
// bf16/fp16 activations on tensor cores, for sm_80 and later (gpt-oss's and OCP MX's W4A16): the
// mixed-input pipeline of cuda/detail/mixed_input_mma_sm80.cuh with the format below.
//
// Layout: the pipeline's 4-bit layout (two codes a byte along each lane's fragment), a k-block of
// 64 K holds two scale groups: the pipeline folds each half k-block's sum by its group's scale.
// The scales are MXFP8's, one e8m0 byte each (cuda/detail/mxfp8_weights.cuh).
//
// Exactness: an e2m1 value (0.5 .. 6, at most 2 significant bits) is exact in bf16 and fp16, so the
// mma sums exact products in fp32; the scale, a power of two 2^-127 .. 2^127 that the activation
// type cannot always hold, is applied in fp32 when a group's sum is folded.
#include "cuda/detail/mxfp8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp4 : detail::NoOffsets, detail::E8m0GroupScales {
  static constexpr const char* kName = "mxfp4_weight_only_mma_sm80";
  static constexpr Family kFamily = Family::mxfp4_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float4_e2m1f};
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = false;
  static constexpr uint32_t kPadCode = 0;  // +0

  // Register p of step s: the codes at slots p and p + 4 of word s, moved to slots 3 and 7 (the
  // high nibbles of the halves), as nvfp4_weight_only_mma_sm80 reads them, without a block scale.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2], uint2,
                                  uint32_t (&a)[4]) {
#pragma unroll
    for (int p = 0; p < 4; ++p) a[p] = detail::e2m1_pair<T>(word[s] << (4 * (3 - p)));
  }

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
};

}  // namespace

std::shared_ptr<const Kernel> make_mxfp4_weight_only_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<Mxfp4>>();
}

}  // namespace qlinear::cuda
