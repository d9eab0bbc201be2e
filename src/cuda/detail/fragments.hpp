// The packed weight layouts of the mixed-input pipeline (cuda/detail/mixed_input_mma_sm80.cuh):
// where each code of a 16-row tile of W sits in the 16-byte word a lane loads, where a lane's B
// fragment lies in the staged X, the W4A8 int4 -> int8 decode and the staged codes' padding. Host
// code and __host__
// __device__ functions, without CUDA headers, so that host tests (CI, no GPU) check them against
// the PTX ISA's fragment tables (tests/gpu/w4a8_int_mma_sm80_fragments_test.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

// Device code too where nvcc compiles the includer; plain host code for the C++ compiler.
#if defined(__CUDACC__)
#define QLINEAR_HOST_DEVICE __host__ __device__
#else
#define QLINEAR_HOST_DEVICE
#endif

namespace qlinear::cuda::detail {

constexpr int kRowsPerTile = 16;  // mma M

// K of a k-block: one 16-byte load per lane and tile covers 16 rows × block_k(bits) codes.
QLINEAR_HOST_DEVICE constexpr int block_k(int bits) { return 16 * 8 * 32 / (kRowsPerTile * bits); }

// For row tile t (16 rows) and k-block b, lane l holds 16 bytes = 4 words.
QLINEAR_HOST_DEVICE inline int64_t packed_word_index(int64_t tile, int64_t kblock, int64_t kblocks,
                                                     int lane, int word) {
  return ((tile * kblocks + kblock) * 32 + lane) * 4 + word;
}

// ---- the codes as stored ------------------------------------------------------------------------
// Reads the codes of W [n, k] as stored (4-bit: two a byte, low nibble first; 8-bit: one a byte)
// for the packers below, inline, on the host (the layouts' model, tested in CI) and on the GPU
// (cuda/pack_fragments.cu, where the weights are packed at load): code(row, kk) is the format's
// packed code (`pack`, one entry for each of the 2^bits codes) at packed position kk of the row —
// x's column order[kk] where an order is given (act order) — and `pad` past n or k. `stored` and
// `order` point into the memory of the side that reads them. (Decoding each code through
// load_code cost 11 ns; a byte array of all codes first costs its page faults instead: issue 17.)
struct StoredCodes {
  const uint8_t* stored;
  int bits;
  int64_t n, k;
  const int32_t* order;  // null: K in its own order
  uint8_t pack[256];
  uint8_t pad;

  QLINEAR_HOST_DEVICE uint32_t operator()(int64_t row, int64_t kk) const {
    if (row >= n || kk >= k) return pad;
    const int64_t i = row * k + (order == nullptr ? kk : order[kk]);
    return pack[bits == 8 ? stored[i] : (stored[i >> 1] >> ((i & 1) * 4)) & 0xfu];
  }
};

// StoredCodes over `stored`, with `pack` (2^bits entries) and `order` (empty: none) copied in /
// pointed to.
inline StoredCodes stored_codes(const uint8_t* stored, int bits, int64_t n, int64_t k,
                                std::span<const int32_t> order, std::span<const uint8_t> pack,
                                uint8_t pad) {
  StoredCodes code{stored, bits, n, k, order.empty() ? nullptr : order.data(), {}, pad};
  for (size_t c = 0; c < pack.size() && c < sizeof code.pack; ++c) code.pack[c] = pack[c];
  return code;
}

// ---- bf16 / fp16 activations: mma.sync m16n8k16 ------------------------------------------------
// The A fragment of lane l for one k16 step is 8 elements:
//   e0,e1 = (row l/4,     k 2(l%4) + {0,1})      -> register a0
//   e2,e3 = (row l/4 + 8, k 2(l%4) + {0,1})      -> register a1
//   e4,e5 = (row l/4,     k 2(l%4) + 8 + {0,1})  -> register a2
//   e6,e7 = (row l/4 + 8, k 2(l%4) + 8 + {0,1})  -> register a3
// 4-bit codes: word s holds step s at nibble slots [e0 e2 e4 e6 e1 e3 e5 e7], so that register p's
// pair sits at slots p and p + 4, one in each 16-bit half.
// 8-bit codes: words 2s and 2s + 1 hold step s as bytes [e0 e2 e1 e3] and [e4 e6 e5 e7]: registers
// a0 / a2 in bytes 0 and 2, a1 / a3 in bytes 1 and 3, again one element in each 16-bit half.
//
// The four words of lane `lane` in row tile t, k-block b (a k-block is four k16 steps of 4-bit
// codes, two of 8-bit ones). code(row, k) is the packed code of a position, for rows up to
// padded_n and K up to padded_k (the caller pads).
template <int kBits, typename Code>
QLINEAR_HOST_DEVICE void fragment_words(int64_t t, int64_t b, int lane, const Code& code,
                                        uint32_t (&words)[4]) {
  constexpr int kBlock = block_k(kBits);
  for (int s = 0; s < kBlock / 16; ++s) {
    const int64_t r0 = t * 16 + lane / 4, r1 = r0 + 8;
    const int64_t c0 = b * kBlock + s * 16 + 2 * (lane % 4), c1 = c0 + 8;
    const uint32_t e[8] = {code(r0, c0), code(r0, c0 + 1), code(r1, c0), code(r1, c0 + 1),
                           code(r0, c1), code(r0, c1 + 1), code(r1, c1), code(r1, c1 + 1)};
    if constexpr (kBits == 4) {
      uint32_t word = 0;
      for (int p = 0; p < 4; ++p) word |= (e[2 * p] << (4 * p)) | (e[2 * p + 1] << (4 * (p + 4)));
      words[s] = word;
    } else {
      for (int h = 0; h < 2; ++h)  // registers 2h (bytes 0, 2) and 2h + 1 (bytes 1, 3)
        words[2 * s + h] = e[4 * h] | e[4 * h + 2] << 8 | e[4 * h + 1] << 16 | e[4 * h + 3] << 24;
    }
  }
}

// ---- int8 activations (W4A8): mma.sync m16n8k32 .s8.s8.s32 --------------------------------------
// The A fragment of lane l for one k32 step is 4 registers of 4 int8 elements, byte j = element j
// (PTX ISA, "Matrix Fragments for mma.m16n8k32", .s8 A: a_i for i = 4p + j):
//   a0 = (row l/4,     k 4(l%4) + j)
//   a1 = (row l/4 + 8, k 4(l%4) + j)
//   a2 = (row l/4,     k 4(l%4) + 16 + j)
//   a3 = (row l/4 + 8, k 4(l%4) + 16 + j)
// 4-bit codes, a k-block of 64 = two steps: word 2s + h holds registers 2h (the low nibble of
// byte j is element j) and 2h + 1 (the high nibble), so byte j of a word holds one K position of
// rows l/4 and l/4 + 8 — one AND (or shift and AND) separates the two registers.
template <typename Code>
QLINEAR_HOST_DEVICE void fragment_words_s8(int64_t t, int64_t b, int lane, const Code& code,
                                           uint32_t (&words)[4]) {
  constexpr int kBlock = block_k(4);  // 64
  for (int s = 0; s < 2; ++s)
    for (int h = 0; h < 2; ++h) {
      const int64_t r0 = t * 16 + lane / 4, r1 = r0 + 8;
      const int64_t k0 = b * kBlock + s * 32 + h * 16 + 4 * (lane % 4);
      uint32_t word = 0;
      for (int j = 0; j < 4; ++j) word |= (code(r0, k0 + j) | code(r1, k0 + j) << 4) << (8 * j);
      words[2 * s + h] = word;
    }
}

// The layouts by the activations they feed: bf16 / fp16 (4- or 8-bit codes) or int8 / e4m3 codes.
enum class FragmentLayout { bits4, bits8, s8 };

QLINEAR_HOST_DEVICE constexpr int block_k(FragmentLayout layout) {
  return layout == FragmentLayout::bits8 ? block_k(8) : block_k(4);
}

template <typename Code>
QLINEAR_HOST_DEVICE void fragment_words(FragmentLayout layout, int64_t t, int64_t b, int lane,
                                        const Code& code, uint32_t (&words)[4]) {
  if (layout == FragmentLayout::s8)
    fragment_words_s8(t, b, lane, code, words);
  else if (layout == FragmentLayout::bits8)
    fragment_words<8>(t, b, lane, code, words);
  else
    fragment_words<4>(t, b, lane, code, words);
}

// Every word of W [padded_n, padded_k] in `layout`, on the host: the model the GPU's packer
// (cuda/pack_fragments.cu) is tested against.
template <typename Code>
std::vector<uint32_t> pack_fragments(FragmentLayout layout, int64_t padded_n, int64_t padded_k,
                                     const Code& code) {
  const int64_t tiles = padded_n / kRowsPerTile, kblocks = padded_k / block_k(layout);
  std::vector<uint32_t> packed(static_cast<size_t>(tiles * kblocks * 32 * 4));
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t b = 0; b < kblocks; ++b)
      for (int lane = 0; lane < 32; ++lane) {
        uint32_t words[4];
        fragment_words(layout, t, b, lane, code, words);
        for (int w = 0; w < 4; ++w) packed[packed_word_index(t, b, kblocks, lane, w)] = words[w];
      }
  return packed;
}

// ---- block scales, applied in the fragment -----------------------------------------------------
// The formats whose scales change inside a k-block or are applied to the weights there (nvfp4's
// e4m3 per 16; the MX formats' e8m0 per 32 where that is exact) hold `slots` bytes per row and
// k-block — one a scale group: nvfp4 4 (a k16 step each), mxfp4 2, mxfp8 1 — laid out so that one
// load of 2·slots bytes per tile and k-block gives a lane its two rows' bytes:
//   [tile][k-block][row quad q = lane / 4][half h][slot s] = byte_of(row 16·tile + q + 8h,
//                                                                   slot slots·k-block + s)
// The four lanes of a quad read the same bytes (one request).
inline int64_t block_scale_index(int64_t tile, int64_t kblock, int64_t kblocks, int quad, int half,
                                 int slot, int slots) {
  return (((tile * kblocks + kblock) * 8 + quad) * 2 + half) * slots + slot;
}

template <typename ByteOf>
std::vector<uint8_t> lay_out_block_scales(int64_t tiles, int64_t kblocks, int slots,
                                          ByteOf byte_of) {
  std::vector<uint8_t> bytes(static_cast<size_t>(tiles * kblocks * 8 * 2 * slots));
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t b = 0; b < kblocks; ++b)
      for (int q = 0; q < 8; ++q)
        for (int h = 0; h < 2; ++h)
          for (int s = 0; s < slots; ++s)
            bytes[block_scale_index(t, b, kblocks, q, h, s, slots)] =
                byte_of(t * kRowsPerTile + q + 8 * h, b * slots + s);
  return bytes;
}

// Four uint4b8 codes c, one in the low nibble of each byte (high nibbles ignored), to the int8
// values c - 8 in the same bytes, exactly: c + 0x78 stays within its byte (at most 0x87, no carry
// into the next), and flipping bit 7 then subtracts 0x80, leaving c - 8 in two's complement
// (0xf8 = -8 for c = 0, 0x07 for c = 15).
QLINEAR_HOST_DEVICE constexpr uint32_t s8_from_uint4b8(uint32_t nibbles) {
  return ((nibbles & 0x0f0f0f0fu) + 0x78787878u) ^ 0x80808080u;
}

// The four A registers of step s (0 or 1) of a k-block, from the lane's four words.
QLINEAR_HOST_DEVICE inline void s8_fragment(const uint32_t (&word)[4], int s, uint32_t (&a)[4]) {
  for (int h = 0; h < 2; ++h) {
    a[2 * h] = s8_from_uint4b8(word[2 * s + h]);
    a[2 * h + 1] = s8_from_uint4b8(word[2 * s + h] >> 4);
  }
}

// The first `bytes` bytes of a word (little-endian: the lowest first) as they are, the others
// zero; all four for bytes >= 4, none for bytes <= 0. Staging e4m3 codes, it clears the bytes past
// the K the quantizer wrote (cuda/detail/mixed_input_mma_sm80.cuh).
QLINEAR_HOST_DEVICE constexpr uint32_t keep_leading_bytes(uint32_t word, int bytes) {
  return bytes >= 4 ? word : bytes <= 0 ? 0u : word & ((1u << (8 * bytes)) - 1u);
}

// The largest K extent of one weight group whose int32 sum cannot overflow: every product of an
// int8 activation code (|q| <= 128) and an int4 weight value (|c - 8| <= 8) is at most 1024 in
// magnitude, and 2097151 · 1024 < 2^31.
constexpr int64_t kMaxS8GroupK = std::numeric_limits<int32_t>::max() / (128 * 8);

// ---- the B operand (X), either activation type -------------------------------------------------
// Register r (0 or 1) of lane l's B fragment holds kPerRegister consecutive K of token l/4 (as
// staged, [token][k]), starting at this K within the step: m16n8k16 bf16 / fp16 (2 a register,
// step 16): 2(l%4) and 2(l%4) + 8; m16n8k32 s8 (4 a register, step 32): 4(l%4) and 4(l%4) + 16.
QLINEAR_HOST_DEVICE constexpr int b_fragment_k(int lane, int r, int step_k, int per_register) {
  return per_register * (lane % 4) + r * step_k / 2;
}

}  // namespace qlinear::cuda::detail
