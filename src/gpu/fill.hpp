// Random device contents for benchmarks, made on the GPU (the host's encoders would take seconds
// for a large layer). Values are a hash of the index, never all zero. CUDA-free header.
#pragma once

#include <cstdint>

#include "qlinear/tensor.hpp"

namespace qlinear::cuda {

// Fills `t` (contiguous, on a CUDA device): bf16 / fp16 / fp32 uniform in [-2, 2); float8_e4m3fn
// codes of values uniform in [-200, 200); any other type random bytes. With `positive`, floats are
// in [0.01, 0.012) instead (scales).
void fill_random(const TensorView& t, uint64_t seed, bool positive = false, void* stream = nullptr);

}  // namespace qlinear::cuda
