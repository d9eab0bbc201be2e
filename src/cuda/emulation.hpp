// The emulation kernel of a family (name "emulation_<family>"), for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

// The weights dequantized to bf16 once, or with QLINEAR_EMULATION_PER_CALL=1 kept in their
// canonical form and dequantized in every call.
std::shared_ptr<const Kernel> make_emulation(Family family);

}  // namespace qlinear::cuda
