// The int8 dot-product tile in plain C++ (int8_scaled_mm and w4a8_int at ISA level scalar): the
// twin of the vector tiles, with the same integer sums.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/int8_tile.hpp"

namespace qlinear::cpu {
namespace {

float value_at(const void* x, int type, int64_t i) {
  uint32_t bits = 0;
  switch (type) {
    case 0:
      bits = static_cast<uint32_t>(static_cast<const uint16_t*>(x)[i]) << 16;
      break;
    case 1: {
      _Float16 half;
      std::memcpy(&half, static_cast<const uint16_t*>(x) + i, 2);
      return static_cast<float>(half);
    }
    default:
      return static_cast<const float*>(x)[i];
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

}  // namespace

RowStats row_stats_scalar(const void* x, int type, int64_t n) {
  RowStats s{value_at(x, type, 0), value_at(x, type, 0), 0.f};
  for (int64_t i = 0; i < n; ++i) {
    const float v = value_at(x, type, i);
    s.lo = std::min(s.lo, v), s.hi = std::max(s.hi, v), s.amax = std::max(s.amax, std::fabs(v));
  }
  return s;
}

void quantize_row_scalar(const void* x, int type, int64_t n, float scale, float zero,
                         uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float code =
        std::clamp(std::nearbyint(value_at(x, type, i) / scale) + zero, -128.f, 127.f);
    out[i] = static_cast<uint8_t>(static_cast<int32_t>(code) + 128);
  }
}

void int8_tile_scalar(const Int8TileArgs& a) {
  std::vector<float> acc(static_cast<size_t>(a.rows * kInt8TileN), 0.f);
  std::vector<int32_t> w;
  const uint8_t* p = a.weights;
  int64_t k0 = 0;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const auto* codes = reinterpret_cast<const int8_t*>(p);
    p += length * kInt8TileN;
    int32_t colsums[kInt8TileN];
    float scales[kInt8TileN];
    std::memcpy(colsums, p, sizeof colsums);
    std::memcpy(scales, p + sizeof colsums, sizeof scales);
    p += sizeof colsums + sizeof scales;
    // The segment's weights as int32 [length][16], for every row.
    w.resize(static_cast<size_t>(length * kInt8TileN));
    for (int64_t i = 0; i < length; ++i)
      for (int j = 0; j < kInt8TileN; ++j)
        w[i * kInt8TileN + j] = codes[(i / 4) * 4 * kInt8TileN + j * 4 + i % 4];
    for (int64_t r = 0; r < a.rows; ++r) {
      const uint8_t* x = a.x + (r / kInt8TileRows) * a.x_block_stride + (r % kInt8TileRows) * 4;
      int32_t sum[kInt8TileN] = {};
      for (int64_t i = 0; i < length; ++i) {
        const int32_t u = x[((k0 + i) / 4) * 4 * kInt8TileRows + (k0 + i) % 4];
        for (int j = 0; j < kInt8TileN; ++j) sum[j] += u * w[i * kInt8TileN + j];
      }
      for (int j = 0; j < kInt8TileN; ++j)
        acc[r * kInt8TileN + j] += static_cast<float>(sum[j] - a.shift[r] * colsums[j]) * scales[j];
    }
    k0 += length;
  }
  std::memcpy(a.y, acc.data(), acc.size() * sizeof(float));
}

}  // namespace qlinear::cpu
