// Device encoders and decoders of the 8- and 4-bit formats, shared by the CUDA kernels. Each one
// rounds as the reference's table-driven encoder does (round to nearest, ties to even, saturating).
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

namespace qlinear::cuda::detail {

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

}  // namespace qlinear::cuda::detail
