// The int8 dot-product tile in plain C++ (int8_scaled_mm and w4a8_int at ISA level scalar): the
// twin of the vector tiles, with the same integer sums.
#include <cstring>

#include "cpu/int8_tile.hpp"

namespace qlinear::cpu {

void int8_tile_scalar(const Int8TileArgs& a) {
  for (int64_t r = 0; r < a.rows; ++r) {
    float acc[kInt8TileN] = {};
    const uint8_t* p = a.weights;
    const uint8_t* x = a.x;
    for (int64_t s = 0; s < a.segments; ++s) {
      const int64_t length = a.segment_lengths[s];
      const auto* codes = reinterpret_cast<const int8_t*>(p);
      p += length * kInt8TileN;
      int32_t colsums[kInt8TileN];
      float scales[kInt8TileN];
      std::memcpy(colsums, p, sizeof colsums);
      std::memcpy(scales, p + sizeof colsums, sizeof scales);
      p += sizeof colsums + sizeof scales;
      for (int j = 0; j < kInt8TileN; ++j) {
        int32_t sum = 0;
        for (int64_t i = 0; i < length; ++i)
          sum += static_cast<int32_t>(x[(i / 4) * 4 * kInt8TileRows + r * 4 + i % 4]) *
                 codes[(i / 4) * 4 * kInt8TileN + j * 4 + i % 4];
        acc[j] += static_cast<float>(sum - a.shift[r] * colsums[j]) * scales[j];
      }
      x += length * kInt8TileRows;
    }
    std::memcpy(a.y + r * kInt8TileN, acc, sizeof acc);
  }
}

}  // namespace qlinear::cpu
