// The priority lists: one line per kernel, in priority order within each platform; the reference
// kernels come last on the CPU. Moving a line is a performance claim: cite the `qlinear bench` run.
#include "core/kernel_list.hpp"

#include "qlinear/reference.hpp"
#if QLINEAR_WITH_CUDA
#include "cuda/kernels.hpp"
#endif

namespace qlinear::detail {

std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels() {
  using P = PlatformKind;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> list;
  // ---- cpu
  for (Family family : all_families()) list.emplace_back(P::cpu, reference::make_kernel(family));
#if QLINEAR_WITH_CUDA
  // ---- cuda
  list.emplace_back(P::cuda, cuda::make_w4a16_mma_sm80());
#endif
  return list;
}

}  // namespace qlinear::detail
