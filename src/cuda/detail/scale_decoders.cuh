// The scale decoders of the weight formats, shared by the GPU kernels that read them: the
// dequantize-then-GEMM runs (cuda/detail/dequant_run.cuh) and the mixed-input pipelines' format
// policies (cuda/detail/mixed_input_mma_sm80.cuh): scale(scales, i) is scale i as fp32, from fp32
// values or from one-byte e4m3 / e8m0 codes. __host__ __device__: the host tests run them too.
#pragma once

#include <cstdint>

#include "gpu/formats.cuh"

namespace qlinear::cuda::detail {

struct Fp32Scales {
  __host__ __device__ static float scale(const void* scales, int64_t i) {
    return static_cast<const float*>(scales)[i];
  }
};
struct E4m3Scales {
  __host__ __device__ static float scale(const void* scales, int64_t i) {
    return e4m3_decode(static_cast<const uint8_t*>(scales)[i]);
  }
};
struct E8m0Scales {
  __host__ __device__ static float scale(const void* scales, int64_t i) {
    return e8m0_value(static_cast<const uint8_t*>(scales)[i]);
  }
};

}  // namespace qlinear::cuda::detail
