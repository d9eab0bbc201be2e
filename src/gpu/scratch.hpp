// Per-call device scratch (quantized activations, GEMM workspace, padded outputs), taken from the
// device's stream-ordered pool so that concurrent apply() calls never share a buffer and a call
// costs no cudaMalloc / cudaFree synchronisation. The pool keeps what it was given (release
// threshold raised once per device), so steady-state calls allocate nothing from the driver.
#pragma once

#include <cstdint>

#include "gpu/check.hpp"

namespace qlinear::cuda {

// Raises the release threshold of the device's default pool (once per device; thread-safe).
void keep_pool_memory(int device);

class Scratch {
 public:
  Scratch(int64_t bytes, cudaStream_t stream, int device) : stream_(stream) {
    keep_pool_memory(device);
    if (bytes > 0)
      check_cuda(cudaMallocAsync(&pointer_, static_cast<size_t>(bytes), stream), "cudaMallocAsync");
  }
  ~Scratch() {
    if (pointer_) cudaFreeAsync(pointer_, stream_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  template <typename T = void>
  T* get() const {
    return static_cast<T*>(pointer_);
  }

 private:
  void* pointer_ = nullptr;
  cudaStream_t stream_;
};

inline int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace qlinear::cuda
