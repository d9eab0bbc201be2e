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

}  // namespace qlinear::cpu
