// The Hopper mixed-input tile plan (host code: runs without a GPU, in CI): W always on wgmma's
// 128-row side, the token side 32, 64, 128 or (formats with one sum over K) 256 wide by M, K split
// in stages only while the tiles are fewer than the SMs and never below 4 stages a split, and the
// split-K workspace sized for the plan's token width.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

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
  EXPECT_EQ(mixed_input_tile_plan(257, 6144, 32, kSms, 256).block_n, 256);
  const TilePlan wide = mixed_input_tile_plan(1024, 4096, 32, kSms, 256);
  EXPECT_EQ(wide.block_n, 256);
  EXPECT_EQ(wide.tiles, 32 * 4);
  EXPECT_EQ(wide.splits, 1);
}

TEST(MixedInputPlan, WideTilesOnlyWhereTheirSplitsStayLong) {
  // 512 tokens on 4096 x 4096: 64 tiles of 256 would take 2 splits of 16 stages; 128 of 128 none.
  const TilePlan short_k = mixed_input_tile_plan(512, 4096, 32, kSms, 256);
  EXPECT_EQ(short_k.block_n, 128);
  EXPECT_EQ(short_k.tiles, 32 * 4);
  EXPECT_EQ(short_k.splits, 1);
  // On 4096 x 14336 (112 stages) the 2 splits run 56 stages each: 256 tokens.
  const TilePlan long_k = mixed_input_tile_plan(512, 4096, 112, kSms, 256);
  EXPECT_EQ(long_k.block_n, 256);
  EXPECT_EQ(long_k.splits, 2);
  // With enough tiles there is no split: 256 tokens whatever K.
  EXPECT_EQ(mixed_input_tile_plan(512, 28672, 32, kSms, 256).block_n, 256);
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

// The group scales the 256-token tiles apply in the fragment: for tile t, k-block b and row quad q,
// the lane's rows q and q + 8 as T pairs of the scale of the group k-block b lies in (K past the
// last group keeps its scale), rounded to T once.
TEST(MixedInputPlan, GroupScalePairsPerKBlockAndRowQuad) {
  const int64_t padded_n = 32;
  const int groups = 3, group_size = 128, kblocks = 7, block_k = 64;  // the 7th k-block: padding
  std::vector<float> scales(padded_n * groups);
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = 1.f + static_cast<float>(i) / 1024.f;
  for (const ScalarType type : {ScalarType::bf16, ScalarType::fp16}) {
    const std::vector<uint32_t> pairs =
        *group_scale_pairs(scales, padded_n, groups, group_size, kblocks, block_k, 8.f, type);
    ASSERT_EQ(std::ssize(pairs), 2 * kblocks * 8 * 2);
    for (int64_t t = 0; t < 2; ++t)
      for (int b = 0; b < kblocks; ++b)
        for (int q = 0; q < 8; ++q)
          for (int h = 0; h < 2; ++h) {
            const int64_t row = 16 * t + q + 8 * h, group = std::min(b * block_k / group_size, 2);
            const uint32_t bits = encode(type, scales[row * groups + group]);
            EXPECT_EQ(pairs[((t * kblocks + b) * 8 + q) * 2 + h], bits | bits << 16)
                << name(type) << " row " << row << " k-block " << b;
          }
  }
  // Rounded to nearest: 1 + 3/1024 is 1.0 in bf16 (8 significant bits), itself in fp16.
  const std::vector<float> near_one(16, 1.f + 3.f / 1024.f);
  EXPECT_EQ((*group_scale_pairs(near_one, 16, 1, 64, 1, 64, 8.f, ScalarType::bf16))[0],
            0x3f803f80u);
  EXPECT_EQ((*group_scale_pairs(near_one, 16, 1, 64, 1, 64, 8.f, ScalarType::fp16))[0],
            0x3c033c03u);
}

// Rounded as encode rounds them, over every binade the layers allow and the ties between two
// bf16 / fp16 values (a scale's bits are rounded inline, not through the type table).
TEST(MixedInputPlan, GroupScalePairsRoundAsEncodeDoes) {
  std::mt19937 random(17);
  for (const ScalarType type : {ScalarType::bf16, ScalarType::fp16}) {
    std::vector<float> scales(16 * 64);
    for (size_t i = 0; i < scales.size(); ++i) {
      const int exponent = type == ScalarType::fp16 ? -14 + static_cast<int>(random() % 24)
                                                    : -120 + static_cast<int>(random() % 240);
      uint32_t bits;
      const float base = std::ldexp(1.f, exponent);
      std::memcpy(&bits, &base, sizeof bits);
      // Random mantissas, every fourth one a tie (the bits below the target's mantissa 100...0).
      const int dropped = type == ScalarType::fp16 ? 13 : 16;
      bits |= random() & 0x7fffffu;
      if (i % 4 == 0) bits = (bits & ~((1u << dropped) - 1)) | (1u << (dropped - 1));
      std::memcpy(&scales[i], &bits, sizeof bits);
      if (i % 2) scales[i] = -scales[i];
    }
    const auto pairs = group_scale_pairs(scales, 16, 64, 64, 64, 64, 1.f, type);
    ASSERT_TRUE(pairs.has_value()) << name(type);
    for (int b = 0; b < 64; ++b)
      for (int q = 0; q < 8; ++q)
        for (int h = 0; h < 2; ++h) {
          const float s = scales[(q + 8 * h) * 64 + b];
          const uint32_t bits = encode(type, s);
          ASSERT_EQ((*pairs)[(b * 8 + q) * 2 + h], bits | bits << 16)
              << name(type) << " scale " << s << " k-block " << b;
        }
  }
}

// Scales whose rounding would not keep its relative bound (not a normal T) or whose products
// would overflow T leave the layer on the exact folds: fp16 from 2^-14 to 65504 / 8 for int4,
// 65504 / 128 for int8; bf16 takes them all but NaN and inf. Zero is fine.
TEST(MixedInputPlan, GroupScalePairsOnlyWhereTheRoundingKeepsItsBound) {
  const auto pairs = [](float s, float max_code, ScalarType type) {
    const std::vector<float> scales(16, s);
    return group_scale_pairs(scales, 16, 1, 64, 1, 64, max_code, type).has_value();
  };
  using T = ScalarType;
  EXPECT_TRUE(pairs(0.f, 8.f, T::fp16));
  EXPECT_TRUE(pairs(0x1p-14f, 8.f, T::fp16));
  EXPECT_FALSE(pairs(0x1p-15f, 8.f, T::fp16));  // an fp16 subnormal
  EXPECT_TRUE(pairs(8188.f, 8.f, T::fp16));
  EXPECT_FALSE(pairs(8192.f, 8.f, T::fp16));  // 8 · 8192 > 65504
  EXPECT_FALSE(pairs(1024.f, 128.f, T::fp16));
  EXPECT_TRUE(pairs(0x1p-15f, 8.f, T::bf16));
  EXPECT_TRUE(pairs(1e30f, 128.f, T::bf16));
  EXPECT_FALSE(pairs(std::numeric_limits<float>::infinity(), 8.f, T::bf16));
  EXPECT_FALSE(pairs(std::nanf(""), 8.f, T::bf16));
}

}  // namespace
}  // namespace qlinear::cuda::sm90
