// The bench devices and peers of every platform: one line each. Peer order is the order of
// preference for the baseline: the most specific peer that applies to a layer is its baseline.
#include "bench/bench_list.hpp"

#include "bench/cpu_bench_device.hpp"
#if QLINEAR_WITH_ONEDNN
#include "onednn/onednn_peers.hpp"
#endif
#if QLINEAR_WITH_CUDA
#include "cublaslt/peers.hpp"
#include "cuda/bench_device.hpp"
#endif

namespace qlinear::bench::detail {

std::vector<std::pair<DeviceType, BenchDeviceFactory>> built_in_bench_devices() {
  std::vector<std::pair<DeviceType, BenchDeviceFactory>> list;
  list.emplace_back(DeviceType::cpu, make_cpu_bench_device);
#if QLINEAR_WITH_CUDA
  list.emplace_back(DeviceType::cuda, cuda::make_cuda_bench_device);
#endif
  return list;
}

std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> built_in_peers() {
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> list;
#if QLINEAR_WITH_ONEDNN
  list.emplace_back(PlatformKind::cpu, onednn::make_int8_const_scales_peer());
  list.emplace_back(PlatformKind::cpu, onednn::make_int8_runtime_scales_peer());
  list.emplace_back(PlatformKind::cpu, onednn::make_bf16_dense_peer());
#endif
#if QLINEAR_WITH_CUDA
  list.emplace_back(PlatformKind::cuda, cublaslt::make_fp8_block128_peer());
  list.emplace_back(PlatformKind::cuda, cublaslt::make_fp8_rowwise_peer());
  list.emplace_back(PlatformKind::cuda, cublaslt::make_fp8_tensorwise_peer());
  list.emplace_back(PlatformKind::cuda, cublaslt::make_int8_peer());
  list.emplace_back(PlatformKind::cuda, cublaslt::make_bf16_dense_peer());
#endif
  return list;
}

}  // namespace qlinear::bench::detail
