// The int4 weight format of the mixed-input kernels (w4a16_mma_sm80 and w4a16_wgmma_sm90, which
// read the same packed weights): uint4b8, or uint4 with zero points; two codes a byte along each
// lane's fragment (the 4-bit layout of cuda/detail/fragments.hpp), a k-block is 64 K; group scales
// in fp32 [N, groups], zero points as uint8 codes beside them.
//
// Exactness: a 4-bit code minus its zero point (-15..15) is exact in bf16 and fp16, so the tensor
// cores multiply exact weights; group scales are applied in fp32 at the group folds.
#pragma once

#include "cuda/detail/mixed_input_mma_sm80.cuh"

namespace qlinear::cuda::detail {

struct Int4 : IntegerGroupScales<8> {
  static constexpr const char* kName = "w4a16_mma_sm80";
  static constexpr Family kFamily = Family::mixed_precision;
  static constexpr ScalarType kWeightTypes[] = {ScalarType::uint4b8, ScalarType::uint4};
  static constexpr int kBits = 4;
  static constexpr bool kBlockScales = false;
  static constexpr float kZero = 8.f;      // uint4b8: value = code - 8
  static constexpr uint32_t kPadCode = 8;  // value 0 for uint4b8 and for the padded zero point 8

  // A nibble v OR-ed into the mantissa of a magic number gives magic + v exactly: bf16 0x4300 is
  // 128.0, fp16 0x6400 is 1024.0. Subtracting magic + zero point leaves the value.
  template <typename T>
  static constexpr uint32_t magic() {
    return std::is_same_v<T, __half> ? 0x64006400u : 0x43004300u;
  }
  template <typename T>
  static constexpr float magic_value() {
    return std::is_same_v<T, __half> ? 1024.f : 128.f;
  }

  template <typename T>
  using Offset = typename Act<T>::Pair;  // magic + zero point, in both halves
  template <typename T>
  static __device__ Offset<T> offset(float zero) {
    return Act<T>::pair(magic_value<T>() + zero, magic_value<T>() + zero);
  }

  // (x & mask) | bits as one LOP3: written in C++, nvcc emits an AND and an OR (ncu on the wgmma
  // kernel, bench/NOTES.md "The wgmma core's consumers"), a quarter of the conversion.
  static __device__ __forceinline__ uint32_t and_or(uint32_t x, uint32_t mask, uint32_t bits) {
    uint32_t r;
    asm("lop3.b32 %0, %1, %2, %3, 0xea;\n" : "=r"(r) : "r"(x), "r"(mask), "r"(bits));
    return r;
  }

  // Register p of step s: the codes at slots p and p + 4 of word s, one in each half.
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s, const Offset<T> (&offset)[2],
                                  uint2, uint32_t (&a)[4]) {
#pragma unroll
    for (int p = 0; p < 4; ++p) {
      const uint32_t biased = and_or(word[s] >> (4 * p), 0x000f000fu, magic<T>());
      a[p] = bits_of<T>(pair_of<T>(biased) - offset[p % 2]);
    }
  }

  static uint32_t pack_code(const LayerConfig&, uint32_t code) { return code; }
};

}  // namespace qlinear::cuda::detail
