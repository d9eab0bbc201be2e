// pack_tile_columns' scalar twin: the reference the vector path is tested against, and the path
// of CPUs without AVX-512.
#include <cstring>

#include "cpu/pack_tile_columns.hpp"

namespace qlinear::cpu {

void pack_tile_columns_scalar(const TileColumns& a) {
  for (int64_t u = 0; u < a.units; ++u) {
    uint8_t* row = a.out + u * 16;
    for (int j = 0; j < a.columns; ++j) row[j] = a.src[j * a.stride + u] ^ a.flip;
    std::memset(row + a.columns, 0, static_cast<size_t>(16 - a.columns));
  }
}

void pack_tile_words_scalar(const TileWords& a) {
  for (int64_t u = 0; u < a.units; ++u) {
    uint8_t* row = a.out + u * 16;
    const uint8_t* words = a.src + (u / 4) * a.row_stride + u % 4;
    for (int j = 0; j < a.columns; ++j) row[j] = words[4 * j] ^ a.flip;
    std::memset(row + a.columns, 0, static_cast<size_t>(16 - a.columns));
  }
}

void pack_tile_gathered_words_scalar(const TileGatheredWords& a) {
  const int per_word = 32 / a.bits;
  const auto code = [&](int j, int64_t k) {
    uint32_t word;
    std::memcpy(&word, a.src + (k / per_word) * a.row_stride + 4 * j, 4);
    return (word >> (k % per_word * a.bits)) & ((1u << a.bits) - 1u);
  };
  const int64_t rows = a.bits == 4 ? (a.count + 1) / 2 : a.count;
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = a.out + r * 16;
    for (int j = 0; j < a.columns; ++j) {
      if (a.bits == 8) {
        row[j] = static_cast<uint8_t>(code(j, a.positions[r]) ^ a.flip);
      } else {
        const uint32_t high = 2 * r + 1 < a.count ? code(j, a.positions[2 * r + 1]) : 0u;
        row[j] = static_cast<uint8_t>(code(j, a.positions[2 * r]) | high << 4);
      }
    }
    std::memset(row + a.columns, 0, static_cast<size_t>(16 - a.columns));
  }
}

}  // namespace qlinear::cpu
