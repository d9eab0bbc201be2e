// Programmatic dependent launch (sm_90 and newer): a kernel launched with programmatic stream
// serialization may start while the kernel before it in the stream is still running, so that it
// sets up and requests what no earlier kernel writes (weights, scales) before it waits for that
// kernel's results; the kernel before may let it start early by triggering once its own reads of
// shared resources are done. Every kernel launched this way must call wait_for_previous_grid()
// before it reads anything an earlier kernel writes and before it writes anything at all.
// Below sm_90 the wait and the trigger compile to nothing and launch_dependent launches plainly.
#pragma once

#include <cuda_runtime.h>

#include "gpu/check.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::cuda {

// Waits until the grid before this one in the stream has finished and its writes are visible;
// returns at once when there is none (or the kernel was launched plainly).
__device__ __forceinline__ void wait_for_previous_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets the next kernel in the stream, if launched with programmatic stream serialization, start
// before this grid ends (it still waits for this grid's writes in wait_for_previous_grid).
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Whether kernels on `device` may be launched as dependents: sm_90 and newer.
inline bool dependent_launch_on(Device device) {
  return platform_of(device).compute_capability >= 90;
}

// Launches `kernel` with programmatic stream serialization where `overlap`
// (dependent_launch_on(the device)), else plainly; a failure is an Error naming `name`.
template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, int shared_bytes,
                      cudaStream_t stream, bool overlap, const char* name, const Args&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = static_cast<size_t>(shared_bytes);
  config.stream = stream;
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  config.attrs = &attribute;
  config.numAttrs = overlap ? 1 : 0;
  const cudaError_t status = cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
  if (status != cudaSuccess) check_cuda(status, cat("cudaLaunchKernelEx (", name, ")").c_str());
}

}  // namespace qlinear::cuda
