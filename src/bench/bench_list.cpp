// The bench devices and peers of every platform: one line each. Peer order is the order of
// preference for the baseline: the most specific peer that applies to a layer is its baseline.
#include "bench/bench_list.hpp"

#include "bench/cpu_bench_device.hpp"
#if QLINEAR_WITH_ONEDNN
#include "onednn/onednn_peers.hpp"
#endif

namespace qlinear::bench::detail {

std::vector<std::pair<DeviceType, BenchDeviceFactory>> built_in_bench_devices() {
  std::vector<std::pair<DeviceType, BenchDeviceFactory>> list;
  list.emplace_back(DeviceType::cpu, make_cpu_bench_device);
  // cuda: the CUDA build adds its BenchDevice (CUDA events, device bandwidth, H100 peaks) here.
  return list;
}

std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> built_in_peers() {
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> list;
#if QLINEAR_WITH_ONEDNN
  list.emplace_back(PlatformKind::cpu, onednn::make_int8_const_scales_peer());
  list.emplace_back(PlatformKind::cpu, onednn::make_int8_runtime_scales_peer());
  list.emplace_back(PlatformKind::cpu, onednn::make_bf16_dense_peer());
#endif
  // cuda: the cuBLASLt peers (fp8 / int8 where the family has them, then bf16 dense) go here.
  return list;
}

}  // namespace qlinear::bench::detail
