// The stream-ordered pool's release threshold, raised once per device (gpu/scratch.hpp).
#include "gpu/scratch.hpp"

#include <array>
#include <mutex>

namespace qlinear::cuda {

void keep_pool_memory(int device) {
  static std::mutex mutex;
  static std::array<bool, 64> done{};
  std::lock_guard lock(mutex);
  if (device < 0 || device >= static_cast<int>(done.size()) || done[device]) return;
  cudaMemPool_t pool;
  check_cuda(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool");
  uint64_t keep_all = UINT64_MAX;
  check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all),
             "cudaMemPoolSetAttribute(cudaMemPoolAttrReleaseThreshold)");
  done[device] = true;
}

}  // namespace qlinear::cuda
