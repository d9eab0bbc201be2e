// The mixed-precision tile in plain C++: the twin every vector tile is tested beside, and the
// kernel of machines without AVX2. Same arithmetic as the vector tiles: per segment, fp32 sums of
// x·(code - offset), then one multiply by the segment's scale.
#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {

void mixed_precision_tile_scalar(const MixedTileArgs& a) {
  const auto* x = static_cast<const float*>(a.x);
  for (int64_t r = 0; r < a.rows; ++r) {
    float acc[kMixedTileN] = {};
    const uint8_t* p = a.weights;
    int64_t k0 = 0;
    for (int64_t s = 0; s < a.segments; ++s) {
      const int64_t length = a.segment_lengths[s];
      const uint8_t* codes = p;
      p += length * kMixedTileN * a.bits / 8;
      const uint8_t* scales = p;
      p += kMixedTileN * 4;
      const uint8_t* zero_points = a.zero_points ? p : nullptr;
      if (a.zero_points) p += kMixedTileN;
      for (int j = 0; j < kMixedTileN; ++j) {
        const int32_t offset = zero_points ? zero_points[j] : a.code_offset;
        float part = 0;
        for (int64_t i = 0; i < length; ++i) {
          const int32_t code = a.bits == 4
                                   ? (codes[(i / 2) * kMixedTileN + j] >> (i % 2 ? 4 : 0)) & 0xf
                                   : codes[i * kMixedTileN + j];
          part += x[(k0 + i) * kMixedTileRows + r] * static_cast<float>(code - offset);
        }
        float scale;
        __builtin_memcpy(&scale, scales + 4 * j, 4);
        acc[j] += part * scale;
      }
      k0 += length;
    }
    for (int j = 0; j < kMixedTileN; ++j) a.y[r * kMixedTileN + j] = acc[j];
  }
}

}  // namespace qlinear::cpu
