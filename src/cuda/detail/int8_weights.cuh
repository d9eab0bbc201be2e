// The 8-bit integer weight format of the mixed-input kernels (w8a16_mma_sm80 and w8a16_wgmma_sm90,
// which read the same packed weights): uint8b128, uint8 with zero points, int8. One code a byte
// along each lane's fragment (the 8-bit layout of cuda/detail/fragments.hpp), a k-block is 32 K;
// int8 codes are stored as code ^ 0x80 (= code + 128), so every type packs to an unsigned byte v
// whose value is v - z, z being the zero point (uint8) or 128. Group scales in fp32 [N, groups],
// zero points as uint8 codes beside them.
//
// Exactness: v - z is an integer in -255..255, which needs at most 8 significant bits: exact in
// fp16 (11) and bf16 (8). Group scales are applied in fp32 at the group folds.
#pragma once

#include "cuda/detail/mixed_input_mma_sm80.cuh"

namespace qlinear::cuda::detail {

struct Int8 : IntegerGroupScales<128> {
  static constexpr const char* kName = "w8a16_mma_sm80";
  static constexpr Family kFamily = Family::mixed_precision;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::uint8b128, ScalarType::uint8,
                                                ScalarType::int8};
  static constexpr int kBits = 8;
  static constexpr bool kBlockScales = false;
  static constexpr float kZero = 128.f;      // uint8b128 (and int8 as packed): value = v - 128
  static constexpr uint32_t kPadCode = 128;  // value 0, with the padded zero point 128 too

  // fp16: v under the high byte 0x64 is 1024 + v exactly (fp16 has 10 mantissa bits); subtracting
  // 1024 + z leaves v - z. bf16 has 7 mantissa bits, too few for 1024 + v: v goes into the
  // mantissa of fp32 2^23 instead (0x4b000000), 2^23 + z is subtracted in fp32, and the exact
  // difference is rounded to bf16 (which holds it exactly).
  template <typename T>
  using Offset = std::conditional_t<std::is_same_v<T, __half>, __half2, float>;
  template <typename T>
  static __device__ Offset<T> offset(float zero) {
    if constexpr (std::is_same_v<T, __half>)
      return __float2half2_rn(1024.f + zero);
    else
      return 8388608.f + zero;
  }

  // The register pair of bytes `lo` and `lo + 2` of a word (lo = 0: first register, 1: second).
  template <typename T>
  static __device__ uint32_t pair(uint32_t word, int lo, Offset<T> offset) {
    if constexpr (std::is_same_v<T, __half>) {
      // Selector: byte lo, 0x64, byte lo + 2, 0x64.
      const uint32_t biased = __byte_perm(word, 0x64646464u, 0x4040u | lo | (lo + 2) << 8);
      return bits_of<T>(pair_of<T>(biased) - offset);
    } else {
      // Selector: byte lo, 0x00, 0x00, 0x4b (from 0x4b000000).
      const float first = __uint_as_float(__byte_perm(word, 0x4b000000u, 0x7440u | lo)) - offset;
      const float second =
          __uint_as_float(__byte_perm(word, 0x4b000000u, 0x7440u | (lo + 2))) - offset;
      return bits_of<T>(Act<T>::pair(first, second));
    }
  }

  // Step s: registers a0, a1 from word 2s, a2, a3 from word 2s + 1.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&offset)[2],
                                  uint2, uint32_t (&a)[4]) {
#pragma unroll
    for (int p = 0; p < 4; ++p) a[p] = pair<T>(word[2 * s + p / 2], p % 2, offset[p % 2]);
  }

  static uint32_t pack_code(const LayerConfig& c, uint32_t code) {
    return c.weight_type == ScalarType::int8 ? code ^ 0x80u : code;
  }
};

}  // namespace qlinear::cuda::detail
