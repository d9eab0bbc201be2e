// The CUDA provider's kernels, one factory per kernel file, for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_w4a16_mma_sm80();

}  // namespace qlinear::cuda
