// The one pipeline of the mixed-input tensor-core kernels (w4a16_mma_sm80, w8a16_mma_sm80,
// mxfp8_weight_only_mma_sm80, mxfp4_weight_only_mma_sm80, nvfp4_weight_only_mma_sm80,
// w4a8_int_mma_sm80, w4a8_fp8_mma_sm89):
// low-bit weights × bf16/fp16 activations on mma.sync m16n8k16, or × activation codes on m16n8k32:
// int8 on .s8 (W4A8, sm_80 and later), e4m3 on .e4m3 (W4A8-FP8, sm_89 and later); built for decode.
// The weights are streamed once with 16-byte loads, several k-blocks in flight per thread, and the
// work is split over K so that even a 4096×4096 layer covers all SMs. What differs between the
// kernels is a weight-format policy, in each kernel's own file: how codes are packed into 16-byte
// words, how one word becomes exact A fragments, and what the group scales are.
//
// The product is computed transposed, Yᵀ = W·Xᵀ: a 16-row tile of W is the mma's A operand (m16)
// and up to 8 tokens of X its B operand (n8), so M = 1 is not a padded 64-row tile.
//
// Exactness: every format's policy dequantizes a code to a value that is exact in the operand type
// (bf16 and fp16, int8 or e4m3; see each file), so the mma multiplies exact weights by the given
// activations and accumulates in fp32 (int32 for int8 codes: exact). Group scales that are not
// exact in the activation type are applied in fp32 when a group's partial sum is folded into the
// accumulator, never by rounding the weight to bf16 — the error is that of an fp32 sum (see
// tolerance()). Int8 and e4m3 activations are quantized per token first (gpu/act_quant.hpp, the
// reference's codes bit for bit); the token's scale multiplies its fp32 sum once, at the end.
//
// Work partition (one warp = two 16-row tiles of W over one K slice; 8 warps a block):
//
//           K slice 0        K slice 1        ...      grid.y = slices
//        +----------------+----------------+
//  rows  | warp 0 (32 n)  |                |
//  0-255 | warp 1         |    block        |          grid.z = ceil(N / 256)
//        | ...            |    (t, 1, z)    |          grid.x = ceil(M / kTokens)
//        | warp 7         |                |
//        +----------------+----------------+
//
// Each slice writes fp32 partial sums [slice][m][n]; a second kernel (cuda/reduce_slices.hpp) adds
// the slices in a fixed order (deterministic), adds the bias and rounds to the output type once.
//
// A launch serves at most kMaxTokens tokens (the partial sums' scratch grows with M); larger calls
// run as launches over row chunks of kMaxTokens. This pipeline re-reads the weights per token
// block, so past a few dozen tokens other kernels win: the composite plans of the kernel list
// (src/core/heuristics_cuda.hpp) hand those calls to the dequantize-then-GEMM kernels.

// A format policy F (the struct in each kernel's file) provides:
//   kName, kFamily,        the kernel's name and family, and the weight types it accepts
//   kWeightTypes
//   kBits                  bits of one packed code: 4 or 8. A k-block is the K of one 16-byte
//                          load per lane and tile: 64 for 4-bit codes, 32 for 8-bit ones.
//   kBlockScales,          scales applied in the fragment ride beside the weights (nvfp4; the
//   kBlockScaleSlots       MX formats' where exact), kBlockScaleSlots bytes a row and k-block in
//                          the layout of cuda/detail/fragments.hpp, see Problem
//   Offset<T>, offset<T>() what dequantization subtracts per row and group, made from the zero
//                          point (or kZero where the weights have none)
//   scale(scales, i)       the fp32 group scale at index i of Problem::scales
//   fragment<T>(...)       the four A-fragment registers of one mma step (k16, or k32 for codes),
//                          from the k-block's words
//   kPadCode, pack_code()  host: the packed code of value 0 (padding), a canonical code as packed
//   prepare_scales()       host: the scales (and zero points) in the kernel's layout
//   Codes                  optional, absent for bf16 / fp16 activations as given: the type the
//                          activations are quantized to per token (int8_t: m16n8k32 .s8;
//                          __nv_fp8_e4m3: m16n8k32 .e4m3), 4-bit weights only (fragment_words_s8)
//   Folds, fragment_scales optional (the MX formats): F applies the scales in the fragment as
//                          block scales where fragment_scales() says that is exact for a layer;
//                          a layer it refuses runs the policy Folds, which folds them per group
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/scale_values.hpp"
#include "cuda/detail/fragments.hpp"
#include "cuda/detail/mixed_input_prepared.hpp"
#include "cuda/detail/scale_decoders.cuh"
#include "cuda/pack_fragments.hpp"
#include "cuda/reduce_slices.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/dependent_launch.cuh"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::cuda::detail {

constexpr int kTilesPerWarp = 2;  // one B fragment of X serves two tiles of W
constexpr int kWarps = 8;         // warps a block
constexpr int kRowsPerBlock = kRowsPerTile * kTilesPerWarp * kWarps;
constexpr int kPrefetch = 4;      // k-blocks of each tile in flight (4 KB a warp)
constexpr int kStageLoads = 4;    // loads in flight per thread staging X
constexpr int kMaxTokens = 1024;  // tokens of one launch; larger calls run in row chunks
// E4m3 codes: the most K between two folds of a group's sum into the fp32 accumulator (the FP8
// tensor cores accumulate with fewer bits than fp32, see tolerance()).
constexpr int kFp8FoldK = 128;

template <typename F>
constexpr int kBlockK = block_k(F::kBits);

// The activation codes format F multiplies (F::Codes: int8_t or __nv_fp8_e4m3), or void for bf16 /
// fp16 activations as given (the weight-only formats, which do not declare it).
template <typename F>
struct CodesOf {
  using type = void;
};
template <typename F>
requires requires { typename F::Codes; }
struct CodesOf<F> {
  using type = typename F::Codes;
};
template <typename F>
using Codes = typename CodesOf<F>::type;
template <typename F>
constexpr bool kQuantizedActivations = !std::is_void_v<Codes<F>>;
template <typename F>
constexpr bool kFp8Activations = std::is_same_v<Codes<F>, __nv_fp8_e4m3>;

// Format F applies its scales in the fragment for the layers F::fragment_scales admits and hands
// the others to the folding policy F::Folds (same packed words, same kernel name).
template <typename F>
constexpr bool kHasFolds = requires {
  typename F::Folds;
};

// The bytes of block scales a lane loads per tile and k-block (its two rows' slots), 0 for formats
// without them.
template <typename F>
constexpr int block_scale_lane_bytes() {
  if constexpr (F::kBlockScales)
    return 2 * F::kBlockScaleSlots;
  else
    return 0;
}

// The packed weight layouts (cuda/detail/fragments.hpp): fragment_words for bf16 / fp16
// activations, fragment_words_s8 for activation codes (int8 and e4m3 share the m16n8k32 layout).

// ---- device helpers -----------------------------------------------------------------------------

template <typename T>
struct Act;
template <>
struct Act<__nv_bfloat16> {
  using Pair = __nv_bfloat162;
  static __device__ Pair pair(float lo, float hi) { return __floats2bfloat162_rn(lo, hi); }
};
template <>
struct Act<__half> {
  using Pair = __half2;
  static __device__ Pair pair(float lo, float hi) { return __floats2half2_rn(lo, hi); }
};

// A register pair of T seen as its bits, and back.
template <typename T>
__device__ uint32_t bits_of(typename Act<T>::Pair v) {
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <typename T>
__device__ typename Act<T>::Pair pair_of(uint32_t bits) {
  return *reinterpret_cast<const typename Act<T>::Pair*>(&bits);
}

// The activation operand, as staged in shared memory and multiplied: bf16 / fp16 as given
// (mma.sync m16n8k16, fp32 accumulators), int8 codes (m16n8k32 .s8, int32 accumulators: exact) or
// e4m3 codes (m16n8k32 .e4m3, fp32 accumulators).
//   Acc                  the accumulator type
//   kStepK               K of one mma
//   mma(d, a, b0, b1)    d += A·B for one step: a the four A registers, b0 / b1 the two B ones
template <typename T>
struct Operand {
  using Acc = float;
  static constexpr int kStepK = 16;
  static __device__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
          "{%8,%9}, {%0,%1,%2,%3};\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
          "{%8,%9}, {%0,%1,%2,%3};\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
  }
};
template <>
struct Operand<int8_t> {
  using Acc = int32_t;
  static constexpr int kStepK = 32;
  // No .satfinite: the sums cannot overflow (can_implement bounds a group's K by kMaxS8GroupK).
  static __device__ void mma(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};
template <>
struct Operand<__nv_fp8_e4m3> {
  using Acc = float;
  static constexpr int kStepK = 32;
  // FP8 mma.sync exists from sm_89 on; the sm_80 build never launches this (supported()).
  static __device__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();
#endif
  }
};

// Weights are read once: keep them out of L1.
__device__ inline uint4 load_streaming(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}
// Block scales (nvfp4's, the MX formats' in the fragment) are fetched into L1 as far ahead as the
// weights, but with no register held meanwhile (holding them spilled the 8-token kernel past its
// 128 registers), and read from L1 when their k-block is dequantized.
__device__ inline void prefetch_l1(const void* p) {
  asm volatile("prefetch.global.L1 [%0];\n" : : "l"(p));
}

// A lane's block scales of one tile and k-block: kBytes (8, 4 or 2) at p, aligned to kBytes, in
// the low bytes of a uint2.
template <int kBytes>
__device__ inline uint2 load_block_scales(const uint8_t* p) {
  static_assert(kBytes == 8 || kBytes == 4 || kBytes == 2, "two rows of 4, 2 or 1 slots");
  if constexpr (kBytes == 8)
    return __ldg(reinterpret_cast<const uint2*>(p));
  else if constexpr (kBytes == 4)
    return make_uint2(__ldg(reinterpret_cast<const unsigned int*>(p)), 0u);
  else
    return make_uint2(__ldg(reinterpret_cast<const unsigned short*>(p)), 0u);
}

// The part of a format policy for weights without zero points or integer offsets (the float
// formats): nothing is kept per group but the scale.
struct NoOffsets {
  static constexpr float kZero = 0.f;
  struct None {};
  template <typename T>
  using Offset = None;
  template <typename T>
  static __device__ None offset(float) {
    return {};
  }
};

struct Problem {
  const uint4* weights;         // packed, see above
  const void* scales;           // [padded_n, groups], read through F::scale
  const uint8_t* zeros;         // [padded_n, groups] zero points, or null (F::kZero)
  const uint8_t* block_scales;  // F::kBlockScales: [tiles][kblocks][8 row quads][2 rows][slots]
  const int32_t* k_order;       // [K] act-order permutation (x column of each packed k) or null
  const void* x;                // [M, k]: the activations, or their codes
  bool x_vectors;               // x may be staged with 16-byte loads
  const float* token_scales;    // codes: [M] the scale of each token's codes, else null
  float* partials;              // [slices, m, n]
  int m, n, k, padded_k;        // m: tokens of this launch; k: x's row length (codes: padded_k)
  int codes_k;                  // codes: the K the quantizer wrote; bytes past it are the pool's
  int group_size;  // in K: kBlockK / 2 or a multiple of kBlockK; padded_k for one group
  int groups;
  int slice_k;  // multiple of kBlockK
  int kblocks;  // padded_k / kBlockK
};

// One block: 8 warps × 2 row tiles × one K slice × kTokens (8, 16 or 32) tokens.
template <typename F, typename T, int kTokens>
__global__ void __launch_bounds__(kWarps * 32, kTokens == 8 ? 2 : 1)
    mixed_input_mma_kernel(Problem p) {
  using Acc = typename Operand<T>::Acc;
  constexpr int kBlock = kBlockK<F>;
  constexpr int kStepK = Operand<T>::kStepK;
  constexpr int kSteps = kBlock / kStepK;  // mma steps of a k-block
  constexpr int kTokenTiles = kTokens / 8;
  constexpr int kVector = 16 / sizeof(T);      // elements of X a 16-byte load stages
  constexpr int kPerRegister = 4 / sizeof(T);  // elements of X a B register holds
  constexpr bool kCodes = kQuantizedActivations<F>;
  static_assert(std::is_same_v<T, Codes<F>> != !kCodes && (!kCodes || F::kBits == 4),
                "code operands exactly for formats of quantized activations, with 4-bit weights "
                "(fragment_words_s8)");
  // K of X staged at a time: as much as fits the 48 KB of static shared memory (32 KB of X), in
  // whole rounds of the weight pipeline (kPrefetch k-blocks).
  constexpr int kChunkK = (kTokens == 8 ? 4096 : kTokens == 16 ? 2048 : 1024) / sizeof(T);
  static_assert(kChunkK % (kPrefetch * kBlock) == 0, "a chunk holds whole rounds of the pipeline");
  // X chunk in shared memory: [kTokens][kChunkK + kVector] — the pad shifts each token row by 16
  // bytes so the B-fragment loads of 8 tokens × 4 lanes hit 32 different banks.
  constexpr int kRowStride = kChunkK + kVector;
  static_assert(kTokens * kRowStride * sizeof(T) <= 48 * 1024,
                "X's chunk must fit static shared memory");
  __shared__ __align__(16) uint8_t sx_bytes[kTokens * kRowStride * sizeof(T)];
  T* sx = reinterpret_cast<T*>(sx_bytes);

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int k_begin = blockIdx.y * p.slice_k;
  const int k_len = min(p.slice_k, p.padded_k - k_begin);
  const int kb_count = k_len / kBlock;
  const int m0 = blockIdx.x * kTokens;
  const T* x = static_cast<const T*>(p.x);

  const int first_tile = (blockIdx.z * kWarps + warp) * kTilesPerWarp;
  const bool active = first_tile * kRowsPerTile < p.n;  // idle warps still take part in staging X
  // Rows lane/4 and lane/4 + 8 of each tile: the rows of this lane's A-fragment halves.
  int row[kTilesPerWarp][2];
  const uint4* w[kTilesPerWarp];
  constexpr int kLaneScaleBytes = block_scale_lane_bytes<F>();
  const uint8_t* bs[kTilesPerWarp];  // F::kBlockScales only
#pragma unroll
  for (int t = 0; t < kTilesPerWarp; ++t) {
    row[t][0] = (first_tile + t) * kRowsPerTile + lane / 4;
    row[t][1] = row[t][0] + 8;
    const int64_t block = static_cast<int64_t>(first_tile + t) * p.kblocks + k_begin / kBlock;
    w[t] = p.weights + block * 32 + lane;
    if constexpr (F::kBlockScales)
      bs[t] = p.block_scales + (block * 8 + lane / 4) * kLaneScaleBytes;
  }

  float acc[kTilesPerWarp][kTokenTiles][4] = {};      // Σ over folded groups, scales applied
  Acc group_acc[kTilesPerWarp][kTokenTiles][4] = {};  // the current group's sum, unscaled

  // Scales and zero points of the current group, and of the next one, loaded a group ahead so
  // that a fold never waits on memory. K padding past the last group reuses its values: the padded
  // weights are zero.
  float scale[kTilesPerWarp][2], next_scale[kTilesPerWarp][2], next_zero[kTilesPerWarp][2];
  typename F::template Offset<T> offset[kTilesPerWarp][2];
  const auto load_next = [&](int k) {
    const int g = min(k / p.group_size, p.groups - 1);
#pragma unroll
    for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        next_scale[t][h] = F::scale(p.scales, row[t][h] * p.groups + g);
        next_zero[t][h] = p.zeros ? p.zeros[row[t][h] * p.groups + g] : F::kZero;
      }
  };
  const auto enter_group = [&](int k) {  // k: first K position of the group entered
#pragma unroll
    for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        scale[t][h] = next_scale[t][h];
        offset[t][h] = F::template offset<T>(next_zero[t][h]);
      }
    load_next(k + p.group_size);
  };
  const auto fold = [&] {
#pragma unroll
    for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
      for (int j = 0; j < kTokenTiles; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          acc[t][j][r] += scale[t][r / 2] * static_cast<float>(group_acc[t][j][r]);
          group_acc[t][j][r] = 0;
        }
  };
  // Groups of half a k-block end twice in every k-block; larger groups (multiples of kBlock) end on
  // a k-block boundary, counted down here (the slice may start inside a group). Block-scaled
  // formats apply their scales inside the k-block and fold once, at the end, by the row's one
  // (global) scale: no group state is live in their main loop.
  constexpr bool kGroupFolds = !F::kBlockScales;
  const bool half_block_groups = p.group_size == kBlock / 2;
  int kblocks_left = (p.group_size - k_begin % p.group_size) / kBlock;

  // Weight pipeline: kPrefetch k-blocks of each tile in flight; slot i holds k-block i mod
  // kPrefetch.
  uint4 in_flight[kTilesPerWarp][kPrefetch];
  const auto fetch = [&](int t, int slot, int kb) {
    in_flight[t][slot] = load_streaming(w[t] + kb * 32);
    if constexpr (F::kBlockScales) prefetch_l1(bs[t] + kb * 8 * kLaneScaleBytes);
  };
  if (active) {
    if constexpr (kGroupFolds) {
      load_next(k_begin);
      enter_group(k_begin);
    }
#pragma unroll
    for (int i = 0; i < kPrefetch; ++i)
#pragma unroll
      for (int t = 0; t < kTilesPerWarp; ++t)
        if (i < kb_count) fetch(t, i, i);
  }
  // Launched as a dependent (sm_90): the weights and scales above are no kernel's output; x, its
  // codes, their scales and the partial sums' scratch may be the previous kernel's.
  wait_for_previous_grid();

  for (int chunk = 0; chunk < k_len; chunk += kChunkK) {
    const int chunk_len = min(kChunkK, k_len - chunk);
    // Stage X[m0 .. m0 + kTokens) × this chunk of K, zero-padded, in act order if any: each
    // thread issues kStageLoads loads before it stores any, so a chunk costs one memory latency,
    // not one per element; rows past M are zero-filled without loading.
    __syncthreads();
    // 16-byte loads: bf16 / fp16 with K % 8 == 0, no act order and x 16-byte aligned; codes
    // always (rows of padded_k bytes, from the pool).
    if (kCodes || p.x_vectors) {
      const int per_row = chunk_len / kVector, total = kTokens * per_row;
      for (int base = threadIdx.x; base < total; base += kStageLoads * blockDim.x) {
        uint4 v[kStageLoads];
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x, t = i / per_row, kk = (i % per_row) * kVector;
          const int m = m0 + t, k = k_begin + chunk + kk;
          v[u] = make_uint4(0, 0, 0, 0);
          if (i < total && m < p.m && k < p.k)
            v[u] = *reinterpret_cast<const uint4*>(x + static_cast<int64_t>(m) * p.k + k);
          // The pool's bytes past K: an integer code times the zero weight there is 0 whatever
          // the byte, but an e4m3 byte may be NaN, and NaN · 0 is NaN.
          if constexpr (kFp8Activations<F>) {
            const int valid = p.codes_k - k;
            v[u] = make_uint4(
                keep_leading_bytes(v[u].x, valid), keep_leading_bytes(v[u].y, valid - 4),
                keep_leading_bytes(v[u].z, valid - 8), keep_leading_bytes(v[u].w, valid - 12));
          }
        }
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x, t = i / per_row, kk = (i % per_row) * kVector;
          if (i < total) *reinterpret_cast<uint4*>(sx + t * kRowStride + kk) = v[u];
        }
      }
    } else {
      const int total = kTokens * chunk_len;
      for (int base = threadIdx.x; base < total; base += kStageLoads * blockDim.x) {
        T v[kStageLoads];
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x, t = i / chunk_len, kk = i % chunk_len;
          const int m = m0 + t, k = k_begin + chunk + kk;
          v[u] = T(0.f);
          if (i < total && m < p.m && k < p.k)
            v[u] = x[static_cast<int64_t>(m) * p.k + (p.k_order ? p.k_order[k] : k)];
        }
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x;
          if (i < total) sx[(i / chunk_len) * kRowStride + i % chunk_len] = v[u];
        }
      }
    }
    __syncthreads();
    if (!active) continue;

    // Main loop: dequantize each tile's 16-byte word into A fragments; one B fragment of X from
    // shared memory serves both tiles.
    const int kb_first = chunk / kBlock, kb_last = kb_first + chunk_len / kBlock;
    for (int kb = kb_first; kb < kb_last; kb += kPrefetch) {
#pragma unroll
      for (int i = 0; i < kPrefetch; ++i) {
        if (kb + i >= kb_last) break;
        uint32_t word[kTilesPerWarp][4];
        uint2 block_scales[kTilesPerWarp] = {};
#pragma unroll
        for (int t = 0; t < kTilesPerWarp; ++t) {
          const uint4 words = in_flight[t][i];
          word[t][0] = words.x, word[t][1] = words.y, word[t][2] = words.z, word[t][3] = words.w;
          if constexpr (F::kBlockScales)
            block_scales[t] =
                load_block_scales<kLaneScaleBytes>(bs[t] + (kb + i) * 8 * kLaneScaleBytes);
          if (kb + i + kPrefetch < kb_count) fetch(t, i, kb + i + kPrefetch);
        }
        const int k_block = (kb + i - kb_first) * kBlock;  // within the chunk
#pragma unroll
        for (int s = 0; s < kSteps; ++s) {
          uint32_t b[kTokenTiles][2];
#pragma unroll
          for (int j = 0; j < kTokenTiles; ++j) {
            const T* src = sx + (j * 8 + lane / 4) * kRowStride + k_block + s * kStepK;
#pragma unroll
            for (int r = 0; r < 2; ++r)
              b[j][r] = *reinterpret_cast<const uint32_t*>(
                  src + b_fragment_k(lane, r, kStepK, kPerRegister));
          }
#pragma unroll
          for (int t = 0; t < kTilesPerWarp; ++t) {
            uint32_t a[4];
            F::template fragment<T>(word[t], s, offset[t], block_scales[t], a);
#pragma unroll
            for (int j = 0; j < kTokenTiles; ++j)
              Operand<T>::mma(group_acc[t][j], a, b[j][0], b[j][1]);
          }
          if (kGroupFolds && half_block_groups && s % (kSteps / 2) == kSteps / 2 - 1) {
            fold();
            enter_group(k_begin + chunk + k_block + (s + 1) * kStepK);
          }
        }
        if (kGroupFolds && !half_block_groups && --kblocks_left == 0) {
          fold();
          enter_group(k_begin + chunk + k_block + kBlock);
          kblocks_left = p.group_size / kBlock;
        }
      }
    }
  }
  // The slice reduction (or the next layer) may start its launch: it waits for these sums.
  allow_dependent_launch();
  if (!active) return;
  if constexpr (!kGroupFolds) {
    load_next(k_begin);
    enter_group(k_begin);
  }
  fold();

  // Partial sums: register r of token tile j is (row lane/4 + 8·(r/2), token 2·(lane%4) + r%2)
  // (the accumulator layout of both mma shapes); codes' sums times their token's scale.
  float* out = p.partials + static_cast<int64_t>(blockIdx.y) * p.m * p.n;
#pragma unroll
  for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
    for (int j = 0; j < kTokenTiles; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int n = row[t][r / 2];
        const int m = m0 + j * 8 + 2 * (lane % 4) + r % 2;
        if (m < p.m && n < p.n) {
          float y = acc[t][j][r];
          if constexpr (kCodes) y *= p.token_scales[m];
          out[static_cast<int64_t>(m) * p.n + n] = y;
        }
      }
}

// ---- host side ----------------------------------------------------------------------------------

template <typename T>
Tensor to_device(const std::vector<T>& host, ScalarType dtype, Device device) {
  Tensor t = Tensor::empty(dtype, {static_cast<int64_t>(host.size())}, device);
  copy_bytes(t,
             TensorView(const_cast<T*>(host.data()), dtype, {static_cast<int64_t>(host.size())}));
  return t;
}

// The group scales of the integer formats: fp32 [padded_n, groups] and, with zero points, their
// codes as uint8 (padding rows: scale 0, zero point `pad_zero`).
inline void integer_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                           uint8_t pad_zero, Device device, Prepared& out) {
  const int64_t n = c.part_n(), groups = c.weight_scale_shape()[1];
  std::vector<float> scale_f32 = values_as_fp32(Tensor::copy_of(w.weight_scale, Device::cpu()));
  scale_f32.resize(static_cast<size_t>(padded_n * groups), 0.f);
  std::vector<uint8_t> zeros(c.zero_points ? static_cast<size_t>(padded_n * groups) : 0, pad_zero);
  if (c.zero_points) {
    const Tensor zero_codes = Tensor::copy_of(w.weight_zero_point, Device::cpu());
    for (int64_t i = 0; i < n * groups; ++i)
      zeros[i] = static_cast<uint8_t>(load_code(zero_codes, i));
  }
  out.scales = to_device(scale_f32, ScalarType::fp32, device);
  if (c.zero_points) out.zeros = to_device(zeros, ScalarType::uint8, device);
  out.groups = static_cast<int>(groups);
  out.group_size =
      static_cast<int>(c.weight_scale == Granularity::per_group ? c.group_size : out.padded_k);
}

// The scales of the integer formats as a part of their policy (as E8m0GroupScales is of the MX
// formats'): integer_scales at load, one fp32 read a group in the kernels; padding rows take the
// zero point kPadZero, the format's code of value 0.
template <uint8_t kPadZero>
struct IntegerGroupScales : Fp32Scales {
  static void prepare_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                             Device device, Prepared& out) {
    integer_scales(c, w, padded_n, kPadZero, device, out);
  }
};

// The kernel of format F: its name, family and weight types come from F (F::kName, F::kFamily,
// F::kWeightTypes); everything else is the pipeline's.
template <typename F>
class MixedInputMmaSm80 final : public Kernel {
 public:
  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda) return Verdict::no("a CUDA kernel");
    const int needs = kFp8Activations<F> ? 89 : 80;
    if (platform.compute_capability < needs)
      return Verdict::no(cat("needs compute capability ", needs / 10, ".", needs % 10,
                             " or newer (",
                             kFp8Activations<F>         ? "e4m3 mma.sync m16n8k32"
                             : kQuantizedActivations<F> ? "s8 mma.sync m16n8k32"
                                                        : "bf16 mma.sync",
                             "); this is ", platform.str()));
    return Verdict::yes();
  }

  Verdict can_implement(const LayerConfig& c) const override {
    constexpr int kBlock = kBlockK<F>;
    if (std::find(std::begin(F::kWeightTypes), std::end(F::kWeightTypes), c.weight_type) ==
        std::end(F::kWeightTypes)) {
      std::string accepted;
      for (ScalarType type : F::kWeightTypes)
        accepted += cat(accepted.empty() ? "" : ", ", qlinear::name(type));
      return Verdict::no(cat("weight_type (", qlinear::name(c.weight_type),
                             ") not supported; supported: ", accepted));
    }
    // Codes are quantized from any activation type the family admits (bf16, fp16, fp32).
    if (!kQuantizedActivations<F> && c.act_type != ScalarType::bf16 &&
        c.act_type != ScalarType::fp16)
      return Verdict::no(
          cat("act_type (", qlinear::name(c.act_type), ") not supported; supported: bf16, fp16"));
    if constexpr (kQuantizedActivations<F>) {
      // One fp32 scale per token (Problem::token_scales), symmetric codes.
      if (c.act_scale != Granularity::per_token || c.act_scale_static || c.act_zero_points)
        return Verdict::no(cat("activation scales (", qlinear::name(c.act_scale),
                               c.act_scale_static ? " static" : " dynamic",
                               c.act_zero_points ? " with zero points" : "",
                               ") not supported; supported: per_token dynamic, symmetric"));
      // A group's products are summed in int32 (exact), at most kMaxS8GroupK of them.
      const int64_t group_k = c.weight_scale == Granularity::per_group ? c.group_size : c.part_k();
      if (std::is_same_v<Codes<F>, int8_t> && group_k > kMaxS8GroupK)
        return Verdict::no(cat(c.weight_scale == Granularity::per_group ? "group_size" : "K", " (",
                               group_k,
                               ") not supported: a weight group's int32 sum of int8 x "
                               "int4 products could overflow; supported: up to ",
                               kMaxS8GroupK));
      // Per channel, the one scale is folded every kFp8FoldK (F::prepare_scales); a group is
      // folded once, at its end.
      if (kFp8Activations<F> && c.weight_scale == Granularity::per_group &&
          c.group_size > kFp8FoldK)
        return Verdict::no(cat("group_size (", c.group_size,
                               ") not supported: the FP8 tensor "
                               "cores accumulate a group with fewer bits than fp32; supported: up "
                               "to ",
                               kFp8FoldK));
    }
    // Block-scaled formats apply their scales inside the k-block; only the others fold per group.
    constexpr bool kMayFold = !F::kBlockScales || kHasFolds<F>;
    if (kMayFold && c.weight_scale == Granularity::per_group && c.group_size != kBlock / 2 &&
        c.group_size % kBlock != 0)
      return Verdict::no(cat("group_size (", c.group_size, ") not supported; supported: ",
                             kBlock / 2, " and multiples of ", kBlock));
    if (c.act_order && c.part_k() != c.k)
      return Verdict::no(cat("act order on a row-split partition (K ", c.part_k(), " of ", c.k,
                             ") not supported: its groups are not whole, contiguous runs of K"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    constexpr int kBlock = kBlockK<F>;
    const int64_t n = c.part_n(), k = c.part_k();
    const int64_t padded_n = round_up(n, kRowsPerBlock), padded_k = round_up(k, kBlock);

    // Act order: visit K sorted by group so that each group is contiguous.
    std::vector<int32_t> order;
    if (c.act_order) {
      const Tensor g_idx = Tensor::copy_of(w.g_idx, Device::cpu());
      const auto* g = g_idx.data_as<const int32_t>();
      order.resize(static_cast<size_t>(k));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return g[a] < g[b]; });
      for (int64_t i = 0; i < k; ++i)
        require(g[order[i]] == i / c.group_size, "g_idx: group ", i / c.group_size,
                " does not hold exactly ", c.group_size, " K positions; ", name(),
                " needs every act-order group to be full");
    }

    auto prepared = std::make_shared<Prepared>(c);
    prepared->padded_k = static_cast<int>(padded_k);
    prepared->kblocks = static_cast<int>(padded_k / kBlock);
    // The format's packed code of each code, looked up as the packers place them.
    const int bits = static_cast<int>(qlinear::info(c.weight_type).bits);
    std::vector<uint8_t> pack(size_t{1} << bits);
    for (uint32_t code = 0; code < pack.size(); ++code)
      pack[code] = static_cast<uint8_t>(F::pack_code(c, code));
    // Packed on the GPU, from the codes where they lie (staged there first if they are not).
    const Tensor staged = w.weight.device() == device && w.weight.is_contiguous()
                              ? Tensor()
                              : Tensor::copy_of(w.weight, device);
    const Tensor order_on_device =
        c.act_order ? to_device(order, ScalarType::int32, device) : Tensor();
    const StoredCodes code = stored_codes(
        static_cast<const uint8_t*>(staged.defined() ? staged.data() : w.weight.data()), bits, n, k,
        {order_on_device.data_as<const int32_t>(), order.size()}, pack,
        static_cast<uint8_t>(F::kPadCode));
    constexpr FragmentLayout kLayout = kQuantizedActivations<F> ? FragmentLayout::s8
                                       : F::kBits == 4          ? FragmentLayout::bits4
                                                                : FragmentLayout::bits8;
    prepared->weights = pack_fragments_on(device, kLayout, padded_n, padded_k, code);
    if constexpr (kHasFolds<F>) {
      if (const auto bytes = F::fragment_scales(c, w, padded_n / kRowsPerTile, prepared->kblocks)) {
        // One "group" a row, the whole of K, of scale 1 (F::scale): the fragment applies them.
        prepared->block_scales = to_device(*bytes, ScalarType::uint8, device);
        prepared->groups = 1;
        prepared->group_size = prepared->padded_k;
      } else {
        F::Folds::prepare_scales(c, w, padded_n, device, *prepared);
        prepared->folds = true;
      }
    } else {
      F::prepare_scales(c, w, padded_n, device, *prepared);
    }
    if (c.act_order) prepared->k_order = order_on_device;
    return prepared;
  }

  void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override {
    const auto& w = static_cast<const Prepared&>(weights);
    const LayerConfig& c = w.config();
    auto s = static_cast<cudaStream_t>(stream.handle);
    DeviceGuard guard(x.device().index);
    const int64_t n = c.part_n(), k = c.part_k();
    for (int64_t row = 0; row < x.rows(); row += kMaxTokens) {
      const int64_t rows = std::min<int64_t>(kMaxTokens, x.rows() - row);
      const auto chunk = [&](const TensorView& t, int64_t width) {
        return TensorView(static_cast<char*>(t.data()) + storage_bytes(t.dtype(), row * width),
                          t.dtype(), {rows, width}, t.device());
      };
      launch_rows(w, chunk(x, k), bias, chunk(out, n), s);
    }
  }

  // Exact weights and activations, fp32 accumulation in the tensor cores and in the group folds
  // (allowing twice the plain bound for the tensor cores' accumulation), one rounding to the
  // output. Int8 codes: exact int32 group sums, then one fp32 rounding per group fold, the token
  // scale, the slice sum and the bias — fewer than 2K for every K, within the same bound. E4m3
  // codes: the FP8 tensor cores keep fewer bits than fp32 while they accumulate (about 14: the
  // DeepSeek-V3 report, and DeepGEMM promoting every 4 wgmma), at most kFp8FoldK / 32 mma steps
  // between folds, each within 2^-13 of the group's magnitude.
  double tolerance(const LayerConfig& c) const override {
    const double fp8_accumulation = kFp8Activations<F> ? (kFp8FoldK / 32) * 0x1p-13 : 0.0;
    return unit_roundoff(c.out_type) +
           2.0 * static_cast<double>(c.part_k()) * unit_roundoff(ScalarType::fp32) +
           fp8_accumulation;
  }

 private:
  // One launch (and its slice reduction) for a call of at most kMaxTokens tokens.
  void launch_rows(const Prepared& w, const TensorView& x, const TensorView& bias,
                   const TensorView& out, cudaStream_t s) const {
    constexpr int kBlock = kBlockK<F>;
    const LayerConfig& c = w.config();
    const int64_t n = c.part_n(), k = c.part_k();
    const int m = static_cast<int>(x.rows());
    const int sms = platform_of(x.device()).sm_count;
    Problem p{};
    p.weights = w.weights.data_as<const uint4>();
    p.scales = w.scales.data();
    p.zeros = w.zeros.defined() ? w.zeros.data_as<const uint8_t>() : nullptr;
    p.block_scales = w.block_scales.defined() ? w.block_scales.data_as<const uint8_t>() : nullptr;
    p.k_order = w.k_order.defined() ? w.k_order.data_as<const int32_t>() : nullptr;
    p.x = x.data();
    p.x_vectors = p.k_order == nullptr && k % 8 == 0 && reinterpret_cast<uintptr_t>(p.x) % 16 == 0;
    p.m = m;
    p.n = static_cast<int>(n);
    p.k = static_cast<int>(k);
    // Quantized activations: x quantized first, codes [m, padded_k] and one scale per token. The
    // codes' bytes past K are left as the pool gives them (no memset launch on the decode path):
    // the weights there are 0, an integer product with 0 is 0 whatever the byte, and e4m3 bytes
    // past codes_k are zeroed as they are staged.
    const int64_t code_bytes = kQuantizedActivations<F> ? static_cast<int64_t>(m) * w.padded_k : 0;
    const Scratch codes(code_bytes, s, x.device().index);
    const Scratch token_scales(kQuantizedActivations<F> ? int64_t{4} * m : 0, s, x.device().index);
    if constexpr (kQuantizedActivations<F>) {
      ActQuantTarget target;
      target.codes = codes.get();
      target.codes_row_stride = w.padded_k;
      target.scales = token_scales.get();
      target.scale_row_stride = 1;
      quantize_activations(c, x, TensorView(), TensorView(), target, s);
      p.x = codes.get();
      p.x_vectors = true;
      p.k = w.padded_k;
      p.codes_k = static_cast<int>(k);
      p.token_scales = token_scales.get<const float>();
    }
    p.padded_k = w.padded_k;
    p.group_size = w.group_size;
    p.groups = w.groups;
    p.kblocks = w.kblocks;

    // Split K so that one wave of resident blocks covers every SM; slices of >= 4 k-blocks.
    const int tokens = m <= 8 ? 8 : m <= 16 ? 16 : 32;
    const bool bf16 = c.act_type == ScalarType::bf16;
    const int row_blocks = static_cast<int>((n + kRowsPerBlock - 1) / kRowsPerBlock);
    const int token_blocks = (m + tokens - 1) / tokens;
    const int resident = sms * resident_blocks_per_sm(tokens, bf16);
    const int max_slices = std::max(1, w.kblocks / 4);
    int slices = std::clamp(resident / (row_blocks * token_blocks), 1, max_slices);
    p.slice_k = (w.kblocks + slices - 1) / slices * kBlock;
    slices = (w.padded_k + p.slice_k - 1) / p.slice_k;

    const Scratch partials(static_cast<int64_t>(sizeof(float)) * slices * m * n, s,
                           x.device().index);
    p.partials = partials.get<float>();
    // Token blocks vary fastest, so the blocks that read the same weights run together and the
    // second read comes from L2.
    const dim3 grid(token_blocks, slices, row_blocks);
    const bool overlap = dependent_launch_on(x.device());
    switch (tokens) {
      case 8:
        launch<8>(bf16, w.folds, grid, s, overlap, p);
        break;
      case 16:
        launch<16>(bf16, w.folds, grid, s, overlap, p);
        break;
      default:
        launch<32>(bf16, w.folds, grid, s, overlap, p);
        break;
    }
    reduce_slices(p.partials, slices, m, static_cast<int>(n), bias, out, s);
  }

 private:
  const KernelInfo info_{F::kName, Provider::cuda, F::kFamily};

  template <typename P, int kTokens>
  static auto kernel_of(bool bf16) {
    if constexpr (kQuantizedActivations<P>)
      return mixed_input_mma_kernel<P, Codes<P>, kTokens>;
    else
      return bf16 ? mixed_input_mma_kernel<P, __nv_bfloat16, kTokens>
                  : mixed_input_mma_kernel<P, __half, kTokens>;
  }
  template <int kTokens>
  static auto kernel_for(bool bf16, bool folds = false) {
    if constexpr (kHasFolds<F>)
      if (folds) return kernel_of<typename F::Folds, kTokens>(bf16);
    return kernel_of<F, kTokens>(bf16);
  }

  // Blocks of a launch resident on one SM at once (registers and shared memory permitting): F's
  // kernels', which F::Folds' match within a few registers.
  static int resident_blocks_per_sm(int tokens, bool bf16) {
    static const auto query = [](auto kernel) {
      int blocks = 0;
      check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, kWarps * 32, 0),
                 "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
      return std::max(blocks, 1);
    };
    static const int table[2][3] = {
        {query(kernel_for<8>(false)), query(kernel_for<16>(false)), query(kernel_for<32>(false))},
        {query(kernel_for<8>(true)), query(kernel_for<16>(true)), query(kernel_for<32>(true))}};
    return table[bf16][tokens == 8 ? 0 : tokens == 16 ? 1 : 2];
  }

  // With programmatic dependent launch on sm_90 (gpu/dependent_launch.cuh): the blocks start
  // streaming weights while the kernel before them (the previous layer's slice reduction, the
  // activation quantizer) ends.
  template <int kTokens>
  void launch(bool bf16, bool folds, dim3 grid, cudaStream_t s, bool overlap,
              const Problem& p) const {
    launch_dependent(kernel_for<kTokens>(bf16, folds), grid, dim3(kWarps * 32), 0, s, overlap,
                     name().c_str(), p);
  }
};

}  // namespace qlinear::cuda::detail
