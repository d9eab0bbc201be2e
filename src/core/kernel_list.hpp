#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear::detail {

// The built-in priority lists (kernel_list.cpp), in order, for every platform.
std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels();

}  // namespace qlinear::detail
