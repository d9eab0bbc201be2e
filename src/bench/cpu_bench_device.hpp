#pragma once

#include <memory>

#include "qlinear/bench.hpp"

namespace qlinear::bench {

// The CPU: steady_clock around each call, an OpenMP read stream for the bandwidth, a table of
// per-core dot-product rates times the measured clock for the peaks.
std::unique_ptr<BenchDevice> make_cpu_bench_device(Device device);

}  // namespace qlinear::bench
