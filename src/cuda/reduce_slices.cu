#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "cuda/reduce_slices.hpp"
#include "gpu/check.hpp"
#include "gpu/dependent_launch.cuh"

namespace qlinear::cuda {
namespace {

template <typename Out>
__device__ Out convert_out(float v) {
  if constexpr (std::is_same_v<Out, float>)
    return v;
  else if constexpr (std::is_same_v<Out, __half>)
    return __float2half_rn(v);
  else
    return __float2bfloat16_rn(v);
}

template <typename B>
__device__ float bias_value(const void* bias, int n) {
  if constexpr (std::is_same_v<B, float>)
    return static_cast<const float*>(bias)[n];
  else if constexpr (std::is_same_v<B, __half>)
    return __half2float(static_cast<const __half*>(bias)[n]);
  else
    return __bfloat162float(static_cast<const __nv_bfloat16*>(bias)[n]);
}

template <typename Out, typename B>
__global__ void reduce_slices_kernel(const float* partials, int slices, int m, int n,
                                     const void* bias, Out* out) {
  // Launched as a dependent of the mma kernel (gpu/dependent_launch.cuh): its sums are read only
  // after it ends; the next kernel may be launched at once (it waits for y the same way).
  wait_for_previous_grid();
  allow_dependent_launch();
  const int64_t total = static_cast<int64_t>(m) * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int s = 0; s < slices; ++s) sum += partials[s * total + i];
    if (bias) sum += bias_value<B>(bias, static_cast<int>(i % n));
    out[i] = convert_out<Out>(sum);
  }
}

template <typename Out>
void reduce_to(const float* partials, int slices, int m, int n, const TensorView& bias,
               const TensorView& out, cudaStream_t s) {
  const int64_t total = static_cast<int64_t>(m) * n;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4096));
  auto* o = out.data_as<Out>();
  const void* b = bias.defined() ? bias.data() : nullptr;
  const bool overlap = dependent_launch_on(out.device());
  const auto launch = [&](auto kernel) {
    launch_dependent(kernel, dim3(blocks), dim3(256), 0, s, overlap, "reduce_slices_kernel",
                     partials, slices, m, n, b, o);
  };
  switch (bias.defined() ? bias.dtype() : ScalarType::fp32) {
    case ScalarType::bf16:
      return launch(reduce_slices_kernel<Out, __nv_bfloat16>);
    case ScalarType::fp16:
      return launch(reduce_slices_kernel<Out, __half>);
    default:
      return launch(reduce_slices_kernel<Out, float>);
  }
}

}  // namespace

void reduce_slices(const float* partials, int slices, int m, int n, const TensorView& bias,
                   const TensorView& out, void* stream) {
  const cudaStream_t s = native(stream);
  switch (out.dtype()) {
    case ScalarType::bf16:
      reduce_to<__nv_bfloat16>(partials, slices, m, n, bias, out, s);
      break;
    case ScalarType::fp16:
      reduce_to<__half>(partials, slices, m, n, bias, out, s);
      break;
    default:
      reduce_to<float>(partials, slices, m, n, bias, out, s);
      break;
  }
}

}  // namespace qlinear::cuda
