// w4a8_int_mma_sm80's data path on the host (runs without a GPU, in CI): the weights packed by
// fragment_words_s8 and decoded by s8_fragment, X's B registers read where the kernel reads them
// (b_fragment_k), placed in the mma's matrices by the PTX ISA's own fragment tables (written here
// from "Matrix Fragments for mma.m16n8k32", .s8, independently of cuda/detail/fragments.hpp) and
// multiplied: every group's integer sum must equal Σ (code - 8) · q over the canonical tensors and
// the reference's activation codes exactly, and s_token · Σ_g s_g · sum_g must be the reference's
// product. What this cannot check is the device: the kernel's loop, its folds and the mma itself
// (the GPU tests, tests/gpu/w4a8_int_mma_sm80_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cuda/detail/fragments.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {
namespace {

using cuda::detail::b_fragment_k;
using cuda::detail::block_k;
using cuda::detail::FragmentLayout;
using cuda::detail::keep_leading_bytes;
using cuda::detail::kMaxS8GroupK;
using cuda::detail::pack_fragments;
using cuda::detail::packed_word_index;
using cuda::detail::s8_fragment;
using cuda::detail::s8_from_uint4b8;

// PTX ISA, mma.m16n8k32 with .s8 operands: element i of lane l's fragment (byte i % 4 of
// register i / 4). A is 16 × 32 (row, k); B is 32 × 8 (k, token).
struct Position {
  int row, col;
};
Position ptx_a_s8(int lane, int i) {
  const int group = lane >> 2, thread_in_group = lane % 4;
  const int row = (i < 4 || (8 <= i && i < 12)) ? group : group + 8;
  const int col = thread_in_group * 4 + (i & 0x3) + (i >= 8 ? 16 : 0);
  return {row, col};
}
Position ptx_b_s8(int lane, int i) {
  const int group = lane >> 2, thread_in_group = lane % 4;
  return {thread_in_group * 4 + (i & 0x3) + (i >= 4 ? 16 : 0), group};
}

int8_t byte_of(uint32_t word, int j) { return static_cast<int8_t>((word >> (8 * j)) & 0xffu); }

TEST(W4a8IntMmaSm80Fragments, DecodeIsCodeMinusEightInEveryByte) {
  // Every value of every byte (bytes 0-1 run through all 2^16 pairs, bytes 2-3 through their
  // complements), from the low nibbles and, shifted down, from the high ones.
  for (uint32_t v = 0; v < (1u << 16); ++v) {
    const uint32_t word = v | (~v << 16);
    const uint32_t low = s8_from_uint4b8(word), high = s8_from_uint4b8(word >> 4);
    for (int j = 0; j < 4; ++j) {
      const int byte = static_cast<int>((word >> (8 * j)) & 0xffu);
      ASSERT_EQ(byte_of(low, j), (byte & 0xf) - 8) << std::hex << word << " byte " << j;
      ASSERT_EQ(byte_of(high, j), (byte >> 4) - 8) << std::hex << word << " byte " << j;
    }
  }
}

// Where the kernel reads a lane's B registers, for both mma shapes of the pipeline, against the
// ISA's B tables: m16n8k16 bf16 / fp16 (2 elements a register) row = 2(l%4) + (i & 1) + 8·(i >= 2),
// and m16n8k32 s8 (4 a register) as ptx_b_s8; the column is the token l/4 in both.
TEST(W4a8IntMmaSm80Fragments, BFragmentOffsetsOfBothShapes) {
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(b_fragment_k(lane, i / 2, 16, 2) + i % 2, 2 * (lane % 4) + (i & 1) + 8 * (i >= 2))
          << "m16n8k16, lane " << lane << ", b" << i;
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(b_fragment_k(lane, i / 4, 32, 4) + i % 4, ptx_b_s8(lane, i).row)
          << "m16n8k32, lane " << lane << ", b" << i;
  }
}

// w4a8_fp8_mma_sm89 stages e4m3 codes in the same layout; the pool's bytes past K (NaN where they
// are 0x7f) are cleared by keep_leading_bytes as each 16-byte load is staged: every count of valid
// bytes from below the word to past it.
TEST(W4a8IntMmaSm80Fragments, StagedCodesKeepOnlyTheBytesBeforeK) {
  constexpr uint32_t kWord = 0x7f7f7f7fu;
  EXPECT_EQ(keep_leading_bytes(kWord, -12), 0u);
  EXPECT_EQ(keep_leading_bytes(kWord, 0), 0u);
  EXPECT_EQ(keep_leading_bytes(0x44332211u, 1), 0x11u);
  EXPECT_EQ(keep_leading_bytes(0x44332211u, 2), 0x2211u);
  EXPECT_EQ(keep_leading_bytes(0x44332211u, 3), 0x332211u);
  EXPECT_EQ(keep_leading_bytes(kWord, 4), kWord);
  EXPECT_EQ(keep_leading_bytes(kWord, 200), kWord);
  // A 16-byte load at K position k of a row whose codes end at codes_k, as the kernel masks it.
  for (int codes_k = 0; codes_k <= 48; ++codes_k)
    for (int k = 0; k < 48; k += 16) {
      const int valid = codes_k - k;
      for (int word = 0; word < 4; ++word) {
        const uint32_t kept = keep_leading_bytes(kWord, valid - 4 * word);
        for (int byte = 0; byte < 4; ++byte)
          EXPECT_EQ((kept >> (8 * byte)) & 0xffu, k + 4 * word + byte < codes_k ? 0x7fu : 0u)
              << "codes_k " << codes_k << ", k " << k << ", byte " << 4 * word + byte;
      }
    }
}

TEST(W4a8IntMmaSm80Fragments, GroupSumsCannotOverflow) {
  constexpr int64_t kMaxProduct = 128 * 8;  // |int8 code| <= 128, |uint4b8 value| <= 8
  EXPECT_LE(kMaxS8GroupK * kMaxProduct, std::numeric_limits<int32_t>::max());
  EXPECT_GT((kMaxS8GroupK + 1) * kMaxProduct, std::numeric_limits<int32_t>::max());
}

// One layer through the simulated data path; see the file's header.
void expect_packed_path_matches_reference(const LayerConfig& c, int64_t m, uint64_t seed) {
  constexpr int kBlock = block_k(4), kStep = 32;
  const int64_t n = c.part_n(), k = c.part_k();
  const int64_t padded_n = (n + 15) / 16 * 16, padded_k = (k + kBlock - 1) / kBlock * kBlock;
  const int64_t group_k = c.weight_scale == Granularity::per_group ? c.group_size : padded_k;
  ASSERT_EQ(group_k % kStep, 0) << "a mma step must not straddle two groups";
  const int64_t groups = padded_k / group_k + (padded_k % group_k ? 1 : 0);

  const RandomLayer layer = make_random_layer(c, seed);
  const LayerWeights weights = layer.weights();
  const Tensor x = random_activations(c.act_type, std::array{m, k}, seed + 1);
  const reference::QuantizedActivations q = reference::quantize_activations(c, weights, x);

  // As process_weights packs them: canonical codes, code 8 (value 0) past N and K.
  const auto code = [&](int64_t row, int64_t kk) -> uint32_t {
    return row < n && kk < k ? load_code(layer.weight, row * k + kk) : 8u;
  };
  const std::vector<uint32_t> packed = pack_fragments(FragmentLayout::s8, padded_n, padded_k, code);
  // As the kernel stages X: [token][padded_k] codes, tokens past M zero; past K any byte (the
  // quantizer leaves them as they were: the weights there are 0).
  const int64_t tokens = (m + 7) / 8 * 8;
  std::vector<int8_t> staged(static_cast<size_t>(tokens * padded_k), 0);
  for (int64_t t = 0; t < m; ++t)
    for (int64_t i = 0; i < padded_k; ++i)
      staged[t * padded_k + i] =
          i < k ? static_cast<int8_t>(load_value(q.codes, t * k + i)) : int8_t{-99};

  // sums[(row * tokens + token) * groups + g]: what the kernel's int32 accumulators hold at a fold.
  std::vector<int64_t> sums(static_cast<size_t>(padded_n * tokens * groups), 0);
  const int64_t kblocks = padded_k / kBlock;
  for (int64_t tile = 0; tile < padded_n / 16; ++tile)
    for (int64_t b = 0; b < kblocks; ++b)
      for (int s = 0; s < kBlock / kStep; ++s) {
        const int64_t k0 = b * kBlock + s * kStep, g = k0 / group_k;
        int a_matrix[16][32], a_seen[16][32] = {};
        for (int lane = 0; lane < 32; ++lane) {
          uint32_t word[4], a[4];
          for (int w = 0; w < 4; ++w)
            word[w] = packed[packed_word_index(tile, b, kblocks, lane, w)];
          s8_fragment(word, s, a);
          for (int i = 0; i < 16; ++i) {
            const Position at = ptx_a_s8(lane, i);
            a_matrix[at.row][at.col] = byte_of(a[i / 4], i % 4);
            ++a_seen[at.row][at.col];
          }
        }
        for (const auto& row : a_seen)
          for (int seen : row) ASSERT_EQ(seen, 1) << "A fragments cover a position twice";
        for (int64_t token_tile = 0; token_tile < tokens / 8; ++token_tile) {
          int b_matrix[32][8], b_seen[32][8] = {};
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < 2; ++r) {
              const int64_t token = token_tile * 8 + lane / 4;
              const int64_t from = token * padded_k + k0 + b_fragment_k(lane, r, kStep, 4);
              for (int j = 0; j < 4; ++j) {
                const Position at = ptx_b_s8(lane, 4 * r + j);
                b_matrix[at.row][at.col] = staged[static_cast<size_t>(from + j)];
                ++b_seen[at.row][at.col];
              }
            }
          for (const auto& row : b_seen)
            for (int seen : row) ASSERT_EQ(seen, 1) << "B fragments cover a position twice";
          for (int row = 0; row < 16; ++row)
            for (int col = 0; col < 8; ++col) {
              int64_t dot = 0;
              for (int i = 0; i < kStep; ++i) dot += a_matrix[row][i] * b_matrix[i][col];
              const int64_t token = token_tile * 8 + col;
              sums[((tile * 16 + row) * tokens + token) * groups + g] += dot;
            }
        }
      }

  // Exact integer sums against the canonical tensors, and the product against the reference.
  const std::vector<double> x_hat = reference::activations_as_used(c, weights, x);
  const std::vector<double> w_hat = reference::dequantize_weights(c, weights);
  const std::vector<double> want = reference::linear_f64(x_hat, w_hat, m, n, k, TensorView());
  const std::vector<double> terms = reference::magnitude_f64(x_hat, w_hat, m, n, k, TensorView());
  int64_t wrong = 0;
  for (int64_t row = 0; row < n; ++row)
    for (int64_t token = 0; token < m; ++token) {
      double y = 0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t exact = 0;
        for (int64_t i = g * group_k; i < std::min(k, (g + 1) * group_k); ++i)
          exact += static_cast<int64_t>(load_value(layer.weight, row * k + i)) *
                   static_cast<int64_t>(load_value(q.codes, token * k + i));
        const int64_t got = sums[(row * tokens + token) * groups + g];
        if (got != exact && wrong++ == 0)
          ADD_FAILURE() << c.describe() << ": row " << row << ", token " << token << ", group " << g
                        << ": sum " << got << ", expected " << exact;
        // The padding's group (K padded past the last group) reuses the last scale, as the kernel.
        const int64_t scale_groups = c.weight_scale_shape()[1];
        const int64_t scale_index = row * scale_groups + std::min(g, scale_groups - 1);
        y += load_value(layer.weight_scale, scale_index) * static_cast<double>(got);
      }
      y *= load_value(q.scales, token);
      const double error = std::fabs(y - want[token * n + row]);
      EXPECT_LE(error, 1e-12 * terms[token * n + row])
          << c.describe() << ": row " << row << ", token " << token << ": " << y << " vs "
          << want[token * n + row];
    }
  EXPECT_EQ(wrong, 0) << c.describe() << ": group sums that differ";
}

TEST(W4a8IntMmaSm80Fragments, PackedPathMatchesTheReference) {
  LayerConfig g128 = default_config(Family::w4a8_int, 40, 384);  // 3 row tiles, 6 k-blocks
  LayerConfig g32 = default_config(Family::w4a8_int, 16, 96);    // 1.5 k-blocks, 3 groups
  g32.group_size = 32, g32.act_type = ScalarType::fp16;
  LayerConfig g64 = default_config(Family::w4a8_int, 33, 192);
  g64.group_size = 64, g64.weight_scale_type = ScalarType::bf16;
  LayerConfig channel = default_config(Family::w4a8_int, 24, 200);  // K padded to 256
  channel.weight_scale = Granularity::per_channel, channel.group_size = 0;
  channel.act_type = ScalarType::fp32;
  uint64_t seed = 40;
  for (const LayerConfig& c : {g128, g32, g64, channel}) {
    validate(c);
    for (int64_t m : {1, 11}) expect_packed_path_matches_reference(c, m, seed += 2);
  }
}

}  // namespace
}  // namespace qlinear
