// pack_tile_columns, pack_tile_words and pack_tile_gathered_words (src/cpu/pack_tile_columns.hpp):
// the scalar twins against the contracts written out here, and every vector path this CPU runs
// against its scalar twin, on random bytes with column counts, unit counts and strides off the
// 16-column / 4-unit / 64-unit grid (the AVX-512 path's register blocks, gathers and tail), into
// poisoned output (0xcd) so that a byte left unwritten shows, at a whole cache line (where the
// vector paths stream their stores) and off one.
#include "cpu/pack_tile_columns.hpp"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "qlinear/platform.hpp"

namespace qlinear {
namespace {

struct Case {
  int columns;
  int64_t units, stride;
  uint8_t flip;
};

std::vector<Case> cases() {
  std::vector<Case> list;
  for (int columns : {1, 3, 15, 16})
    for (int64_t units : {1, 3, 4, 5, 64, 67, 71, 128})
      for (int64_t extra : {0, 5, 2048})  // stride beyond the units: none, odd, 4 KiB-aliased
        for (uint8_t flip : {0x00, 0x80}) list.push_back({columns, units, units + extra, flip});
  return list;
}

std::vector<uint8_t> random_bytes(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(count);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

// `pack` (of TileColumns or TileWords) on the case, into poisoned output `offset` bytes past a
// 64-byte boundary; what it wrote there.
template <typename Tile>
std::vector<uint8_t> run(void (*pack)(const Tile&), const Case& c, const std::vector<uint8_t>& src,
                         int offset = 0) {
  const auto bytes = static_cast<size_t>(c.units * 16);
  std::vector<uint8_t> buffer(bytes + 128, 0xcd);
  uint8_t* out = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) + offset;
  pack({src.data(), c.stride, c.columns, c.units, c.flip, out});
  _mm_sfence();  // the streamed stores
  return {out, out + bytes};
}

std::string describe(const Case& c) {
  return "columns " + std::to_string(c.columns) + ", units " + std::to_string(c.units) +
         ", stride " + std::to_string(c.stride) + ", flip " + std::to_string(c.flip);
}

TEST(PackTileColumns, ScalarFollowsTheContract) {
  for (const Case& c : cases()) {
    const auto src = random_bytes(static_cast<size_t>(c.columns * c.stride), 1);
    const auto out = run(cpu::pack_tile_columns_scalar, c, src);
    for (int64_t u = 0; u < c.units; ++u)
      for (int j = 0; j < 16; ++j) {
        const uint8_t want = j < c.columns ? src[j * c.stride + u] ^ c.flip : 0;
        ASSERT_EQ(out[u * 16 + j], want) << describe(c) << ": unit " << u << ", column " << j;
      }
  }
}

TEST(PackTileColumns, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  for (const Case& c : cases()) {
    const auto src = random_bytes(static_cast<size_t>(c.columns * c.stride), 2);
    for (int offset : {0, 16})
      EXPECT_EQ(run(cpu::pack_tile_columns_avx512, c, src, offset),
                run(cpu::pack_tile_columns_scalar, c, src))
          << describe(c) << ", output " << offset << " bytes past a line";
  }
}

// Rows of words: units a multiple of 4; rows of words as long as the tile's columns or longer
// (a window of a wider layer), by an odd number of words or by 4 KiB.
std::vector<Case> word_cases() {
  std::vector<Case> list;
  for (int columns : {1, 3, 15, 16})
    for (int64_t units : {4, 8, 64, 68})
      for (int64_t extra : {0, 20, 4096})
        for (uint8_t flip : {0x00, 0x80})
          list.push_back({columns, units, 4 * columns + extra, flip});
  return list;
}

TEST(PackTileWords, ScalarFollowsTheContract) {
  for (const Case& c : word_cases()) {
    const auto src = random_bytes(static_cast<size_t>(c.units / 4 * c.stride), 3);
    const auto out = run(cpu::pack_tile_words_scalar, c, src);
    for (int64_t u = 0; u < c.units; ++u)
      for (int j = 0; j < 16; ++j) {
        const uint8_t want = j < c.columns ? src[(u / 4) * c.stride + 4 * j + u % 4] ^ c.flip : 0;
        ASSERT_EQ(out[u * 16 + j], want) << describe(c) << ": unit " << u << ", column " << j;
      }
  }
}

TEST(PackTileWords, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  for (const Case& c : word_cases()) {
    const auto src = random_bytes(static_cast<size_t>(c.units / 4 * c.stride), 4);
    for (int offset : {0, 16})
      EXPECT_EQ(run(cpu::pack_tile_words_avx512, c, src, offset),
                run(cpu::pack_tile_words_scalar, c, src))
          << describe(c) << ", output " << offset << " bytes past a line";
  }
}

// Gathered positions (act order) from rows of words: 4- and 8-bit codes, position counts odd and
// even (a 4-bit row's missing second position), positions in random order over 512 K, rows of
// words a tile wide or wider.
struct GatheredCase {
  int columns, bits;
  int64_t count, row_stride;
  uint8_t flip;
};

std::vector<GatheredCase> gathered_cases() {
  std::vector<GatheredCase> list;
  for (int columns : {1, 3, 15, 16})
    for (int bits : {4, 8})
      for (int64_t count : {1, 2, 3, 16, 17, 128})
        for (int64_t extra : {0, 20, 4096})
          for (uint8_t flip : {0x00, 0x80})
            if (bits == 8 || flip == 0)
              list.push_back({columns, bits, count, 4 * columns + extra, flip});
  return list;
}

constexpr int64_t kGatheredK = 512;

std::vector<uint8_t> run_gathered(void (*pack)(const cpu::TileGatheredWords&),
                                  const GatheredCase& c, const std::vector<uint8_t>& src,
                                  const std::vector<int64_t>& positions) {
  const int64_t rows = c.bits == 4 ? (c.count + 1) / 2 : c.count;
  std::vector<uint8_t> out(static_cast<size_t>(rows * 16), 0xcd);
  pack(
      {src.data(), c.row_stride, c.columns, c.bits, positions.data(), c.count, c.flip, out.data()});
  return out;
}

std::vector<int64_t> random_positions(int64_t count, uint32_t seed) {
  std::vector<int64_t> all(kGatheredK);
  for (int64_t k = 0; k < kGatheredK; ++k) all[k] = k;
  std::shuffle(all.begin(), all.end(), std::mt19937(seed));
  return {all.begin(), all.begin() + count};
}

std::string describe(const GatheredCase& c) {
  return "columns " + std::to_string(c.columns) + ", bits " + std::to_string(c.bits) + ", count " +
         std::to_string(c.count) + ", row stride " + std::to_string(c.row_stride) + ", flip " +
         std::to_string(c.flip);
}

TEST(PackTileGatheredWords, ScalarFollowsTheContract) {
  for (const GatheredCase& c : gathered_cases()) {
    const int per_word = 32 / c.bits;
    const auto src = random_bytes(static_cast<size_t>(kGatheredK / per_word * c.row_stride), 5);
    const auto positions = random_positions(c.count, 6);
    const auto code = [&](int j, int64_t k) {
      const uint8_t* word = src.data() + (k / per_word) * c.row_stride + 4 * j;
      const uint32_t value = word[0] | word[1] << 8 | word[2] << 16 | uint32_t{word[3]} << 24;
      return (value >> (k % per_word * c.bits)) & ((1u << c.bits) - 1u);
    };
    const auto out = run_gathered(cpu::pack_tile_gathered_words_scalar, c, src, positions);
    for (int64_t r = 0; r < static_cast<int64_t>(out.size()) / 16; ++r)
      for (int j = 0; j < 16; ++j) {
        uint32_t want = 0;
        if (j < c.columns && c.bits == 8) want = code(j, positions[r]) ^ c.flip;
        if (j < c.columns && c.bits == 4)
          want = code(j, positions[2 * r]) |
                 (2 * r + 1 < c.count ? code(j, positions[2 * r + 1]) : 0u) << 4;
        ASSERT_EQ(out[r * 16 + j], want) << describe(c) << ": row " << r << ", column " << j;
      }
  }
}

TEST(PackTileGatheredWords, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  for (const GatheredCase& c : gathered_cases()) {
    const auto src =
        random_bytes(static_cast<size_t>(kGatheredK / (32 / c.bits) * c.row_stride), 7);
    const auto positions = random_positions(c.count, 8);
    EXPECT_EQ(run_gathered(cpu::pack_tile_gathered_words_avx512, c, src, positions),
              run_gathered(cpu::pack_tile_gathered_words_scalar, c, src, positions))
        << describe(c);
  }
}

}  // namespace
}  // namespace qlinear
