// What every cpu driver shares: the ISA check, the loop over tiles of 16 output columns by blocks
// of 8 rows, and the epilogue that writes a tile's fp32 results to the output.
#pragma once

#include <cstdint>
#include <functional>

#include "qlinear/kernel.hpp"

namespace qlinear::cpu {

inline constexpr int64_t kTileN = 16;
inline constexpr int64_t kBlockRows = 8;

// Yes when `platform` is a CPU at ISA level `needed` or above; else why not.
Verdict runs_at(const Platform& platform, CpuIsa needed);
// Yes when `platform` is a CPU with AVX-512 and VNNI (vpdpbusd), BF16 or not: what the int8 tiles
// of the avx512_vnni level need. CPUs with VNNI but no BF16 (Cascade Lake, Ice Lake) are at the
// avx512 level and run them too.
Verdict runs_with_vnni(const Platform& platform);

// For an _amx kernel: its prepared weights serve the family's _avx512_vnni kernel too (its
// segments, padded for the AMX tiles' K step, are whole steps of the VNNI tiles), so that a
// composite plan of both holds one copy; else null (or `prepared` itself for `amx`).
std::shared_ptr<const PreparedWeights> amx_weights_for(
    const Kernel& amx, const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared);

// Calls body(tile, first_block, end_block) for every `width`-th tile of N (the first of the
// `width` tiles one call computes, 1 or 2) and every chunk of up to `chunk_blocks` blocks of
// kBlockRows rows: chunk after chunk, so that a chunk of x stays in cache while every tile (spread
// over the cores) passes over it.
void for_each_tile(
    int64_t tiles, int64_t width, int64_t blocks, int64_t chunk_blocks,
    const std::function<void(int64_t tile, int64_t first_block, int64_t end_block)>& body);

// Writes y[tiles][rows][kTileN] (one tile, or two adjacent ones) to out[row0 + r, col0 + j] for
// j < min(tiles · kTileN, N - col0), each value times row_scale[r] (when given) plus
// bias[col0 + j] (when defined), rounded once to out's type; by store_rows at the kernel's ISA
// level `isa` (the twins agree bit for bit).
void store_tile(CpuIsa isa, const float* y, int64_t tiles, const float* row_scale, int64_t row0,
                int64_t rows, int64_t col0, const TensorView& bias, const TensorView& out);

}  // namespace qlinear::cpu
