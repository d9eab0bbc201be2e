// mxfp8_weight_only_wgmma_sm90: float8_e4m3fn weights with e8m0 scales per 32 along K ×
// bf16/fp16 activations on Hopper's wgmma, the weights converted in registers: the mixed-input
// core of cuda/hopper/mixed_input_wgmma_sm90.cuh on the packed weights of
// mxfp8_weight_only_mma_sm80, its scales applied in the fragment as mxfp4's are (one fp32 sum over
// K on up to 256-token tiles, where a fold would stall wgmma every 32-K k-block;
// cuda/mx_fragment_scales.hpp says where that is exact). A layer with a scale outside that range
// runs every call on the mma kernel.
#include "cuda/detail/mx_scales_in_fragment.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp8ScalesInFragment : detail::MxScalesInFragment<8> {
  static constexpr Family kFamily = Family::mxfp8_weight_only;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::float8_e4m3fn};

  // Step s: registers a0, a1 from bytes (0, 2) and (1, 3) of word 2s, a2, a3 likewise of word
  // 2s + 1 (E4m3Fragments' layout), each code's bits in T's places times the power of two of its
  // row's block scales (a0 / a2: row q, a1 / a3: q + 8; a k-block of 32 K is one group, its four
  // bytes alike).
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&)[2],
                                  uint2 scales, uint32_t (&a)[4]) {
    const uint16_t row_power[2] = {power<T>(scales.x, 0), power<T>(scales.y, 0)};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      a[2 * h] = detail::scale_pair_by<T>(detail::e4m3_bits<T>(word[2 * s + h] << 8), row_power[0]);
      a[2 * h + 1] = detail::scale_pair_by<T>(detail::e4m3_bits<T>(word[2 * s + h]), row_power[1]);
    }
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_mxfp8_weight_only_wgmma_sm90(
    std::shared_ptr<const Kernel> layout) {
  return std::make_shared<sm90::MixedInputWgmmaSm90<Mxfp8ScalesInFragment>>(
      "mxfp8_weight_only_wgmma_sm90", std::move(layout));
}

}  // namespace qlinear::cuda
