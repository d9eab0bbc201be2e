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

// `rows` rows of `width` bytes from `source` (pitch source_pitch) to `destination` (pitch
// destination_pitch), CUDA memory of `device`, ordered on `stream`.
void device_copy_2d(void* destination, int64_t destination_pitch, const void* source,
                    int64_t source_pitch, int64_t width, int64_t rows, Device device, void* stream);
// out[m, n] = sum[m, n] (fp32) + bias[n], rounded once to out's type; CUDA memory, on `stream`;
// bias may be undefined.
void device_add_bias(const TensorView& sum, const TensorView& bias, const TensorView& out,
                     void* stream);

// One Platform per visible CUDA device; empty when there is no driver or no device.
std::vector<Platform> detect_cuda_platforms();

}  // namespace qlinear::detail
