// mxfp4_weight_only_wgmma_sm90: float4_e2m1 weights with e8m0 scales per 32 along K (gpt-oss's and
// OCP MX's W4A16) × bf16/fp16 activations on Hopper's wgmma, the weights converted in registers:
// the mixed-input core of cuda/hopper/mixed_input_wgmma_sm90.cuh on the packed weights of
// mxfp4_weight_only_mma_sm80, its scales applied in the fragment as NVFP4's block scales are (one
// fp32 sum over K; cuda/mx_fragment_scales.hpp says where that is exact). A layer with a scale
// outside that range runs every call on the mma kernel.
#include "cuda/detail/mx_scales_in_fragment.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp4ScalesInFragment : detail::MxScalesInFragment<4> {
  static constexpr Family kFamily = Family::mxfp4_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float4_e2m1f};

  // Register p of step s: the codes at slots p and p + 4 of word s (the mma kernel's packing) in
  // T's places, times the power of two of byte s of its row's block scales (p even: row q, odd:
  // q + 8) — one multiply to the dequantized weight, exactly.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    const uint16_t row_power[2] = {power<T>(scales.x, s), power<T>(scales.y, s)};
#pragma unroll
    for (int p = 0; p < 4; ++p)
      a[p] = detail::scale_pair_by<T>(detail::e2m1_bits<T>(word[s] << (4 * (3 - p))),
                                      row_power[p % 2]);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_mxfp4_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<Mxfp4ScalesInFragment>>(
      "mxfp4_weight_only_wgmma_sm90", std::move(layout));
}

}  // namespace qlinear::cuda
