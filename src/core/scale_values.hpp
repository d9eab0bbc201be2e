// The values of a contiguous host tensor of scales as fp32, exactly (every source value is an fp32
// value), converted once a layer at load by the CPU and the CUDA kernels' preparation: fp32
// copied, bf16 and fp16 widened by core/half_floats.hpp (the CPU kernels widen 16-bit scales with
// their vector twins instead: cpu/widen_floats.hpp), one-byte float codes (e4m3,
// e8m0) through a table of their 256 values, any other type through load_value. (load_value an
// element cost ~20 ns: about a second of a llama3-8b int4 load for each kernel that converted its
// scales so.)
#pragma once

#include <vector>

#include "qlinear/tensor.hpp"

namespace qlinear {

std::vector<float> values_as_fp32(const TensorView& scales);

}  // namespace qlinear
