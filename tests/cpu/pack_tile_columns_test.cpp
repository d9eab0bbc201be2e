// pack_tile_columns and pack_tile_words (src/cpu/pack_tile_columns.hpp): the scalar twins against
// the contracts written out here, and every vector path this CPU runs against its scalar twin, on
// random bytes with column counts, unit counts and strides off the 16-column / 4-unit / 64-unit
// grid (the AVX-512 path's register blocks, gathers and tail), into poisoned output (0xcd) so that
// a byte left unwritten shows, at a whole cache line (where the vector paths stream their stores)
// and off one.
#include "cpu/pack_tile_columns.hpp"

#include <gtest/gtest.h>
#include <immintrin.h>

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

}  // namespace
}  // namespace qlinear
