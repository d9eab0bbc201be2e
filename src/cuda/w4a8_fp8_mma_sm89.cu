// w4a8_fp8_mma_sm89: int4 weights (uint4b8, symmetric, per group or per channel) × e4m3
// activations quantized per token (W4A8-FP8, the compressed-tensors scheme vLLM runs on Hopper), on
// FP8 tensor cores (mma.sync m16n8k32 .e4m3.e4m3.f32), for sm_89 and later: the mixed-input
// pipeline of cuda/detail/mixed_input_mma_sm80.cuh (its header says how the work is split, staged
// and reduced) with the format below and e4m3 operands. w4a8_int_mma_sm80's weights and layout
// (fragment_words_s8: byte j of each word holds one K position of the lane's two rows), other
// codes.
//
// Per call: x is quantized by the GPU activation quantizer (gpu/act_quant.hpp: the reference's
// codes and per-token scales bit for bit) into e4m3 codes [M, padded K], which the pipeline stages
// as X (bytes past K cleared); past the plan's token limit the call goes to emulation_w4a8_fp8.
//
// Exactness: a code c becomes the e4m3 byte of c - 8 (-8..7, all exact in e4m3) through fp16
// (e4m3_from_uint4b8); e4m3 × e4m3 products are exact. The tensor cores accumulate them with fewer
// bits than fp32, so a group's sum is folded into the fp32 accumulator, times the group's scale, at
// least every kFp8FoldK K (a per-channel scale is folded that often too; groups larger than that
// are refused); at the end the token's scale multiplies the fp32 sum; the reduction adds the bias
// and rounds once to the output type.
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "cuda/detail/w4a8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

// Four uint4b8 codes c, one in the low nibble of each byte (high nibbles ignored), to the e4m3
// bytes of c - 8 in the same bytes: 0x64 above a nibble is the fp16 1024 + c (its ulp is 1), less
// 1032 it is c - 8 exactly, and the round-to-nearest conversion of a value e4m3 holds is exact.
__device__ uint32_t e4m3_from_uint4b8(uint32_t nibbles) {
  const uint32_t c = nibbles & 0x0f0f0f0fu;
  const __half2 bias = __half2half2(__ushort_as_half(0x6408));      // 1032
  const uint32_t pairs[2] = {__byte_perm(c, 0x64646464u, 0x5140),   // c0, c1
                             __byte_perm(c, 0x64646464u, 0x7362)};  // c2, c3
  uint32_t bytes = 0;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const __half2 value = __hsub2(*reinterpret_cast<const __half2*>(&pairs[i]), bias);
    const __nv_fp8x2_storage_t e4m3 = __nv_cvt_halfraw2_to_fp8x2(
        static_cast<__half2_raw>(value), __NV_SATFINITE, __NV_E4M3);  // low half, low byte
    bytes |= static_cast<uint32_t>(e4m3) << (16 * i);
  }
  return bytes;
}

struct W4A8Fp8 : detail::W4a8Weights {
  static constexpr const char* kName = "w4a8_fp8_mma_sm89";
  static constexpr Family kFamily = Family::w4a8_fp8;
  using Codes = __nv_fp8_e4m3;

  // The four A registers of step s of a k-block: word 2s + h's low nibbles are register 2h, its
  // high nibbles register 2h + 1 (fragment_words_s8).
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const None (&)[2], uint2,
                                  uint32_t (&a)[4]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      a[2 * h] = e4m3_from_uint4b8(word[2 * s + h]);
      a[2 * h + 1] = e4m3_from_uint4b8(word[2 * s + h] >> 4);
    }
  }

  static void prepare_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                             Device device, detail::Prepared& out) {
    W4a8Weights::prepare_scales(c, w, padded_n, device, out);
    // One scale per channel, folded every kFp8FoldK K: the group index a fold reads stays 0.
    if (c.weight_scale != Granularity::per_group)
      out.group_size = std::min(out.group_size, detail::kFp8FoldK);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_w4a8_fp8_mma_sm89() {
  return std::make_shared<detail::MixedInputMmaSm80<W4A8Fp8>>();
}

}  // namespace qlinear::cuda
