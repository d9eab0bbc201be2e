// The onednn provider's kernels, for the priority list (src/core/kernel_list.cpp).
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::onednn {

std::shared_ptr<const Kernel> make_int8_const_scales();  // onednn_int8_const_scales.cpp
std::shared_ptr<const Kernel> make_int8_s32_epilogue();  // onednn_int8_s32_epilogue.cpp

}  // namespace qlinear::onednn
