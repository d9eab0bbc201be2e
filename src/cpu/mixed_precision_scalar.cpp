// The mixed-precision tile in plain C++: the twin every vector tile is tested beside, and the
// kernel of machines without AVX2. Same arithmetic as the vector tiles: per segment, fp32 sums of
// x·value(code), then one multiply by the segment's scale.
#include <cstring>
#include <vector>

#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {

// float8_e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal.
float e4m3_value(uint8_t code) {
  const int exponent = (code >> 3) & 0xf, mantissa = code & 7;
  const float magnitude =
      exponent ? static_cast<float>(8 + mantissa) * (1.f / 1024) * static_cast<float>(1 << exponent)
               : static_cast<float>(mantissa) * (1.f / 512);
  return code & 0x80 ? -magnitude : magnitude;
}

}  // namespace

void mixed_precision_tile_scalar(const MixedTileArgs& a) {
  std::vector<float> acc(static_cast<size_t>(a.rows * kMixedTileN), 0.f), w;
  const uint8_t* p = a.weights;
  int64_t k0 = 0;
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    const uint8_t* codes = p;
    p += length * kMixedTileN * a.bits / 8;
    float scales[kMixedTileN];
    for (int j = 0; j < kMixedTileN; ++j) scales[j] = segment_scale(a, p, j);
    p += segment_scale_bytes(a.scale_code, a.bits);
    const uint8_t* zero_points = a.zero_points ? p : nullptr;
    if (a.zero_points) p += kMixedTileN;
    // The segment's weights as fp32 [length][16], decoded once for every row.
    w.resize(static_cast<size_t>(length * kMixedTileN));
    for (int64_t i = 0; i < length; ++i)
      for (int j = 0; j < kMixedTileN; ++j) {
        float& value = w[i * kMixedTileN + j];
        if (a.bits == 4) {
          const int code = (codes[(i / 2) * kMixedTileN + j] >> (i % 2 ? 4 : 0)) & 0xf;
          value = zero_points ? static_cast<float>(code - zero_points[j]) : a.values[code];
        } else {
          const uint8_t code = codes[i * kMixedTileN + j];
          value = a.e4m3
                      ? e4m3_value(code)
                      : static_cast<float>(code - (zero_points ? zero_points[j] : a.code_offset));
        }
      }
    for (int64_t row = 0; row < a.rows; ++row) {
      const int64_t block = row / kMixedTileRows, r = row % kMixedTileRows;
      const float* x =
          static_cast<const float*>(a.x) + block * a.x_block_stride + k0 * kMixedTileRows + r;
      float part[kMixedTileN] = {};
      for (int64_t i = 0; i < length; ++i)
        for (int j = 0; j < kMixedTileN; ++j)
          part[j] += x[i * kMixedTileRows] * w[i * kMixedTileN + j];
      const float* x_scales =
          a.x_scales ? a.x_scales + (block * a.segments + s) * kMixedTileRows + r : nullptr;
      for (int j = 0; j < kMixedTileN; ++j)
        acc[row * kMixedTileN + j] += part[j] * (x_scales ? scales[j] * *x_scales : scales[j]);
    }
    k0 += length;
  }
  std::memcpy(a.y, acc.data(), acc.size() * sizeof(float));
}

}  // namespace qlinear::cpu
