// The mixed-precision tile in plain C++: the twin every vector tile is tested beside, and the
// kernel of machines without AVX2. Same arithmetic as the vector tiles: per segment, fp32 sums of
// x·value(code), then one multiply by the segment's scale.
#include <cstring>

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
  for (int64_t row = 0; row < a.rows; ++row) {
    const int64_t block = row / kMixedTileRows, r = row % kMixedTileRows;
    const float* x = static_cast<const float*>(a.x) + block * a.x_block_stride;
    const float* x_scales = a.x_scales ? a.x_scales + block * a.segments * kMixedTileRows : nullptr;
    float acc[kMixedTileN] = {};
    const uint8_t* p = a.weights;
    int64_t k0 = 0;
    for (int64_t s = 0; s < a.segments; ++s) {
      const int64_t length = a.segment_lengths[s];
      const uint8_t* codes = p;
      p += length * kMixedTileN * a.bits / 8;
      float scales[kMixedTileN];
      std::memcpy(scales, p, sizeof scales);
      p += sizeof scales;
      const uint8_t* zero_points = a.zero_points ? p : nullptr;
      if (a.zero_points) p += kMixedTileN;
      for (int j = 0; j < kMixedTileN; ++j) {
        float part = 0;
        for (int64_t i = 0; i < length; ++i) {
          float w;
          if (a.bits == 4) {
            const int code = (codes[(i / 2) * kMixedTileN + j] >> (i % 2 ? 4 : 0)) & 0xf;
            w = zero_points ? static_cast<float>(code - zero_points[j]) : a.values[code];
          } else {
            const uint8_t code = codes[i * kMixedTileN + j];
            w = a.e4m3 ? e4m3_value(code)
                       : static_cast<float>(code - (zero_points ? zero_points[j] : a.code_offset));
          }
          part += x[(k0 + i) * kMixedTileRows + r] * w;
        }
        const float scale = x_scales ? scales[j] * x_scales[s * kMixedTileRows + r] : scales[j];
        acc[j] += part * scale;
      }
      k0 += length;
    }
    std::memcpy(a.y + row * kMixedTileN, acc, sizeof acc);
  }
}

}  // namespace qlinear::cpu
