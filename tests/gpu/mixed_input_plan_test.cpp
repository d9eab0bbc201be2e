// The Hopper mixed-input tile plan (host code: runs without a GPU, in CI): W always on wgmma's
// 128-row side, the token side 32, 64, 128 or (formats with one sum over K) 256 wide by M, K split
// in stages only while the tiles are fewer than the SMs and never below 4 stages a split, and the
// split-K workspace sized for the plan's token width.
#include <gtest/gtest.h>

#include "cuda/hopper/mixed_input_wgmma_sm90.hpp"

namespace qlinear::cuda::sm90 {
namespace {

constexpr int kSms = 132;  // H100 SXM

TEST(MixedInputPlan, TokenWidthFollowsM) {
  EXPECT_EQ(mixed_input_tile_plan(1, 4096, 32, kSms).block_n, 32);
  EXPECT_EQ(mixed_input_tile_plan(32, 4096, 32, kSms).block_n, 32);
  EXPECT_EQ(mixed_input_tile_plan(33, 4096, 32, kSms).block_n, 64);
  EXPECT_EQ(mixed_input_tile_plan(64, 4096, 32, kSms).block_n, 64);
  EXPECT_EQ(mixed_input_tile_plan(65, 4096, 32, kSms).block_n, 128);
  EXPECT_TRUE(mixed_input_tile_plan(4096, 4096, 32, kSms).swap);
  EXPECT_EQ(mixed_input_tile_plan(4096, 4096, 32, kSms).block_n, 128);
  // Formats with one sum over K take 256 tokens past 256 (each weight converted for more of them).
  EXPECT_EQ(mixed_input_tile_plan(256, 4096, 32, kSms, 256).block_n, 128);
  EXPECT_EQ(mixed_input_tile_plan(257, 4096, 32, kSms, 256).block_n, 256);
  const TilePlan wide = mixed_input_tile_plan(1024, 4096, 32, kSms, 256);
  EXPECT_EQ(wide.tiles, 32 * 4);
  EXPECT_EQ(wide.splits, 1);
}

TEST(MixedInputPlan, SplitsKOnlyWhileTheTilesAreFew) {
  // 4096 x 4096 int4: 32 stages of K 128.
  const TilePlan decode = mixed_input_tile_plan(3, 4096, 32, kSms);
  EXPECT_EQ(decode.tiles, 32);
  EXPECT_EQ(decode.splits, 4);  // 128 units on 132 SMs
  const TilePlan mid = mixed_input_tile_plan(256, 4096, 32, kSms);
  EXPECT_EQ(mid.tiles, 64);
  EXPECT_EQ(mid.splits, 2);
  const TilePlan prefill = mixed_input_tile_plan(4096, 4096, 32, kSms);
  EXPECT_EQ(prefill.tiles, 32 * 32);
  EXPECT_EQ(prefill.splits, 1);
  EXPECT_EQ(workspace_bytes(prefill), 0);
  // A short K: at least 4 stages a split (8 stages: 2 splits at most).
  EXPECT_EQ(mixed_input_tile_plan(1, 256, 8, kSms).splits, 2);
  EXPECT_EQ(mixed_input_tile_plan(1, 256, 3, kSms).splits, 1);
}

TEST(MixedInputPlan, WorkspaceHoldsATilePerSplitAtItsTokenWidth) {
  const TilePlan decode = mixed_input_tile_plan(3, 4096, 32, kSms);
  EXPECT_EQ(workspace_bytes(decode), 256 + 32 * 4 * 128 * 32 * 4);
}

}  // namespace
}  // namespace qlinear::cuda::sm90
