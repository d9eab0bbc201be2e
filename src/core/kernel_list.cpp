// The priority lists: one line per kernel, in priority order within each platform; the reference
// kernels come last on the CPU. Moving a line is a performance claim: cite the `qlinear bench` run.
#include "core/kernel_list.hpp"

#include "qlinear/reference.hpp"
#if QLINEAR_WITH_ONEDNN
#include "onednn/onednn_kernels.hpp"
#endif

namespace qlinear::detail {

std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels() {
  using P = PlatformKind;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> list;
  // ---- cpu
#if QLINEAR_WITH_ONEDNN
  // Static activation scales: one fused oneDNN call; everything else: int32 out + own epilogue.
  list.emplace_back(P::cpu, onednn::make_int8_const_scales());
  list.emplace_back(P::cpu, onednn::make_int8_s32_epilogue());
#endif
  for (Family family : all_families()) list.emplace_back(P::cpu, reference::make_kernel(family));
  return list;
}

}  // namespace qlinear::detail
