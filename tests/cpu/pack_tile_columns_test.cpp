// pack_tile_columns and pack_tile_words (src/cpu/pack_tile_columns.hpp): the scalar twins against
// the contracts written out here, and every vector path this CPU runs against its scalar twin, on
// random bytes with column counts, unit counts and strides off the 16-column / 4-unit / 64-unit
// grid (the AVX-512 path's register blocks, gathers and tail), into poisoned output (0xcd) so that
// a byte left unwritten shows.
#include "cpu/pack_tile_columns.hpp"

#include <gtest/gtest.h>

#include <random>
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

// `pack` (of TileColumns or TileWords) on the case, into poisoned output.
template <typename Tile>
std::vector<uint8_t> run(void (*pack)(const Tile&), const Case& c,
                         const std::vector<uint8_t>& src) {
  std::vector<uint8_t> out(static_cast<size_t>(c.units * 16), 0xcd);
  pack({src.data(), c.stride, c.columns, c.units, c.flip, out.data()});
  return out;
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
    EXPECT_EQ(run(cpu::pack_tile_columns_avx512, c, src),
              run(cpu::pack_tile_columns_scalar, c, src))
        << describe(c);
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
    EXPECT_EQ(run(cpu::pack_tile_words_avx512, c, src), run(cpu::pack_tile_words_scalar, c, src))
        << describe(c);
  }
}

}  // namespace
}  // namespace qlinear
