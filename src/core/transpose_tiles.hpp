// The portable element transpose in cache-sized tiles: where no vector path is built, and for
// QuantizedLinear's canonical copy of codes in words (core/code_words.hpp), which core makes
// without the cpu provider's pool and vector paths (cpu/transpose_elements.hpp has both).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qlinear::detail {

// [rows, cols] elements, rows `in_stride` elements apart, to [cols, rows], rows `out_stride`
// elements apart: out[c · out_stride + r] = in[r · in_stride + c].
// Tiles of 16 rows x 64 columns, for the reason transpose_words_scalar gives
// (cpu/transpose_words.hpp).
template <typename Element>
inline void transpose_tiles(const std::byte* in, int64_t rows, int64_t cols, int64_t in_stride,
                            std::byte* out, int64_t out_stride) {
  constexpr int64_t kTileRows = 16, kTileCols = 64;
  constexpr auto size = sizeof(Element);
  for (int64_t r0 = 0; r0 < rows; r0 += kTileRows)
    for (int64_t c0 = 0; c0 < cols; c0 += kTileCols) {
      const int64_t r1 = std::min(rows, r0 + kTileRows), c1 = std::min(cols, c0 + kTileCols);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) {
          Element v;
          std::memcpy(&v, in + (r * in_stride + c) * size, size);
          std::memcpy(out + (c * out_stride + r) * size, &v, size);
        }
    }
}

}  // namespace qlinear::detail
