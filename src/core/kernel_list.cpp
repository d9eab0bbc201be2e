// The priority lists: one line per kernel, in priority order within each platform; the reference
// kernels come last on the CPU. Moving a line is a performance claim: cite the `qlinear bench` run.
#include "core/kernel_list.hpp"

#include "qlinear/reference.hpp"

#if QLINEAR_WITH_CUDA
#include "cublaslt/kernels.hpp"
#include "cuda/emulation.hpp"
#endif

namespace qlinear::detail {

std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels() {
  using P = PlatformKind;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> list;
  // ---- cpu
  for (Family family : all_families()) list.emplace_back(P::cpu, reference::make_kernel(family));
#if QLINEAR_WITH_CUDA
  // ---- cuda
  list.emplace_back(P::cuda, cublaslt::make_fp8_scaled_mm());
  list.emplace_back(P::cuda, cublaslt::make_fp8_block());
  list.emplace_back(P::cuda, cublaslt::make_int8_scaled_mm());
  // The emulation of every family: runs everything, fastest at nothing; last.
  for (Family family : all_families()) list.emplace_back(P::cuda, cuda::make_emulation(family));
#endif
  return list;
}

}  // namespace qlinear::detail
