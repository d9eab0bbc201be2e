// The contract between the mixed-precision driver (mixed_precision.cpp) and its per-ISA tile
// functions (mixed_precision_<isa>.cpp).
//
// NOTES: files compiled with ISA flags include only the tile headers (this one, int8_tile.hpp,
// avx512_decode.hpp, tile_rows.hpp), <immintrin.h> and headers without code, and keep their code
// in an anonymous namespace: an inline function or template shared with the generic files would
// be emitted with AVX-512 instructions and could be the copy the linker keeps for a machine
// without them. The test cpu_isa_objects_export_nothing_shared checks it.
#pragma once

#include <cstdint>
#include <type_traits>

namespace qlinear::cpu {

// Output columns per tile: one AVX-512 vector of fp32 (two AVX2 vectors).
inline constexpr int kMixedTileN = 16;

// Packed weights of one tile of 16 output columns, segment after segment. A segment is a run of K
// positions sharing one scale column (a group or block along K, the whole K for per-channel
// scales, or under act order the positions of one g_idx group, gathered). Its extent is padded to
// a multiple of 4 with positions whose activation is 0.
//   4-bit codes  [len / 2][16] bytes: byte j of pair p holds column j at k = 2p (low nibble) and
//                k = 2p + 1 (high nibble)
//   8-bit codes  [len][16] bytes; float8 codes for the bf16 tiles (_avx512_vnni, _amx) pair by
//                pair instead, [len / 2][16][2]: column j's codes at k = 2p and 2p + 1 adjacent,
//                so that one widening load gives a pair vector's 32 words in order
//   scales       [16] as MixedTileArgs::scale_code says: fp32, or the checkpoint's one-byte
//                float8_e4m3fn / e8m0 scales as they are (NVFP4: the e4m3 scale alone; its global
//                scale is applied per row), in a record of segment_scale_bytes
//   zero points  [16] uint8, only with zero points
// The value of a code: with zero points, code - zero point; else 4-bit codes through `values`
// (code - 8 for uint4b8, the e2m1 value for float4_e2m1f); 8-bit codes are float8_e4m3fn when
// `e4m3`, else integers code - code_offset (int8 is stored as code + 128).
// How a segment's column scales are stored. One-byte scales keep a segment's extras at 16 bytes
// where fp32 took 64: NVFP4's 16-position segments of 4-bit codes are 128 bytes, so fp32 scales
// made the packed layer 1.33x the checkpoint's bytes, and M = 1 reads every byte once (issue 20:
// nvfp4 weight-only at 52-66 % of the memory floor with fp32 scales).
enum class SegmentScaleCode : uint8_t {
  fp32,
  e4m3,  // float8_e4m3fn, never NaN (the packing keeps fp32 where one is)
  e8m0,  // 2^(code - 127) with code in [1, 254], so the fp32 of it is code << 23
};

struct MixedTileArgs {
  const uint8_t* weights;          // this tile's segments
  const int32_t* segment_lengths;  // padded K extent of each segment
  int64_t segments;
  int bits;  // 4 or 8
  bool zero_points;
  bool e4m3;
  int32_t code_offset;  // 8-bit integer codes without zero points
  SegmentScaleCode scale_code;
  const float* values;        // [16]: 4-bit codes without zero points
  const float* scale_values;  // [256]: one-byte scale codes (scale_code e4m3 or e8m0)
  // x in segment order, in blocks of kMixedTileRows rows interleaved so that one broadcast
  // source serves every row of a block: fp32 element (r, i) of a block at i * 8 + r; bf16 (the
  // _vnni tile, which multiplies K pairs) at (i / 2) * 16 + r * 2 + i % 2. One call takes a chunk
  // of consecutive blocks (up to kMixedChunkRows rows; kMixedPairChunkRows for the _vnni pair,
  // kAmxChunkRows for the _amx pair).
  const void* x;
  int64_t x_block_stride;  // elements from one block to the next
  // The _amx tiles read bf16 x row-major instead (amx_layout.hpp): row r of the chunk at
  // x + r * x_row_stride elements, the chunk's rows padded with zeros to a multiple of
  // kAmxRowBlock.
  int64_t x_row_stride;
  // [blocks][segments][kMixedTileRows] scales of x per segment and row (quantized activations
  // with per-group scales), or null: each segment's sum is multiplied by scale[j] · x_scales.
  const float* x_scales;
  int64_t rows;  // rows of the chunk to compute, 1 to the call's chunk rows (see x)
  float* y;  // [rows][16]: Σ_segments scale · (x scale) · Σ_k x·value(code), per row and column
  // Whether every code value times its segment's scale is exact in bf16 (NVFP4, and OCP MX with
  // scales in range; 4-bit or float8 codes) and the chunk has no x_scales: the _amx tiles, and the
  // _avx512_vnni pair tile for 4-bit codes, then decode codes times scales and sum a step of
  // several segments at once (their chunk_folded). Others ignore it.
  bool fold_scales;
  // Bytes from one tile's weights to the next's: the pair tile (…_pair_avx512_vnni) computes the
  // tile at `weights` and the one after it, y then [2][rows][16].
  int64_t tile_bytes;
};
inline constexpr int kMixedTileRows = 8;
inline constexpr int kMixedChunkRows = 64;
// The _avx512_vnni pair tile decodes float8 codes once per step for every row of its chunk
// (decode_step), so it takes chunks of up to this many rows: at M = 256 it decodes the weights
// once where 64-row chunks did four times; a step's activations of every row (256 x 128 bf16
// positions: 64 KiB) stay in L2 although the chunk's x (2 MiB at K = 4096) does not. One core,
// 4096 x 4096 M = 256, both with y 64-byte aligned: fp8_weight_only 1.02-1.09x, fp8_block
// 1.04-1.06x of 64-row chunks (bench/NOTES.md, issue 20).
inline constexpr int kMixedPairChunkRows = 256;
// The _amx tiles decode a step once for every 32-row block of their chunk
// (mixed_precision_amx.cpp), so they too take chunks of up to 256 rows: 64-row chunks decoded the
// weights four times at M = 256 (bench/NOTES.md, issue 20). At most kMixedPairChunkRows: the
// caller's y holds that many.
inline constexpr int kAmxChunkRows = 256;
static_assert(kAmxChunkRows <= kMixedPairChunkRows,
              "y of a pair call holds kMixedPairChunkRows rows");

// How far ahead of its loads a tile prefetches its weights. At one row a tile spends ~16
// instructions per 64-byte line, so the out-of-order window holds too few misses to stream from
// memory by itself; prefetching 8 KiB ahead took M = 1 int4 4096x4096 from ~7 to ~27 GB/s on the
// 2-core EPYC (rough: shared machine), 2 KiB ahead gave ~14.
inline constexpr int kMixedPrefetchBytes = 8192;

using MixedTileFn = void (*)(const MixedTileArgs&);

namespace {  // NOLINT(google-build-namespaces): instantiated in ISA files only, one copy each

// Bytes of a segment's scale record: 16 one-byte scales padded to 32 after 8-bit codes, whose
// 32-byte loads (the e4m3 pairs) then stay aligned to 32 as the segments' codes are.
constexpr int64_t segment_scale_bytes(SegmentScaleCode code, int bits) {
  if (code == SegmentScaleCode::fp32) return kMixedTileN * 4;
  return bits == 8 ? 2 * kMixedTileN : kMixedTileN;
}

// Column j's scale from a segment's scale record, as fp32: the scalar and AVX2 tiles' reading,
// once a segment (the AVX-512 tiles decode the bytes in registers: next_segment).
inline float segment_scale(const MixedTileArgs& a, const uint8_t* record, int j) {
  if (a.scale_code != SegmentScaleCode::fp32) return a.scale_values[record[j]];
  float scale;
  __builtin_memcpy(&scale, record + 4 * j, 4);
  return scale;
}

// Calls run(bits, e4m3) with the tile's code kind as compile-time constants: 4-bit, 8-bit
// integer, or 8-bit float8_e4m3fn.
template <typename Run>
inline void for_code_kind(const MixedTileArgs& a, Run&& run) {
  if (a.bits == 4)
    run(std::integral_constant<int, 4>{}, std::false_type{});
  else if (a.e4m3)
    run(std::integral_constant<int, 8>{}, std::true_type{});
  else
    run(std::integral_constant<int, 8>{}, std::false_type{});
}

// Calls run(block) for each block of kMixedTileRows rows of the chunk `a`, `block` describing
// that block alone; Element is the type of x (float, or uint16_t bf16 bits).
template <typename Element, typename Run>
inline void for_each_block(const MixedTileArgs& a, Run&& run) {
  for (int64_t first = 0; first < a.rows; first += kMixedTileRows) {
    MixedTileArgs block = a;
    const int64_t b = first / kMixedTileRows;
    block.x = static_cast<const Element*>(a.x) + b * a.x_block_stride;
    if (a.x_scales) block.x_scales = a.x_scales + b * a.segments * kMixedTileRows;
    block.rows = a.rows - first < kMixedTileRows ? a.rows - first : kMixedTileRows;
    block.y = a.y + first * kMixedTileN;
    run(block);
  }
}

}  // namespace

void mixed_precision_tile_scalar(const MixedTileArgs& args);
void mixed_precision_tile_avx2(const MixedTileArgs& args);
void mixed_precision_tile_avx512(const MixedTileArgs& args);
void mixed_precision_tile_avx512_vnni(const MixedTileArgs& args);
// Two adjacent tiles in one call (see MixedTileArgs::tile_bytes): each broadcast of x feeds both.
void mixed_precision_tile_pair_avx512_vnni(const MixedTileArgs& args);
// tdpbf16ps over row-major bf16 x (see x_row_stride), one tile or a pair; the _model twins run
// the same code with the tile instructions modelled in scalar code (amx_tiles.hpp), for the tests.
void mixed_precision_tile_amx(const MixedTileArgs& args);
void mixed_precision_tile_pair_amx(const MixedTileArgs& args);
void mixed_precision_tile_amx_model(const MixedTileArgs& args);
void mixed_precision_tile_pair_amx_model(const MixedTileArgs& args);

}  // namespace qlinear::cpu
