#include <algorithm>
#include <cmath>

#include "core/half_floats.hpp"
#include "cuda/hopper/mixed_input_wgmma_sm90.hpp"

namespace qlinear::cuda::sm90 {

TilePlan mixed_input_tile_plan(int64_t m, int64_t n, int64_t k_stages, int sms, int max_block_n) {
  constexpr int64_t kRows = 128;  // rows of W a tile (kBlockM)
  TilePlan plan;
  plan.sms = sms;
  plan.swap = true;
  const auto tiles_of = [&](int block_n) {
    return static_cast<int>(((n + kRows - 1) / kRows) * ((m + block_n - 1) / block_n));
  };
  const auto splits_of = [&](int tiles) {
    return static_cast<int>(
        std::clamp<int64_t>(sms / tiles, 1, std::max<int64_t>(1, k_stages / 4)));
  };
  plan.block_n = m <= 32 ? 32 : m <= 64 ? 64 : m <= 256 ? 128 : std::min(max_block_n, 256);
  // 256-token tiles that would split K into short splits lose to 128-token ones: the split-K
  // reduction costs more than converting each weight for twice the tokens saves, unless a split
  // runs kWideSplitMinStages stages (H100, 2026-12-07: 512 tokens on 4096 x 4096, 2 splits of 16
  // stages, 47 us against 35 us on 128-token tiles; on 4096 x 14336, 2 splits of 56, 96 us
  // against 104).
  constexpr int64_t kWideSplitMinStages = 48;
  if (plan.block_n == 256) {
    const int splits = splits_of(tiles_of(256));
    if (splits > 1 && k_stages / splits < kWideSplitMinStages) plan.block_n = 128;
  }
  plan.tiles = tiles_of(plan.block_n);
  plan.splits = splits_of(plan.tiles);
  return plan;
}

std::optional<std::vector<uint32_t>> group_scale_pairs(std::span<const float> scales,
                                                       int64_t padded_n, int groups, int group_size,
                                                       int kblocks, int block_k, float max_code,
                                                       ScalarType act_type) {
  const double largest = act_type == ScalarType::fp16 ? 65504.0 : 0x1.fep127;
  const double smallest_normal = act_type == ScalarType::fp16 ? 0x1p-14 : 0x1p-126;
  // Each scale rounded once, inline (encode and decode through the type table, 3 of them a scale,
  // took ~3 s of a llama3-8b int4 load).
  const bool fp16 = act_type == ScalarType::fp16;
  std::vector<uint16_t> bits(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    if (!std::isfinite(scales[i])) return std::nullopt;
    bits[i] = fp16 ? float_to_fp16(scales[i]) : float_to_bf16(scales[i]);
    const double rounded = std::fabs(fp16 ? fp16_to_float(bits[i]) : bf16_to_float(bits[i]));
    if (rounded != 0 && !(rounded >= smallest_normal && rounded * max_code <= largest))
      return std::nullopt;
  }
  constexpr int kRowsPerTile = 16;
  const int64_t tiles = padded_n / kRowsPerTile;
  std::vector<uint32_t> pairs(static_cast<size_t>(tiles * kblocks * 8 * 2));
  size_t i = 0;
  for (int64_t t = 0; t < tiles; ++t)
    for (int b = 0; b < kblocks; ++b) {
      const int64_t group = std::min<int64_t>(int64_t{b} * block_k / group_size, groups - 1);
      for (int q = 0; q < 8; ++q)
        for (int h = 0; h < 2; ++h) {
          const uint32_t pair =
              bits[static_cast<size_t>((t * kRowsPerTile + q + 8 * h) * groups + group)];
          pairs[i++] = pair | pair << 16;
        }
    }
  return pairs;
}

}  // namespace qlinear::cuda::sm90
