#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "qlinear/bench.hpp"

namespace qlinear::bench::detail {

// The built-in bench devices and peer lists (bench_list.cpp), in order.
std::vector<std::pair<DeviceType, BenchDeviceFactory>> built_in_bench_devices();
std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> built_in_peers();

}  // namespace qlinear::bench::detail
