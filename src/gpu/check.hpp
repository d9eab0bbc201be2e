// Every CUDA runtime call goes through check_cuda, which turns a failure into a qlinear::Error
// naming the call.
#pragma once

#include <cuda_runtime_api.h>

#include "qlinear/error.hpp"

namespace qlinear::cuda {

inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    throw Error(
        cat(call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
}

// After a kernel launch: a bad launch configuration surfaces here, named after the kernel.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

// The caller's stream handle (qlinear::Stream) as the runtime's type; null is the legacy stream.
inline cudaStream_t native(void* stream) { return static_cast<cudaStream_t>(stream); }

// Makes `device` current for the scope of one call and restores the previous device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (device != previous_) check_cuda(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace qlinear::cuda
