// What the core needs from the CUDA runtime: device memory for tensors and the list of devices.
// The CUDA build implements these with cudart (src/cuda/runtime_hooks.cpp); the CPU-only build
// with cuda_hooks_none.cpp, which reports no devices and refuses CUDA memory with the reason.
#pragma once

#include <cstdint>

#include <vector>

#include "qlinear/platform.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::detail {

// cudaMalloc on the device's index; never managed memory.
void* device_alloc(Device device, int64_t bytes);
void device_free(Device device, void* pointer) noexcept;
// A synchronous copy where either side may be on a CUDA device.
void device_copy(void* destination, Device destination_device, const void* source,
                 Device source_device, int64_t bytes);

// One Platform per visible CUDA device; empty when there is no driver or no device.
std::vector<Platform> detect_cuda_platforms();

}  // namespace qlinear::detail
