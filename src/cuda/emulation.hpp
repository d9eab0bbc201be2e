// The emulation kernel of a family (name "emulation_<family>"), for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// With dequantize_per_call, the weights stay in their canonical form and are dequantized to bf16
// in every call (as QLINEAR_EMULATION_PER_CALL=1 asks of every emulation kernel).
std::shared_ptr<const Kernel> make_emulation(Family family, bool dequantize_per_call = false);

}  // namespace qlinear::cuda
