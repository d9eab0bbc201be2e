// transpose_words' scalar twin: the reference of the vector path, the path of CPUs without
// AVX-512, and the vector path's edges.
#include <algorithm>

#include "cpu/transpose_words.hpp"

namespace qlinear::cpu {

void transpose_words_scalar(const WordBlock& b) {
  constexpr int64_t kTileRows = 16, kTileCols = 64;
  for (int64_t r0 = 0; r0 < b.rows; r0 += kTileRows)
    for (int64_t c0 = 0; c0 < b.cols; c0 += kTileCols) {
      const int64_t r1 = std::min(b.rows, r0 + kTileRows), c1 = std::min(b.cols, c0 + kTileCols);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) b.out[c * b.out_stride + r] = b.in[r * b.in_stride + c];
    }
}

}  // namespace qlinear::cpu
