// The mixed-precision tile with AMX (tdpbf16ps), for bf16 x (activations, or the code values of
// quantized ones) at every M (rows padded to 32): one tile or a pair of adjacent tiles
// (16 or 32 columns) over a chunk of rows, taken in row blocks of 32 by the register block of
// amx_tiles.hpp (2 x 2 C tiles over two A tiles of x rows and a B tile per column tile).
//
// A row of a tdpbf16ps B tile is what the VNNI tile multiplies with vdpbf16ps: 16 columns, each
// with its values at a pair of K positions, as bf16 (avx512_decode.hpp). Each step's codes are
// decoded into such rows once, into a buffer in L1, and every row block of the chunk multiplies
// them from there. Every decoded value and every bf16 x is exact, the products are exact and the
// sums fp32, as in the VNNI tile; each segment's sum is scaled once at its end.
// NOTES: tdpbf16ps treats bf16 subnormal inputs as zero and flushes subnormal results, as
// vdpbf16ps does (see mixed_precision_avx512_vnni.cpp).
#include <immintrin.h>

#include "cpu/amx_layout.hpp"
#include "cpu/amx_tiles.hpp"
#include "cpu/avx512_decode.hpp"
#include "cpu/mixed_precision_tile.hpp"

namespace qlinear::cpu {
namespace {

// K positions per step: the step's decoded weights (8 KiB a tile) stay in L1 while every row
// block of the chunk passes over them; each block's C tiles wait in a buffer between the steps of
// a longer segment.
constexpr int64_t kAmxStepPositions = 256;
constexpr int kRowBlocks = kAmxChunkRows / kAmxRowBlock;

// The K step in positions (32 or 16: one row of an A tile is 64 or 32 bytes) dividing every
// segment.
int k_step_of(const MixedTileArgs& a) {
  for (int64_t s = 0; s < a.segments; ++s)
    if (a.segment_lengths[s] % 32 != 0) return 16;
  return 32;
}

// Positions [0, positions) of a tile's segment, from its codes, as bf16 pairs at `pairs`
// ([pairs][16][2]), times the segment's scale where Fold (MixedTileArgs::fold_scales).
template <int Bits, bool E4m3, bool Fold>
void decode_positions(const MixedTileArgs& a, const uint8_t* codes, int64_t positions,
                      __m512i table, const Segment& segment, uint16_t* pairs) {
  for (int64_t i = 0; i < positions; i += 4) {
    __m512i w[2];
    load_two_pairs<Bits, E4m3>(a, codes + i * kMixedTileN * Bits / 8, table, segment.offset, w);
    if constexpr (Fold) {
      w[0] = fold_scale(w[0], segment.scale);
      w[1] = fold_scale(w[1], segment.scale);
    }
    _mm512_store_si512(pairs + i * kMixedTileN, w[0]);  // pair i / 2
    _mm512_store_si512(pairs + (i + 2) * kMixedTileN, w[1]);
  }
}

// y [H][rows][16] = Σ_segments scale · (x scale) · Σ_k x·value(code) for the chunk `a`.
template <class Tiles, int H, int Bits, bool E4m3>
void chunk(const MixedTileArgs& a) {
  const int k_step = k_step_of(a);
  Tiles::configure(register_block_config(2 * k_step, k_step / 2));  // A: bf16, B: pairs
  const __m512i table = bf16_value_table(a);
  const int64_t tile_values = a.rows * kMixedTileN;
  for (int64_t i = 0; i < H * tile_values; ++i) a.y[i] = 0.f;
  const int64_t row_blocks = (a.rows + kAmxRowBlock - 1) / kAmxRowBlock;
  const auto* x_all = static_cast<const uint16_t*>(a.x);
  alignas(64) float sums[kRowBlocks][4][kCTileValues];               // each row block's C tiles
  alignas(64) uint16_t decoded[H][kAmxStepPositions * kMixedTileN];  // [pairs][16][2] bf16
  const uint8_t* p[H];
  for (int h = 0; h < H; ++h) p[h] = a.weights + h * a.tile_bytes;
  int64_t before = 0;  // K positions of the segments before this one
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    Segment segment[H];
    for (int h = 0; h < H; ++h) segment[h] = next_segment<Bits>(a, p[h], length);
    for (int64_t i0 = 0; i0 < length; i0 += kAmxStepPositions) {
      const int64_t positions = length - i0 < kAmxStepPositions ? length - i0 : kAmxStepPositions;
      const bool first = i0 == 0, last = i0 + positions == length;
      for (int h = 0; h < H; ++h)
        decode_positions<Bits, E4m3, false>(a, segment[h].codes + i0 * kMixedTileN * Bits / 8,
                                            positions, table, segment[h], decoded[h]);
      const void* b[H];  // the step's B rows, 64 bytes a pair
      for (int h = 0; h < H; ++h) b[h] = decoded[h];
      for (int64_t block = 0; block < row_blocks; ++block) {
        float(&c)[4][kCTileValues] = sums[block];
        multiply_row_block<Tiles, H, true>(
            c, first, x_all + block * kAmxRowBlock * a.x_row_stride + before + i0,
            2 * a.x_row_stride, b, positions / k_step, 2 * k_step, k_step / 2);
        if (!last) continue;
        const int64_t row0 = block * kAmxRowBlock;
        for (int64_t r = 0; r < kAmxRowBlock && row0 + r < a.rows; ++r) {
          const int64_t row = row0 + r;
          const float x_scale =  // × 1 is exact
              a.x_scales ? a.x_scales[(row / kMixedTileRows * a.segments + s) * kMixedTileRows +
                                      row % kMixedTileRows]
                         : 1.f;
          for (int h = 0; h < H; ++h) {
            float* y = a.y + h * tile_values + row * kMixedTileN;
            const __m512 sum = _mm512_load_ps(c[2 * (r / 16) + h] + (r % 16) * kMixedTileN);
            _mm512_storeu_ps(
                y, _mm512_fmadd_ps(sum, _mm512_mul_ps(segment[h].scale, _mm512_set1_ps(x_scale)),
                                   _mm512_loadu_ps(y)));
          }
        }
      }
    }
    before += length;
  }
  Tiles::release();
}

// The chunk where the segments' scales fold into the codes (MixedTileArgs::fold_scales: NVFP4's
// segments of 16 positions, OCP MX's of 32): codes times scales are decoded into
// steps of kAmxStepPositions positions that run across segments, every row block multiplies a
// step with the tiles' whole K step (32, where every segment of 16 made chunk() take 16) and
// carries its C tiles to the next step, and y is written once, at the end — where chunk() ends
// every segment with an epilogue over every row. The products stay exact (code x scale is a bf16
// value), the sums fp32.
template <class Tiles, int H, int Bits, bool E4m3>
void chunk_folded(const MixedTileArgs& a) {
  int64_t k = 0;
  for (int64_t s = 0; s < a.segments; ++s) k += a.segment_lengths[s];
  const int k_step = k % 32 == 0 ? 32 : 16;  // divides every step: steps end at multiples of 256
  Tiles::configure(register_block_config(2 * k_step, k_step / 2));
  const __m512i table = bf16_value_table(a);
  const int64_t row_blocks = (a.rows + kAmxRowBlock - 1) / kAmxRowBlock;
  const auto* x_all = static_cast<const uint16_t*>(a.x);
  alignas(64) float sums[kRowBlocks][4][kCTileValues];
  alignas(64) uint16_t decoded[H][kAmxStepPositions * kMixedTileN];  // [pairs][16][2] bf16
  const uint8_t* p[H];
  for (int h = 0; h < H; ++h) p[h] = a.weights + h * a.tile_bytes;
  const void* b[H];
  for (int h = 0; h < H; ++h) b[h] = decoded[h];
  int64_t first = 0;   // K position of the step's first position
  int64_t filled = 0;  // positions of the step decoded
  const auto run_step = [&] {
    for (int64_t block = 0; block < row_blocks; ++block)
      multiply_row_block<Tiles, H, true>(
          sums[block], first == 0, x_all + block * kAmxRowBlock * a.x_row_stride + first,
          2 * a.x_row_stride, b, filled / k_step, 2 * k_step, k_step / 2);
    first += filled, filled = 0;
  };
  for (int64_t s = 0; s < a.segments; ++s) {
    const int64_t length = a.segment_lengths[s];
    Segment segment[H];
    for (int h = 0; h < H; ++h) segment[h] = next_segment<Bits>(a, p[h], length);
    for (int64_t i0 = 0; i0 < length;) {  // a segment longer than a step takes several
      if (filled == kAmxStepPositions) run_step();
      const int64_t room = kAmxStepPositions - filled;
      const int64_t positions = length - i0 < room ? length - i0 : room;
      for (int h = 0; h < H; ++h)
        decode_positions<Bits, E4m3, true>(a, segment[h].codes + i0 * kMixedTileN * Bits / 8,
                                           positions, table, segment[h],
                                           decoded[h] + filled * kMixedTileN);
      filled += positions, i0 += positions;
    }
  }
  if (filled > 0) run_step();
  for (int64_t row = 0; row < a.rows; ++row) {
    const float(&c)[4][kCTileValues] = sums[row / kAmxRowBlock];
    const int64_t r = row % kAmxRowBlock;
    for (int h = 0; h < H; ++h)
      _mm512_storeu_ps(a.y + h * a.rows * kMixedTileN + row * kMixedTileN,
                       _mm512_load_ps(c[2 * (r / 16) + h] + (r % 16) * kMixedTileN));
  }
  Tiles::release();
}

template <class Tiles, int H>
void run(const MixedTileArgs& a) {
  for_code_kind(a, [&](auto bits, auto e4m3) {
    if (a.fold_scales) return chunk_folded<Tiles, H, bits, e4m3>(a);
    chunk<Tiles, H, bits, e4m3>(a);
  });
}

}  // namespace

void mixed_precision_tile_amx(const MixedTileArgs& a) { run<AmxHardware, 1>(a); }
void mixed_precision_tile_pair_amx(const MixedTileArgs& a) { run<AmxHardware, 2>(a); }
void mixed_precision_tile_amx_model(const MixedTileArgs& a) { run<AmxModel, 1>(a); }
void mixed_precision_tile_pair_amx_model(const MixedTileArgs& a) { run<AmxModel, 2>(a); }

}  // namespace qlinear::cpu
