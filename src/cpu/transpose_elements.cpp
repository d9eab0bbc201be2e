// transpose_elements (see transpose_elements.hpp): 4-byte elements through cpu/transpose_words
// (AVX-512 register tiles where the host has them), others in cache-sized tiles
// (core/transpose_tiles.hpp).
#include "cpu/transpose_elements.hpp"

#include <algorithm>

#include "core/transpose_tiles.hpp"
#include "cpu/parallel.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"
#if QLINEAR_CPU_X86
#include "cpu/transpose_words.hpp"
#endif

namespace qlinear::cpu {

void transpose_block(const std::byte* in, int64_t rows, int64_t cols, int64_t in_stride,
                     int element_bytes, std::byte* out, int64_t out_stride) {
  switch (element_bytes) {
    case 1:
      return detail::transpose_tiles<uint8_t>(in, rows, cols, in_stride, out, out_stride);
    case 2:
      return detail::transpose_tiles<uint16_t>(in, rows, cols, in_stride, out, out_stride);
    default: {  // 4: checked by transpose_elements
#if QLINEAR_CPU_X86
      WordBlock block{};
      block.in = reinterpret_cast<const uint32_t*>(in);
      block.in_stride = in_stride;
      block.cols = cols;
      block.rows = rows;
      block.out = reinterpret_cast<uint32_t*>(out);
      block.out_stride = out_stride;
      if (host_platform().cpu.isa >= CpuIsa::avx512) return transpose_words_avx512(block);
      return transpose_words_scalar(block);
#else
      return detail::transpose_tiles<uint32_t>(in, rows, cols, in_stride, out, out_stride);
#endif
    }
  }
}

// Bands of 64 input rows spread over the cores: a band writes 64 consecutive elements of each
// output row, a line or more, so two cores seldom write one line.
void transpose_elements(const std::byte* in, int64_t rows, int64_t cols, int64_t in_stride,
                        int element_bytes, std::byte* out) {
  require(element_bytes == 1 || element_bytes == 2 || element_bytes == 4,
          "transpose_elements: ", element_bytes, "-byte elements");
  constexpr int64_t kBandRows = 64;
  parallel_for((rows + kBandRows - 1) / kBandRows, 1, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kBandRows, r1 = std::min(rows, b1 * kBandRows);
    transpose_block(in + r0 * in_stride * element_bytes, r1 - r0, cols, in_stride, element_bytes,
                    out + r0 * element_bytes, rows);
  });
}

}  // namespace qlinear::cpu
