// The copy at the heart of the mixed-precision packing (mixed_precision.cpp, layout in
// mixed_precision_tile.hpp): where a segment is a run of consecutive K positions starting at a
// whole byte of the canonical codes ([N, K] codes, two a byte low nibble first, or one a byte),
// the tile's rows of that segment are the canonical bytes of its 16 columns, transposed. One call
// fills one segment of one tile:
//
//   src  [columns][stride] bytes (column j's codes from src + j·stride on)
//   out  [units][16] bytes:  out[u·16 + j] = src[j·stride + u] ^ flip   (u < units, j < columns)
//                            out[u·16 + j] = 0                           (j >= columns)
//
// `flip` (0x80 for int8, stored as code + 128; else 0) applies to the columns that exist only:
// columns past N are code 0 in every layout.
//
// Where `out` is 64-byte aligned the vector paths write whole lines past the caches (non-temporal
// stores): the packed buffer is mapped ahead (mixed_precision.cpp), its lines long out of cache,
// so a plain store would first read each line from memory only to overwrite it whole. The caller
// fences (sfence) before another thread reads the bytes.
#pragma once

#include <cstdint>

namespace qlinear::cpu {

struct TileColumns {
  const uint8_t* src;
  int64_t stride;  // bytes from one column's codes to the next's
  int columns;     // 1 to 16
  int64_t units;   // bytes of each column to copy
  uint8_t flip;
  uint8_t* out;
};

// The same tile rows from the codes in words (core/code_words.hpp), as GPTQ stores them: unit u
// of column j is byte u % 4 of word (u / 4, j), so a step of 4 units is one row of 16 words.
//
//   src  word (i, j) at src + i·row_stride + 4·j
//   out  out[u·16 + j] = src[(u / 4)·row_stride + 4·j + u % 4] ^ flip   (units a multiple of 4)
struct TileWords {
  const uint8_t* src;
  int64_t row_stride;  // bytes from one row of words to the next
  int columns;         // 1 to 16
  int64_t units;       // bytes of each column to copy: a multiple of 4
  uint8_t flip;
  uint8_t* out;
};

// The reference: one byte at a time. Runs on any x86-64.
void pack_tile_columns_scalar(const TileColumns& a);
void pack_tile_words_scalar(const TileWords& a);
// Four units of all 16 columns per dword of each, put in row order by one in-lane byte shuffle
// and one dword permute; the dwords of 64 units by 16 row loads and a register transpose, the
// rest by masked gathers. Needs AVX-512 F/BW and 15 · stride < 2^31 (32-bit gather offsets).
void pack_tile_columns_avx512(const TileColumns& a);
// A row of words is a step's source as it lies: one masked load, the shuffle and the permute.
void pack_tile_words_avx512(const TileWords& a);

}  // namespace qlinear::cpu
