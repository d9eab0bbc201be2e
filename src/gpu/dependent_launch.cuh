// Programmatic dependent launch (sm_90 and later): a kernel launched with launch_dependent() may
// start while the kernel before it in the stream is still running, so its set-up and its first
// loads of data no kernel writes (weights, their scales) overlap that kernel's tail and the launch
// latency between them. Such a kernel calls wait_for_previous_grid() before it reads anything an
// earlier kernel writes (activations, partial sums) and before it writes anything an earlier kernel
// may still read (pooled scratch); a kernel calls allow_dependent_launch() once the kernel after it
// may be scheduled beside its own remaining blocks. Without the launch attribute, or below sm_90,
// the wait returns at once and the next kernel starts after this one, as usual.
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace qlinear::cuda {

// Waits until the grids before this one in the stream have finished and their writes are visible.
__device__ __forceinline__ void wait_for_previous_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets a kernel launched next with launch_dependent() be scheduled now.
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Launches `kernel` on `stream`, allowed to overlap the kernel before it when `overlap` (the
// device is sm_90 or later: callers pass compute_capability >= 90).
template <typename... Params, typename... Args>
cudaError_t launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, int shared_bytes,
                             cudaStream_t stream, bool overlap, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = static_cast<size_t>(shared_bytes);
  config.stream = stream;
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  config.attrs = overlap ? &attribute : nullptr;
  config.numAttrs = overlap ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace qlinear::cuda
