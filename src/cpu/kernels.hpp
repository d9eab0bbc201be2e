// Factories of the cpu provider's kernels, for the priority list (src/core/kernel_list.cpp).
// Each kernel exists once per ISA level; its name is "<family>_<level>", the file that holds its
// vector code.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"

namespace qlinear::cpu {

// <family>_{scalar,avx2,avx512,avx512_vnni,amx} for mixed_precision, nvfp4_weight_only,
// mxfp8_weight_only, mxfp4_weight_only, fp8_weight_only, fp8_scaled_mm, fp8_block, nvfp4, mxfp8,
// mxfp4 and w4a8_fp8: codes decoded in the tile, products in fp32 (bf16 pairs in the _avx512_vnni
// and _amx tiles); tiles in mixed_precision_<isa>.cpp
std::shared_ptr<const Kernel> make_dequant_kernel(Family family, CpuIsa isa);
// int8_scaled_mm_{scalar,avx2,avx512_vnni,amx}; the _avx512_vnni tiles need VNNI, not BF16
// (driver.hpp runs_with_vnni)
std::shared_ptr<const Kernel> make_int8_scaled_mm_kernel(CpuIsa isa);
// w4a8_int_{scalar,avx2,avx512_vnni,amx}: int4 weights (widened to int8 at load below the
// _avx512_vnni level), then the int8_scaled_mm_<isa> tiles
std::shared_ptr<const Kernel> make_w4a8_int_kernel(CpuIsa isa);

// <family>_amx_model: the _amx kernels with their tile instructions run by a scalar model
// (amx_tiles.hpp) in place of the hardware, on any CPU at the avx512_vnni level, so that the tests
// check the _amx tiles where the CPU has no AMX. Not in the priority lists.
std::shared_ptr<const Kernel> make_dequant_amx_model_kernel(Family family);
std::shared_ptr<const Kernel> make_int8_amx_model_kernel(Family family);

}  // namespace qlinear::cpu
