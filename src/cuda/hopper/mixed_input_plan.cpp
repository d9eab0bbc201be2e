#include <algorithm>

#include "cuda/hopper/mixed_input_wgmma_sm90.hpp"

namespace qlinear::cuda::sm90 {

TilePlan mixed_input_tile_plan(int64_t m, int64_t n, int64_t k_stages, int sms, int max_block_n) {
  constexpr int64_t kRows = 128;  // rows of W a tile (kBlockM)
  TilePlan plan;
  plan.sms = sms;
  plan.swap = true;
  plan.block_n = m <= 32 ? 32 : m <= 64 ? 64 : m <= 256 ? 128 : std::min(max_block_n, 256);
  plan.tiles =
      static_cast<int>(((n + kRows - 1) / kRows) * ((m + plan.block_n - 1) / plan.block_n));
  plan.splits = static_cast<int>(
      std::clamp<int64_t>(sms / plan.tiles, 1, std::max<int64_t>(1, k_stages / 4)));
  return plan;
}

}  // namespace qlinear::cuda::sm90
