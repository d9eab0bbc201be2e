// The AMX tile instructions the _amx tiles use, behind one interface with two implementations:
//   AmxHardware  the instructions (ldtilecfg, tileloadd, tdpbusd, tdpbf16ps, tilestored, ...)
//   AmxModel     a scalar model of their architectural effect, written from the Intel SDM's
//                pseudocode (LDTILECFG, TILELOADD, TDPBUSD, TDPBF16PS), that also checks what the
//                hardware would fault on: a bad configuration, an unconfigured tile, operand
//                shapes that do not match, a destination that is also a source.
// Each _amx file instantiates its tile over both. The tests run the model everywhere (a CPU
// without AMX runs every _amx tile's packing, addressing and epilogue through it) and the
// hardware where the CPU has AMX, both against the reference.
//
// Tile numbers are template parameters because the instructions encode them as immediates.
// NOTES: only for files compiled with the _amx flags, and for the model's own test; internal
// linkage, as avx512_decode.hpp explains.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qlinear::cpu {
namespace {  // NOLINT(google-build-namespaces): one private copy per _amx file

// The 64 bytes ldtilecfg reads (palette 1: 8 tiles of up to 16 rows of up to 64 bytes).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;  // where an interrupted tileloadd resumes; 0 to start
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tile i (tiles 8-15 do not exist in palette 1)
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

inline constexpr int kAmxTiles = 8;
inline constexpr int kAmxMaxRows = 16;
inline constexpr int kAmxRowBytes = 64;

// NOTES: own asm rather than GCC's _tile_* macros, which paste the tile number into the
// instruction text (a template parameter would paste as its name) and give tileloadd no memory
// operand, so the compiler could move a store of the tile's source past it; "%c" prints the
// immediate tile number bare, and the loads and stores clobber memory.
struct AmxHardware {
  static void configure(const TileConfig& config) { asm volatile("ldtilecfg %0" ::"m"(config)); }
  // Returns the tile state to its initial (unconfigured) state, so that a thread that stops
  // using AMX does not carry 8 KiB of tile data through every context switch.
  static void release() { asm volatile("tilerelease" ::: "memory"); }
  template <int T>
  static void zero() {
    asm volatile("tilezero %%tmm%c0" ::"i"(T));
  }
  template <int T>
  static void load(const void* base, int64_t stride) {
    asm volatile("tileloadd (%0,%1,1), %%tmm%c2" ::"r"(base), "r"(stride), "i"(T) : "memory");
  }
  template <int T>
  static void store(void* base, int64_t stride) {
    asm volatile("tilestored %%tmm%c2, (%0,%1,1)" ::"r"(base), "r"(stride), "i"(T) : "memory");
  }
  // C[m][n] += Σ_k Σ_{t<4} u8(A[m][4k + t]) · s8(B[k][4n + t]), int32.
  template <int C, int A, int B>
  static void dpbusd() {
    asm volatile("tdpbusd %%tmm%c0, %%tmm%c1, %%tmm%c2" ::"i"(B), "i"(A), "i"(C));
  }
  // C[m][n] += A[m][2k]·B[k][2n] + A[m][2k + 1]·B[k][2n + 1] over k, bf16 pairs into fp32.
  template <int C, int A, int B>
  static void dpbf16ps() {
    asm volatile("tdpbf16ps %%tmm%c0, %%tmm%c1, %%tmm%c2" ::"i"(B), "i"(A), "i"(C));
  }
};

struct AmxModel {
  struct State {
    TileConfig config;
    bool configured = false;
    alignas(64) uint8_t tile[kAmxTiles][kAmxMaxRows * kAmxRowBytes];
  };
  // Tile registers are per thread, as the hardware's are.
  static State& state() {
    thread_local State s;
    return s;
  }

  // What the hardware would raise (#GP or #UD); the tiles run inside parallel_for, which takes
  // no exceptions, so a fault ends the process with the message, as the hardware's would.
  [[noreturn]] static void fault(const char* what, int tile) {
    std::fprintf(stderr, "AmxModel: %s (tile %d)\n", what, tile);
    std::abort();
  }

  static void configure(const TileConfig& config) {
    if (config.palette != 1) fault("ldtilecfg: palette other than 1", -1);
    if (config.start_row != 0) fault("ldtilecfg: start_row other than 0", -1);
    for (uint8_t b : config.reserved)
      if (b != 0) fault("ldtilecfg: reserved byte set", -1);
    for (int t = 0; t < 16; ++t) {
      const bool present = t < kAmxTiles;
      if (!present && (config.rows[t] != 0 || config.colsb[t] != 0))
        fault("ldtilecfg: palette 1 has 8 tiles", t);
      if (config.rows[t] > kAmxMaxRows || config.colsb[t] > kAmxRowBytes)
        fault("ldtilecfg: tile larger than 16 rows of 64 bytes", t);
      if ((config.rows[t] == 0) != (config.colsb[t] == 0))
        fault("ldtilecfg: rows and colsb must be both zero or both set", t);
    }
    State& s = state();
    s.config = config;
    s.configured = true;
    std::memset(s.tile, 0, sizeof s.tile);  // ldtilecfg zeroes the tile data
  }
  static void release() {
    State& s = state();
    s.configured = false;
    std::memset(s.tile, 0, sizeof s.tile);
  }

  static int rows(int t) { return state().config.rows[t]; }
  static int colsb(int t) { return state().config.colsb[t]; }
  static void require_configured(int t) {
    if (!state().configured || rows(t) == 0) fault("tile used before it is configured", t);
  }

  template <int T>
  static void zero() {
    require_configured(T);
    std::memset(state().tile[T], 0, sizeof state().tile[T]);
  }
  template <int T>
  static void load(const void* base, int64_t stride) {
    require_configured(T);
    uint8_t* tile = state().tile[T];
    std::memset(tile, 0, sizeof state().tile[T]);  // columns and rows past the shape read 0
    for (int r = 0; r < rows(T); ++r)
      std::memcpy(tile + r * kAmxRowBytes, static_cast<const uint8_t*>(base) + r * stride,
                  static_cast<size_t>(colsb(T)));
  }
  template <int T>
  static void store(void* base, int64_t stride) {
    require_configured(T);
    for (int r = 0; r < rows(T); ++r)
      std::memcpy(static_cast<uint8_t*>(base) + r * stride, state().tile[T] + r * kAmxRowBytes,
                  static_cast<size_t>(colsb(T)));
  }

  // The shape rules of the tile multiplies (#UD otherwise): C is rows(A) x colsb(B), A's row of
  // K dwords matches B's K rows, and the three tiles are distinct.
  template <int C, int A, int B>
  static void check_multiply() {
    static_assert(C != A && C != B && A != B, "tdp*: the three tiles must differ");
    require_configured(C), require_configured(A), require_configured(B);
    if (colsb(C) % 4 || colsb(A) % 4 || colsb(B) % 4) fault("tdp*: colsb not in dwords", C);
    if (rows(C) != rows(A)) fault("tdp*: rows(C) != rows(A)", C);
    if (colsb(C) != colsb(B)) fault("tdp*: colsb(C) != colsb(B)", C);
    if (colsb(A) / 4 != rows(B)) fault("tdp*: colsb(A) / 4 != rows(B)", C);
  }

  template <int C, int A, int B>
  static void dpbusd() {
    check_multiply<C, A, B>();
    const uint8_t* a = state().tile[A];
    const auto* b = reinterpret_cast<const int8_t*>(state().tile[B]);
    for (int m = 0; m < rows(C); ++m)
      for (int n = 0; n < colsb(C) / 4; ++n) {
        int32_t c;
        std::memcpy(&c, state().tile[C] + m * kAmxRowBytes + 4 * n, 4);
        auto sum = static_cast<uint32_t>(c);  // int32 arithmetic wraps, as the hardware's
        for (int k = 0; k < colsb(A) / 4; ++k)
          for (int t = 0; t < 4; ++t)
            sum += static_cast<uint32_t>(a[m * kAmxRowBytes + 4 * k + t] *
                                         b[k * kAmxRowBytes + 4 * n + t]);
        std::memcpy(state().tile[C] + m * kAmxRowBytes + 4 * n, &sum, 4);
      }
  }

  template <int C, int A, int B>
  static void dpbf16ps() {
    check_multiply<C, A, B>();
    // bf16 to fp32 with subnormal inputs as zero; fp32 results below the normal range flushed
    // to zero (the instruction ignores MXCSR: DAZ and FTZ always, round to nearest even).
    const auto value = [](const uint8_t* p) {
      uint16_t bits;
      std::memcpy(&bits, p, 2);
      const uint32_t wide = (bits & 0x7f80u) == 0 ? bits & 0x8000u : bits;
      float f;
      const uint32_t shifted = wide << 16;
      std::memcpy(&f, &shifted, 4);
      return f;
    };
    const auto flush = [](float f) { return std::fpclassify(f) == FP_SUBNORMAL ? 0.f * f : f; };
    const uint8_t* a = state().tile[A];
    const uint8_t* b = state().tile[B];
    for (int m = 0; m < rows(C); ++m)
      for (int n = 0; n < colsb(C) / 4; ++n) {
        float c;
        std::memcpy(&c, state().tile[C] + m * kAmxRowBytes + 4 * n, 4);
        for (int k = 0; k < colsb(A) / 4; ++k)
          for (int t = 0; t < 2; ++t)
            c = flush(c + value(a + m * kAmxRowBytes + 4 * k + 2 * t) *
                              value(b + k * kAmxRowBytes + 4 * n + 2 * t));
        std::memcpy(state().tile[C] + m * kAmxRowBytes + 4 * n, &c, 4);
      }
  }
};

// ---- the register block of the _amx tiles: a 2 x 2 block of C tiles over two A tiles (16 rows of
// x each) and one or two B tiles (16 columns of weights each):
//
//   tmm4 = x rows [r, r + 16) x K step      tmm6 = tile 0's weights, K step x 16 columns
//   tmm5 = x rows [r + 16, r + 32) x K step  tmm7 = tile 1's
//   tmm0 += tmm4 · tmm6    tmm1 += tmm4 · tmm7
//   tmm2 += tmm5 · tmm6    tmm3 += tmm5 · tmm7
//
// C tile c = 2 · half + h holds rows half · 16 .. of tile h, 16 x 16 sums of 4 bytes.
inline constexpr int kCTileValues = 16 * 16;

// C: 16 rows of 64 bytes; A: 16 rows of a_row_bytes (a K step of x); B: b_rows rows of 64 bytes.
inline TileConfig register_block_config(int a_row_bytes, int b_rows) {
  TileConfig config;
  for (int t = 0; t < kAmxTiles; ++t) {
    config.rows[t] = static_cast<uint8_t>(t < 6 ? 16 : b_rows);
    config.colsb[t] = static_cast<uint16_t>(t == 4 || t == 5 ? a_row_bytes : 64);
  }
  return config;
}

// The C tiles of H column tiles (1 or 2): zeroed, or loaded from / stored to c[4][16 x 16].
template <class Tiles, int H>
void zero_c() {
  Tiles::template zero<0>(), Tiles::template zero<2>();
  if constexpr (H == 2) Tiles::template zero<1>(), Tiles::template zero<3>();
}
template <class Tiles, int H, typename Sum>
void load_c(const Sum (&c)[4][kCTileValues]) {
  Tiles::template load<0>(c[0], 64), Tiles::template load<2>(c[2], 64);
  if constexpr (H == 2) Tiles::template load<1>(c[1], 64), Tiles::template load<3>(c[3], 64);
}
template <class Tiles, int H, typename Sum>
void store_c(Sum (&c)[4][kCTileValues]) {
  Tiles::template store<0>(c[0], 64), Tiles::template store<2>(c[2], 64);
  if constexpr (H == 2) Tiles::template store<1>(c[1], 64), Tiles::template store<3>(c[3], 64);
}

template <class Tiles, bool Bf16, int C, int A, int B>
void multiply() {
  if constexpr (Bf16)
    Tiles::template dpbf16ps<C, A, B>();
  else
    Tiles::template dpbusd<C, A, B>();
}

// The sums of one row block (32 rows of x) and H column tiles over `steps` K steps, into c: the C
// tiles start at zero (first) or from c; step s takes the A tiles from x + s · a_row_bytes (row r
// at + r · x_row_bytes) and B tile h from b[h] + s · b_rows · 64; tdpbf16ps (Bf16) or tdpbusd.
template <class Tiles, int H, bool Bf16, typename Sum>
void multiply_row_block(Sum (&c)[4][kCTileValues], bool first, const void* x, int64_t x_row_bytes,
                        const void* const (&b)[H], int64_t steps, int a_row_bytes, int b_rows) {
  if (first)
    zero_c<Tiles, H>();
  else
    load_c<Tiles, H>(c);
  for (int64_t s = 0; s < steps; ++s) {
    const auto* x_step = static_cast<const uint8_t*>(x) + s * a_row_bytes;
    Tiles::template load<4>(x_step, x_row_bytes);
    Tiles::template load<5>(x_step + 16 * x_row_bytes, x_row_bytes);
    Tiles::template load<6>(static_cast<const uint8_t*>(b[0]) + s * b_rows * 64, 64);
    multiply<Tiles, Bf16, 0, 4, 6>();
    multiply<Tiles, Bf16, 2, 5, 6>();
    if constexpr (H == 2) {
      Tiles::template load<7>(static_cast<const uint8_t*>(b[1]) + s * b_rows * 64, 64);
      multiply<Tiles, Bf16, 1, 4, 7>();
      multiply<Tiles, Bf16, 3, 5, 7>();
    }
  }
  store_c<Tiles, H>(c);
}

}  // namespace
}  // namespace qlinear::cpu
