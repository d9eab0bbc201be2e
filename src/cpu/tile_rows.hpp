// How the vector tiles split rows into register blocks: the largest of 16, 8, 4, 2, 1 rows (up to
// MaxRows) that fits what is left, each a compile-time row count; and how a pair tile (two
// adjacent tiles in one call) falls back to its single tile.
// NOTES: for the files compiled with ISA flags; internal linkage, as avx512_decode.hpp explains.
#pragma once

#include <cstdint>
#include <type_traits>

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per ISA file

// Calls run(std::integral_constant<int, R>{}, first_row) over [0, rows).
template <int MaxRows, typename Run>
inline void for_row_blocks(int64_t rows, Run&& run) {
  static_assert(MaxRows == 16 || MaxRows == 8 || MaxRows == 2, "16, 8 or 2 rows at most");
  for (int64_t done = 0; done < rows;) {
    const int64_t left = rows - done;
    if constexpr (MaxRows == 16) {
      if (left >= 16) {
        run(std::integral_constant<int, 16>{}, done), done += 16;
        continue;
      }
    }
    if constexpr (MaxRows >= 8) {
      if (left >= 8) {
        run(std::integral_constant<int, 8>{}, done), done += 8;
        continue;
      }
      if (left >= 4) {
        run(std::integral_constant<int, 4>{}, done), done += 4;
        continue;
      }
    }
    if (left >= 2) {
      run(std::integral_constant<int, 2>{}, done), done += 2;
    } else {
      run(std::integral_constant<int, 1>{}, done), done += 1;
    }
  }
}

// A pair tile's call as two single-tile calls (Args: MixedTileArgs or Int8TileArgs, whose `y` is
// [2][rows][TileN] for a pair): what a chunk of one block of rows or fewer takes, since it streams
// the weights and sharing a broadcast of x between the tiles gains nothing there.
template <int TileN, typename Args, typename Single>
inline void run_pair_as_singles(const Args& a, Single&& single) {
  Args second = a;
  second.weights = a.weights + a.tile_bytes;
  second.y = a.y + a.rows * TileN;
  single(a);
  single(second);
}

}  // namespace
}  // namespace qlinear::cpu
