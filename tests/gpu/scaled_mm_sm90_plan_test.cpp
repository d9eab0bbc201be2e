// The Hopper scaled-mm tile plan (host code: runs without a GPU, in CI): decode swaps the operands
// and pads the tokens to 16/32/64, K is split so that the tiles cover the SMs but never into more
// pieces than K has 128-wide slices, prefill splits only when its tiles are fewer than the SMs, and
// the split-K workspace holds the tickets (256-byte aligned) and one 32-bit tile per split.
#include <gtest/gtest.h>

#include "cuda/hopper/scaled_mm_sm90.hpp"

namespace qlinear::cuda::sm90 {
namespace {

constexpr int kSms = 132;  // H100 SXM

TEST(ScaledMmSm90Plan, DecodeSwapsAndSplitsK) {
  const TilePlan one = tile_plan(1, 4096, 4096, kSms);
  EXPECT_TRUE(one.swap);
  EXPECT_EQ(one.block_n, 16);
  EXPECT_EQ(one.tiles, 32);
  EXPECT_EQ(one.splits, 4);  // 128 work units on 132 SMs
  EXPECT_EQ(one.sms, kSms);  // the launch sizes its persistent grid by it
  EXPECT_EQ(tile_plan(17, 4096, 4096, kSms).block_n, 32);
  EXPECT_EQ(tile_plan(33, 4096, 4096, kSms).block_n, 64);
  EXPECT_EQ(tile_plan(64, 4096, 4096, kSms).block_n, 64);
  EXPECT_FALSE(tile_plan(65, 4096, 4096, kSms).swap);
  // A small layer: no more splits than K slices (K = 256: two).
  EXPECT_EQ(tile_plan(1, 128, 256, kSms).splits, 2);
  // A wide layer fills the SMs without splitting.
  EXPECT_EQ(tile_plan(1, 28672, 4096, kSms).splits, 1);
}

TEST(ScaledMmSm90Plan, PrefillSplitsOnlyFewTiles) {
  const TilePlan big = tile_plan(4096, 4096, 4096, kSms);
  EXPECT_FALSE(big.swap);
  EXPECT_EQ(big.block_n, 128);
  EXPECT_EQ(big.tiles, 32 * 32);
  EXPECT_EQ(big.splits, 1);
  EXPECT_EQ(workspace_bytes(big), 0);
  const TilePlan few = tile_plan(200, 1024, 4096, kSms);  // 2 x 8 tiles, 32 slices
  EXPECT_EQ(few.tiles, 16);
  EXPECT_EQ(few.splits, 8);  // at least 4 slices a split
}

TEST(ScaledMmSm90Plan, WorkspaceHoldsTicketsAndPartials) {
  const TilePlan one = tile_plan(1, 4096, 4096, kSms);
  EXPECT_EQ(ticket_bytes(one), 256);  // 32 tickets, rounded up to 256 bytes
  EXPECT_EQ(workspace_bytes(one), 256 + 32 * 4 * 128 * 16 * 4);
}

}  // namespace
}  // namespace qlinear::cuda::sm90
