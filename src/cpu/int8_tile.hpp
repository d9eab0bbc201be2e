// The contract between the int8 dot-product driver (int8_dot.cpp: int8_scaled_mm and w4a8_int)
// and its per-ISA tile functions (int8_scaled_mm_<isa>.cpp). Files compiled with ISA flags
// include only the tile headers (see mixed_precision_tile.hpp).
#pragma once

#include <cstdint>

namespace qlinear::cpu {

inline constexpr int kInt8TileN = 16;         // output columns per tile
inline constexpr int kInt8TileRows = 8;       // rows of x per block
inline constexpr int kInt8ChunkRows = 128;    // rows per tile call: 128 x K codes stay in L2
inline constexpr int kInt8SegmentAlign = 16;  // 4 quads: the tiles' loops need no remainder

// Packed weights of one tile of 16 columns, segment after segment (a segment is a run of K
// positions sharing one weight scale: a group, or all of K). Its extent is padded to a multiple
// of kInt8SegmentAlign with zero weights.
//   codes    [len / 4][16][4] int8: the 4 consecutive K positions of a column in one dword, the
//            operand layout of vpdpbusd; or, with code_bits 4 (w4a8_int in the _avx512_vnni
//            tile), [len / 4][16] 16-bit words, word j holding column j's 4 positions as nibbles
//            (position 4q + t at bits 4t), each the value + 8
//   colsums  [16] int32: Σ_k w over the segment
//   scales   [16] fp32: the weight scale of each column for this segment
//
// x is quantized to int8 q and stored as unsigned u = q + 128, in blocks of 8 rows with the
// 4 positions of a quad adjacent: element (r, i) of a block at (i / 4) * 32 + r * 4 + i % 4; one
// call takes a chunk of consecutive blocks (up to kInt8ChunkRows rows).
// The tile returns, for each row r and column j,
//   y[r][j] = Σ_segments scale[j] · fp32(Σ_k u[r,k]·w[k,j] - shift[r]·colsum[j])
// which with shift = 128 + zero point is Σ_segments scale · Σ_k (q - z)·w, exact until the fp32
// conversion.
struct Int8TileArgs {
  const uint8_t* weights;
  int code_bits;  // 8, or 4 (see above)
  const int32_t* segment_lengths;
  int64_t segments;
  const uint8_t* x;        // the first block of the chunk
  int64_t x_block_stride;  // bytes from one block to the next
  // The _amx tiles read x row-major instead (amx_layout.hpp): row r of the chunk at
  // x + r * x_row_stride, the chunk's rows padded with zero activations (u = 128) to a multiple
  // of kAmxRowBlock.
  int64_t x_row_stride;
  const int32_t* shift;  // [rows] 128 + zero point of each row
  int64_t rows;          // 1 to kInt8ChunkRows
  float* y;              // [rows][16]
  // Bytes from one tile's weights to the next's: the pair tile (int8_tile_pair_avx512_vnni)
  // computes the tile at `weights` and the one after it, y then [2][rows][16].
  int64_t tile_bytes;
};

using Int8TileFn = void (*)(const Int8TileArgs&);

// Activation quantization, per ISA. `type` is the activation type: 0 bf16, 1 fp16, 2 fp32.
// Statistics of n values for a dynamic scale: min, max, max |v|.
struct RowStats {
  float lo, hi, amax;
};
using RowStatsFn = RowStats (*)(const void* x, int type, int64_t n);
// out[i] = clamp(nearbyint(x[i] / scale) + zero, -128, 127) + 128, in fp32 as reference.hpp says.
using QuantizeRowFn = void (*)(const void* x, int type, int64_t n, float scale, float zero,
                               uint8_t* out);

RowStats row_stats_scalar(const void* x, int type, int64_t n);
void quantize_row_scalar(const void* x, int type, int64_t n, float scale, float zero, uint8_t* out);
RowStats row_stats_avx512(const void* x, int type, int64_t n);
void quantize_row_avx512(const void* x, int type, int64_t n, float scale, float zero, uint8_t* out);

void int8_tile_scalar(const Int8TileArgs& args);
void int8_tile_avx2(const Int8TileArgs& args);
void int8_tile_avx512_vnni(const Int8TileArgs& args);
// Two adjacent tiles in one call (see Int8TileArgs::tile_bytes): each broadcast of x feeds both.
void int8_tile_pair_avx512_vnni(const Int8TileArgs& args);
// tdpbusd over row-major x (see x_row_stride), one tile or a pair; the _model twins run the same
// code with the tile instructions modelled in scalar code (amx_tiles.hpp), for the tests.
void int8_tile_amx(const Int8TileArgs& args);
void int8_tile_pair_amx(const Int8TileArgs& args);
void int8_tile_amx_model(const Int8TileArgs& args);
void int8_tile_pair_amx_model(const Int8TileArgs& args);

}  // namespace qlinear::cpu
