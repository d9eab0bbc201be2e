// The emulation kernel of a family (name "emulation_<family>"), for the priority list.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

std::shared_ptr<const Kernel> make_emulation(Family family);

}  // namespace qlinear::cuda
