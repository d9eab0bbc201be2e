// Device encoders and decoders of the 8- and 4-bit formats, shared by the CUDA kernels. Each one
// rounds as the reference's table-driven encoder does (round to nearest, ties to even, saturating).
// The header also compiles as plain C++ (the __host__ __device__ decoders are tested on the host).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <math.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace qlinear::cuda::detail {

// The fp32 whose bits are `bits`.
__host__ __device__ inline float float_of_bits(uint32_t bits) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(bits);
#else
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
#endif
}

__device__ inline uint32_t e4m3_code(float v) {
  return __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
}
__device__ inline float e4m3_value(uint32_t code) {
  return __half2float(
      __half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(code), __NV_E4M3)));
}

// float4_e2m1f by round-to-nearest-even with saturation; the thresholds are the midpoints between
// 0, 0.5, 1, 1.5, 2, 3, 4, 6, each tie going to the even code. Negative values (zero included)
// keep the sign bit, as the reference's encoder does.
__device__ inline uint32_t e2m1_code(float v) {
  const float a = fabsf(v);
  const uint32_t magnitude = a <= 0.25f   ? 0u
                             : a < 0.75f  ? 1u
                             : a <= 1.25f ? 2u
                             : a < 1.75f  ? 3u
                             : a <= 2.5f  ? 4u
                             : a < 3.5f   ? 5u
                             : a <= 5.f   ? 6u
                                          : 7u;
  return magnitude | (signbit(v) ? 8u : 0u);
}
__device__ inline float e2m1_value(uint32_t code) {
  // 0, 0.5, 1, 1.5 for magnitudes 0..3; 2, 3, 4, 6 for 4..7 (computed: a table would sit in local
  // memory).
  const uint32_t m = code & 7u;
  const float magnitude = m < 4    ? 0.5f * static_cast<float>(m)
                          : m == 7 ? 6.f
                                   : static_cast<float>(m - 2);
  return (code & 8u) ? -magnitude : magnitude;
}

__host__ __device__ inline float e8m0_value(uint32_t code) {
  // 2^(code - 127): the code is fp32's exponent field; code 0 is fp32's subnormal 2^-127.
  return float_of_bits(code == 0xffu ? 0x7fffffffu : code == 0 ? 0x00400000u : code << 23);
}

// ---- codes to fp32 from their bits, for streams of codes ---------------------------------------
// The dequantization of the dequant_gemm kernels decodes with these: integer operations and one
// fp32 multiply per code, the same instructions on sm_80 and sm_90 (e4m3_value above takes the
// fp8 cvt, one code at a time, emulated on sm_80) and on the host, where their tests run them. The
// sign, exponent and mantissa fields go to fp32's places, which reads the value times
// 2^-(127 - bias(code)); one multiply by that power of two restores it exactly. The smallest codes
// are fp32 subnormals before that multiply: the build must keep fp32 subnormals (nvcc's default;
// -ftz=true or --use_fast_math would decode them as 0).

// float8_e4m3fn: exponent and mantissa to fp32's bits 30..20, × 2^120; 0x7f and 0xff are NaN.
__host__ __device__ inline float e4m3_decode(uint32_t code) {
  const float value = float_of_bits((code & 0x80u) << 24 | (code & 0x7fu) << 20) * 0x1p120f;
  return (code & 0x7fu) == 0x7fu ? float_of_bits(0x7fc00000u) : value;
}

// float4_e2m1f: exponent and mantissa to fp32's bits 24..22, × 2^126 (0, 0.5, 1, 1.5, 2, 3, 4, 6).
__host__ __device__ inline float e2m1_decode(uint32_t code) {
  return float_of_bits((code & 0x8u) << 28 | (code & 0x7u) << 22) * 0x1p126f;
}

// An unsigned integer code u (< 2^23) as the fp32 2^23 + u: the code is the mantissa of 2^23, no
// conversion instruction. Subtracting 2^23 + z (made the same way) leaves u - z exactly.
__host__ __device__ inline float integer_plus_2p23(uint32_t u) {
  return float_of_bits(0x4b000000u | u);
}

// ---- code pairs to bf16 / fp16 register pairs, exactly, for the mma A operand -------------------
// The sign, exponent and mantissa bits of each code are moved into the 16-bit type's places; that
// reads the value times 2^-(bias(T) - bias(code)), and one multiply by that power of two (exact,
// subnormal inputs included) restores it. Every e4m3 value (±448 down to the subnormal 2^-9) and
// every e2m1 value (±6 down to 0.5) is a normal number of both bf16 and fp16.

// b = a * 2^e for both halves, with the power of two given as the type's bits.
template <typename T>
__device__ uint32_t scale_pair_by(uint32_t a, uint16_t power_of_two) {
  using Pair = std::conditional_t<std::is_same_v<T, __half>, __half2, __nv_bfloat162>;
  const uint32_t p = power_of_two * 0x10001u;
  const Pair product =
      __hmul2(*reinterpret_cast<const Pair*>(&a), *reinterpret_cast<const Pair*>(&p));
  return *reinterpret_cast<const uint32_t*>(&product);
}

// The e4m3 codes in bytes 1 and 3 of v (the high bytes of its 16-bit halves), their bits in T's
// places: the values times 2^-8 (fp16) or 2^-120 (bf16); bytes 0 and 2 are ignored.
template <typename T>
__device__ uint32_t e4m3_bits(uint32_t v) {
  if constexpr (std::is_same_v<T, __half>)  // exponent to bits 13..10, mantissa to 9..7
    return (v & 0x80008000u) | ((v & 0x7f007f00u) >> 1);
  else  // bf16: exponent to bits 10..7, mantissa to 6..4
    return (v & 0x80008000u) | ((v & 0x7f007f00u) >> 4);
}

// The same codes as values (× 2^8 or 2^120).
template <typename T>
__device__ uint32_t e4m3_pair(uint32_t v) {
  return scale_pair_by<T>(e4m3_bits<T>(v), std::is_same_v<T, __half> ? 0x5c00 : 0x7b80);
}

// The e2m1 codes in nibbles 3 and 7 of v (the high nibbles of its 16-bit halves), their bits in
// T's places: the values times 2^-14 (fp16) or 2^-126 (bf16); the other nibbles are ignored.
template <typename T>
__device__ uint32_t e2m1_bits(uint32_t v) {
  if constexpr (std::is_same_v<T, __half>)  // exponent to bits 11..10, mantissa to 9
    return (v & 0x80008000u) | ((v & 0x70007000u) >> 3);
  else  // bf16: exponent to bits 8..7, mantissa to 6
    return (v & 0x80008000u) | ((v & 0x70007000u) >> 6);
}

// The same codes as values (× 2^14 or 2^126).
template <typename T>
__device__ uint32_t e2m1_pair(uint32_t v) {
  return scale_pair_by<T>(e2m1_bits<T>(v), std::is_same_v<T, __half> ? 0x7400 : 0x7e80);
}

}  // namespace qlinear::cuda::detail
