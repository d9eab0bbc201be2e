// The converters' transpose of host matrices (GPTQ's words, scales) over the cores.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qlinear::cpu {

// [rows, cols] elements of `element_bytes` (1, 2 or 4), rows `in_stride` elements apart, to
// [cols, rows], in tiles that keep both the rows read and the columns written in cache: at the
// speed of a copy rather than one cache miss per element.
void transpose_elements(const std::byte* in, int64_t rows, int64_t cols, int64_t in_stride,
                        int element_bytes, std::byte* out);

// The same on the calling thread, into rows of the output `out_stride` elements apart:
// out[c · out_stride + r] = in[r · in_stride + c] for r < rows, c < cols (the packings' tile
// rows: cpu/int8_dot.cpp).
void transpose_block(const std::byte* in, int64_t rows, int64_t cols, int64_t in_stride,
                     int element_bytes, std::byte* out, int64_t out_stride);

}  // namespace qlinear::cpu
