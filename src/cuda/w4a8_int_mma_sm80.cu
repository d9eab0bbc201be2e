// w4a8_int_mma_sm80: int4 weights (uint4b8, symmetric, per group or per channel) × int8
// activations quantized per token, on integer tensor cores (mma.sync m16n8k32 .s8.s8.s32), for
// sm_80 and later: the mixed-input pipeline of cuda/detail/mixed_input_mma_sm80.cuh (its header
// says how the work is split, staged and reduced) with the format below and int8 operands.
//
// Per call: x is quantized by the GPU activation quantizer (gpu/act_quant.hpp: the reference's
// codes and per-token scales bit for bit) into int8 codes [M, padded K], which the pipeline stages
// as X; past 1024 tokens the call goes to emulation_w4a8_int.
//
// Layout: cuda/detail/fragments.hpp, fragment_words_s8 — a k-block is 64 K (two k32 steps); byte j
// of each word holds one K position of the lane's two rows, row l/4 in the low nibble and
// row l/4 + 8 in the high one. Group scales in fp32 [N, groups]; groups of 32 or multiples of 64.
//
// Exactness: a code c becomes the int8 c - 8 (-8..7) exactly, in three or four bit operations a
// register of four (s8_from_uint4b8); the mma sums int8 × int8 products in int32 exactly (a group
// of up to kMaxS8GroupK = 2097151 K positions cannot overflow: |q| <= 128, |c - 8| <= 8). At each
// group end the sum is converted to fp32 and folded with the group's scale; at the end the token's
// activation scale multiplies the fp32 sum; the reduction adds the bias and rounds once to the
// output type.
#include "cuda/detail/w4a8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct W4A8 : detail::W4a8Weights {
  static constexpr const char* kName = "w4a8_int_mma_sm80";
  static constexpr Family kFamily = Family::w4a8_int;
  using Codes = int8_t;

  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const None (&)[2], uint2,
                                  uint32_t (&a)[4]) {
    detail::s8_fragment(word, s, a);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_w4a8_int_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<W4A8>>();
}

}  // namespace qlinear::cuda
