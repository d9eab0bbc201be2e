// The cublaslt provider's kernels, for the priority list (src/core/kernel_list.cpp).
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cublaslt {

std::shared_ptr<const Kernel> make_fp8_scaled_mm();
std::shared_ptr<const Kernel> make_fp8_block();
std::shared_ptr<const Kernel> make_int8_scaled_mm();

}  // namespace qlinear::cublaslt
