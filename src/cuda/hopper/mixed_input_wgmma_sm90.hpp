// The Hopper mixed-input GEMM core (cuda/hopper/mixed_input_wgmma_sm90.cuh), host side: how a call
// is cut into tiles, and the weights it reads — the packed fragments of a mixed-input mma kernel
// (cuda/detail/fragments.hpp), made once by that kernel and shared with it in a composite plan.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "cuda/hopper/scaled_mm_sm90.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::cuda::sm90 {

// Packed k-blocks of W a pipeline stage holds: 2 (1 KB of each 16-row tile; K 128 for 4-bit codes,
// 64 for 8-bit ones).
inline constexpr int kMixedStageKBlocks = 2;

// Tiles of 128 rows of W (features: wgmma's M side, the weights converted in registers) by
// block_n tokens (its N side: 32 for up to 32 tokens, 64 up to 64, 128 up to 256, then
// `max_block_n`: 256 where the format keeps one sum over K, each weight converted for twice the
// tokens, else 128; 128 also where 256-token tiles would split K into splits of fewer than 48
// stages); K split in stages when the tiles cannot fill the SMs, at least 4 stages a split.
// `k_stages`: stages over the padded K. Always `swap` (W on the 128-row side): the workspace is
// TilePlan's.
TilePlan mixed_input_tile_plan(int64_t m, int64_t n, int64_t k_stages, int sms,
                               int max_block_n = 128);

// The group scales of a format with fp32 scales and no zero points rounded to the activation type
// (bf16 / fp16), for the 256-token tiles, which apply them in the fragment (one fp32 sum over K:
// a group's sum beside it would not fit the registers): for each 16-row tile, k-block and row
// quad q, the 8 bytes a lane of that quad loads — its rows q and q + 8 as T pairs (the scale in
// both halves). `scales` [padded_n, groups] (group g covers packed K g·group_size onward), k-blocks
// of block_k. None where a rounded scale is not 0 or a normal T, or times `max_code` (the largest
// |code - zero point|: 8 for uint4b8, 128 for uint8b128) overflows T (fp16: |s| < 2^-14 or
// > 65504 / max_code): the relative bound of the rounding holds for normal numbers only, and such
// a layer keeps the exact folds on 128-token tiles.
std::optional<std::vector<uint32_t>> group_scale_pairs(std::span<const float> scales,
                                                       int64_t padded_n, int groups, int group_size,
                                                       int kblocks, int block_k, float max_code,
                                                       ScalarType act_type);

struct MixedInputWeights final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  std::shared_ptr<const PreparedWeights> packed;  // the mma kernel's (cuda/detail::Prepared)
  Device device;
  int sms = 0;
  CUtensorMap weight_map{};  // the packed words as [16-row tiles, k-blocks x 128 words]
  // The integer formats' group scales for the 256-token tiles, applied in the fragment where the
  // mma kernel folds them per group (group_scale_pairs; none with zero points, which keep
  // 128-token tiles).
  Tensor block_scales;
  // Every call runs the mma kernel on `packed`: an MX layer whose scales it folds because the
  // fragment cannot apply them exactly.
  bool on_mma_kernel = false;
};

// What one launch needs besides the tensor maps.
struct MixedInputCall {
  TilePlan plan;
  void* workspace = nullptr;  // workspace_bytes(plan), its tickets zeroed
  int64_t m = 0, n = 0;
  int64_t k_stages = 0;
  const CUtensorMap* weight_map = nullptr;
  CUtensorMap x_map{};             // x [M, K] bf16 / fp16, make_half_map with box rows plan.block_n
  const void* scales = nullptr;    // the format's group scales [padded N, groups]
  const uint8_t* zeros = nullptr;  // zero points [padded N, groups] or null
  int groups = 0, group_size = 0;  // group_size: a multiple of the k-block (per channel: padded K)
  const uint8_t* block_scales = nullptr;  // block-scaled formats: the mma kernel's, else null
  int kblocks = 0;                        // k-blocks of the padded K
  ScaledMmEpilogue epilogue;              // bias and out (no scales: the core applies them)
};

}  // namespace qlinear::cuda::sm90
