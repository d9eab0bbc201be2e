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

// The tile rows of a segment whose K positions are not a run (act order: a g_idx group's
// positions, gathered) from the codes in words where they lie, one position's row of words at a
// time, so no canonical copy of the layer is made. Row r of the segment:
//
//   4-bit  out[r·16 + j] = code(j, positions[2r]) | code(j, positions[2r + 1]) << 4
//          (rows = ceil(count / 2); a missing second position is code 0)
//   8-bit  out[r·16 + j] = code(j, positions[r]) ^ flip     (rows = count)
//   code(j, k): bits (k % per_word)·bits ... of word (k / per_word, j), at
//          src + (k / per_word)·row_stride + 4·j;  out[r·16 + j] = 0 for j >= columns
struct TileGatheredWords {
  const uint8_t* src;  // word (0, the tile's first column)
  int64_t row_stride;  // bytes from one row of words to the next
  int columns;         // 1 to 16
  int bits;            // 4 or 8
  const int64_t* positions;
  int64_t count;  // positions
  uint8_t flip;   // 8-bit codes only
  uint8_t* out;
};

// The reference: one byte at a time. Runs on any x86-64.
void pack_tile_columns_scalar(const TileColumns& a);
void pack_tile_words_scalar(const TileWords& a);
void pack_tile_gathered_words_scalar(const TileGatheredWords& a);
// Four units of all 16 columns per dword of each, put in row order by one in-lane byte shuffle
// and one dword permute; the dwords of 64 units by 16 row loads and a register transpose, the
// rest by masked gathers. Needs AVX-512 F/BW and 15 · stride < 2^31 (32-bit gather offsets).
void pack_tile_columns_avx512(const TileColumns& a);
// A row of words is a step's source as it lies: one masked load, the shuffle and the permute.
void pack_tile_words_avx512(const TileWords& a);
// A position's row of words in one masked load, its codes shifted down and masked in 32-bit
// lanes, two positions or'd into a byte (4-bit), and the 16 lanes narrowed to one 16-byte row.
void pack_tile_gathered_words_avx512(const TileGatheredWords& a);

}  // namespace qlinear::cpu
