#pragma once

#include <memory>

#include "qlinear/bench.hpp"

namespace qlinear::cuda {

// A CUDA device for `qlinear bench`: CUDA events around each call on a stream of its own, a
// read-bandwidth probe kernel, and the tensor-core rates of the architecture for the peaks.
std::unique_ptr<bench::BenchDevice> make_cuda_bench_device(Device device);

}  // namespace qlinear::cuda
