// Scratch memory for one call, from the device's stream-ordered pool. The pool's release
// threshold is raised once per device so that freed blocks stay in the pool: after the first call
// a workspace costs no cudaMalloc and no synchronisation, and concurrent calls on different
// streams each get their own.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>

#include "cuda/check.hpp"

namespace qlinear::cuda {

class StreamWorkspace {
 public:
  StreamWorkspace(size_t bytes, cudaStream_t stream, int device) : stream_(stream) {
    keep_pool_memory(device);
    check_cuda(cudaMallocAsync(&pointer_, bytes, stream), "cudaMallocAsync");
  }
  ~StreamWorkspace() { cudaFreeAsync(pointer_, stream_); }
  StreamWorkspace(const StreamWorkspace&) = delete;
  StreamWorkspace& operator=(const StreamWorkspace&) = delete;
  void* get() const { return pointer_; }

 private:
  static void keep_pool_memory(int device) {
    static std::once_flag once[64];
    std::call_once(once[device % 64], [device] {
      cudaMemPool_t pool;
      check_cuda(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool");
      uint64_t keep_all = UINT64_MAX;
      check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all),
                 "cudaMemPoolSetAttribute(ReleaseThreshold)");
    });
  }
  void* pointer_ = nullptr;
  cudaStream_t stream_;
};

}  // namespace qlinear::cuda
