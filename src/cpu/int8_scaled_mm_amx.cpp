// The int8 dot-product tile with AMX (tdpbusd), at every M (rows padded to 32): one tile
// or a pair of adjacent tiles (16 or 32 columns) over a chunk of rows, taken in row blocks of 32
// by the register block of amx_tiles.hpp (2 x 2 C tiles over two A tiles of x rows and a B tile
// per column tile).
//
// tdpbusd multiplies unsigned bytes of A by signed bytes of B, as vpdpbusd does: x enters as
// u = q + 128 and the weights as int8, and a segment's end takes the +128 back with the column
// sums, the same finish as the VNNI tile's (int8_tile.hpp), so the integer result is exact. The
// packed 8-bit weights are already tdpbusd's B layout (a row of B is one quad: 16 columns x 4
// K positions, 64 bytes); 4-bit codes (w4a8_int) are widened to int8 per step into a buffer in L1
// and used by every row block from there.
#include <immintrin.h>

#include "cpu/amx_layout.hpp"
#include "cpu/amx_tiles.hpp"
#include "cpu/avx512_int8.hpp"
#include "cpu/int8_tile.hpp"

namespace qlinear::cpu {
namespace {

// Quads of K per step: the step's weights (and widened codes, 8 KiB a tile) stay in L1 while
// every row block of the chunk passes over them; each block's C tiles wait in a buffer between
// the steps of a longer segment.
constexpr int64_t kStepQuads = 128;
constexpr int kRowBlocks = kInt8ChunkRows / kAmxRowBlock;

// The largest K step in bytes (64, 48, 32 or 16: one row of an A tile) dividing every segment.
int k_step_of(const Int8TileArgs& a) {
  for (int step = 64; step > 16; step -= 16) {
    bool divides = true;
    for (int64_t s = 0; s < a.segments; ++s) divides = divides && a.segment_lengths[s] % step == 0;
    if (divides) return step;
  }
  return 16;
}

// y [H][rows][16] = Σ_segments scale · fp32(Σ u·w - shift · colsum) for the chunk `a`.
template <class Tiles, int H, int Bits>
void chunk(const Int8TileArgs& a) {
  const int k_step = k_step_of(a);
  Tiles::configure(register_block_config(k_step, k_step / 4));  // A: k_step bytes, B: quads
  const int64_t tile_values = a.rows * kInt8TileN;
  for (int64_t i = 0; i < H * tile_values; ++i) a.y[i] = 0.f;
  const int64_t row_blocks = (a.rows + kAmxRowBlock - 1) / kAmxRowBlock;
  alignas(64) int32_t sums[kRowBlocks][4][kCTileValues];  // each row block's C tiles
  alignas(64) int8_t widened[H][Bits == 4 ? kStepQuads * 64 : 1];
  const uint8_t* p[H];
  for (int h = 0; h < H; ++h) p[h] = a.weights + h * a.tile_bytes;
  int64_t before = 0;  // K positions (bytes of an x row) of the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    Segment segment[H];
    for (int h = 0; h < H; ++h) segment[h] = next_segment<Bits>(a, s, p[h]);
    const int64_t quads = segment[0].quads;
    for (int64_t q0 = 0; q0 < quads; q0 += kStepQuads) {
      const int64_t step_quads = quads - q0 < kStepQuads ? quads - q0 : kStepQuads;
      const bool first = q0 == 0, last = q0 + step_quads == quads;
      const void* b[H];  // the step's B rows, 64 bytes a quad
      for (int h = 0; h < H; ++h) {
        if constexpr (Bits == 8) {
          b[h] = segment[h].codes + q0 * 64;
        } else {
          const uint8_t* codes = segment[h].codes + q0 * 32;
          for (int64_t q = 0; q < step_quads; ++q)
            _mm512_store_si512(widened[h] + q * 64, quad_weights<4>(codes + q * 32));
          b[h] = widened[h];
        }
      }
      for (int64_t block = 0; block < row_blocks; ++block) {
        int32_t(&c)[4][kCTileValues] = sums[block];
        multiply_row_block<Tiles, H, false>(
            c, first, a.x + block * kAmxRowBlock * a.x_row_stride + before + q0 * 4, a.x_row_stride,
            b, step_quads * 4 / k_step, k_step, k_step / 4);
        if (!last) continue;
        const int64_t row0 = block * kAmxRowBlock;
        for (int64_t r = 0; r < kAmxRowBlock && row0 + r < a.rows; ++r)
          for (int h = 0; h < H; ++h) {
            float* y = a.y + h * tile_values + (row0 + r) * kInt8TileN;
            const __m512i sum = _mm512_load_si512(c[2 * (r / 16) + h] + (r % 16) * kInt8TileN);
            _mm512_storeu_ps(y, finish_segment(sum, a.shift[row0 + r], segment[h].colsum,
                                               segment[h].scale, _mm512_loadu_ps(y)));
          }
      }
    }
    before += quads * 4;
  }
  Tiles::release();
}

template <class Tiles, int H>
void run(const Int8TileArgs& a) {
  if (a.code_bits == 4)
    chunk<Tiles, H, 4>(a);
  else
    chunk<Tiles, H, 8>(a);
}

}  // namespace

void int8_tile_amx(const Int8TileArgs& a) { run<AmxHardware, 1>(a); }
void int8_tile_pair_amx(const Int8TileArgs& a) { run<AmxHardware, 2>(a); }
void int8_tile_amx_model(const Int8TileArgs& a) { run<AmxModel, 1>(a); }
void int8_tile_pair_amx_model(const Int8TileArgs& a) { run<AmxModel, 2>(a); }

}  // namespace qlinear::cpu
