// w4a16_mma_sm80: int4 weights (uint4b8, or uint4 with zero points) × bf16/fp16 activations on
// tensor cores (mma.sync m16n8k16), for sm_80 and later. Built for decode: the weights are streamed
// once with 16-byte loads, several k-blocks in flight per thread, and the work is split over K so
// that even a 4096×4096 layer covers all SMs.
//
// The product is computed transposed, Yᵀ = W·Xᵀ: a 16-row tile of W is the mma's A operand (m16)
// and up to 8 tokens of X its B operand (n8), so M = 1 is not a padded 64-row tile.
//
// Exactness: a 4-bit code minus its zero point (-15..15) is exact in bf16 and fp16, so the mma
// multiplies exact weights by the given activations and accumulates in fp32. Group scales are
// applied in fp32 when a group's partial sum is folded into the accumulator, never by rounding the
// weight to bf16 — the error is that of an fp32 sum (see tolerance()).
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
// Each slice writes fp32 partial sums [slice][m][n]; a second kernel adds the slices in a fixed
// order (deterministic), adds the bias and rounds to the output type once.
//
// Past kMaxTokens tokens the weights are no longer the bottleneck and this kernel is not the tool
// (one launch serves at most 32 tokens a block): such calls go to the emulation path instead —
// weights dequantized to bf16 per call and a cuBLASLt bf16 GEMM — until a Hopper (wgmma) prefill
// kernel exists. The qlinear bench run of 2026-11-25 (bench/NOTES.md) measured this kernel at
// 0.2-0.4x of cuBLAS bf16 at M >= 256 against 0.6-0.7x for the emulation.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/emulation.hpp"
#include "cuda/kernels.hpp"
#include "cuda/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cuda {
namespace {

constexpr int kRowsPerTile = 16;                    // mma M
constexpr int kTilesPerWarp = 2;                    // one B fragment of X serves two tiles of W
constexpr int kWarps = 8;                           // warps a block
constexpr int kRowsPerBlock = kRowsPerTile * kTilesPerWarp * kWarps;
constexpr int kBlockK = 64;                         // K of one 16-byte load per thread (4 mma k16)
constexpr int kPrefetch = 4;                        // k-blocks of each tile in flight (4 KB a warp)
constexpr int kStageLoads = 4;                      // loads in flight per thread staging X
constexpr int kMaxTokens = 64;                      // larger M goes to the emulation path

// ---- packed weight layout -----------------------------------------------------------------------
// For row tile t (16 rows) and k-block b (64 K), lane l holds 16 bytes = 4 words, one per k16 step.
// Word s carries the 8 elements of the mma A fragment of lane l for k16 step s:
//   e0,e1 = (row l/4,     k 2(l%4) + {0,1})      -> register a0
//   e2,e3 = (row l/4 + 8, k 2(l%4) + {0,1})      -> register a1
//   e4,e5 = (row l/4,     k 2(l%4) + 8 + {0,1})  -> register a2
//   e6,e7 = (row l/4 + 8, k 2(l%4) + 8 + {0,1})  -> register a3
// placed at nibble slots [e0 e2 e4 e6 e1 e3 e5 e7], so that (word >> 4p) & 0x000f000f holds the pair
// of register p in its two 16-bit halves.
int64_t packed_word_index(int64_t tile, int64_t kblock, int64_t kblocks, int lane, int step) {
  return ((tile * kblocks + kblock) * 32 + lane) * 4 + step;
}

// ---- device helpers ------------------------------------------------------------------------------

template <typename T>
struct Act;
template <>
struct Act<__nv_bfloat16> {
  using Pair = __nv_bfloat162;
  // 0x4300 is bf16 128.0: OR-ing a nibble v into its mantissa gives 128 + v exactly.
  static constexpr uint32_t kMagic = 0x43004300u;
  static constexpr float kMagicValue = 128.f;
  static __device__ Pair pair(float lo, float hi) { return __floats2bfloat162_rn(lo, hi); }
};
template <>
struct Act<__half> {
  using Pair = __half2;
  // 0x6400 is fp16 1024.0: OR-ing a nibble v into its mantissa gives 1024 + v exactly.
  static constexpr uint32_t kMagic = 0x64006400u;
  static constexpr float kMagicValue = 1024.f;
  static __device__ Pair pair(float lo, float hi) { return __floats2half2_rn(lo, hi); }
};

// Two codes of `word` at slots p and p + 4, minus `offset` (magic + zero point), as a register pair.
template <typename T>
__device__ uint32_t dequantize_pair(uint32_t word, int p, typename Act<T>::Pair offset) {
  const uint32_t biased = ((word >> (4 * p)) & 0x000f000fu) | Act<T>::kMagic;
  const auto value = *reinterpret_cast<const typename Act<T>::Pair*>(&biased) - offset;
  return *reinterpret_cast<const uint32_t*>(&value);
}

template <typename T>
__device__ void mma_16x8x16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Weights are read once: keep them out of L1.
__device__ uint4 load_streaming(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

struct Problem {
  const uint4* weights;     // packed, see above
  const float* scales;      // [padded_n, groups]
  const uint8_t* zeros;     // [padded_n, groups] or null
  const int32_t* k_order;   // [K] act-order permutation (x column of each packed k) or null
  const void* x;            // [M, K]
  bool x_vectors;           // x may be staged with 16-byte loads
  float* partials;          // [slices, m, n]
  int m, n, k, padded_k;    // m: tokens of this launch
  int group_size;           // in K elements: 32 or a multiple of 64; padded_k for per-channel
  int groups;
  int slice_k;              // multiple of kBlockK and of 16
  int kblocks;              // padded_k / kBlockK
};

// One block: 8 warps × 2 row tiles × one K slice × kTokens (8, 16 or 32) tokens.
template <typename T, int kTokens>
__global__ void __launch_bounds__(kWarps * 32, kTokens == 8 ? 2 : 1) w4a16_mma_kernel(Problem p) {
  constexpr int kTokenTiles = kTokens / 8;
  // K of X staged at a time: as much as fits the 48 KB of static shared memory, in whole rounds of
  // the weight pipeline (kPrefetch k-blocks).
  constexpr int kChunkK = kTokens == 8 ? 2048 : kTokens == 16 ? 1024 : 512;
  static_assert(kChunkK % (kPrefetch * kBlockK) == 0, "a chunk holds whole rounds of the pipeline");
  static_assert(kTokens * (kChunkK + 8) * 2 <= 48 * 1024, "X's chunk must fit static shared memory");
  // X chunk in shared memory: [kTokens][kChunkK + 8] — the 8-element pad shifts each token row by
  // 16 bytes so the B-fragment loads of 8 tokens × 4 lanes hit 32 different banks.
  constexpr int kRowStride = kChunkK + 8;
  __shared__ __align__(16) uint16_t sx_bits[kTokens * kRowStride];
  T* sx = reinterpret_cast<T*>(sx_bits);

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int k_begin = blockIdx.y * p.slice_k;
  const int k_len = min(p.slice_k, p.padded_k - k_begin);
  const int kb_count = k_len / kBlockK;
  const int m0 = blockIdx.x * kTokens;
  const T* x = static_cast<const T*>(p.x);

  const int first_tile = (blockIdx.z * kWarps + warp) * kTilesPerWarp;
  const bool active = first_tile * kRowsPerTile < p.n;  // idle warps still take part in staging X
  // Rows lane/4 and lane/4 + 8 of each tile: the rows of this lane's A-fragment halves.
  int row[kTilesPerWarp][2];
  const uint4* w[kTilesPerWarp];
#pragma unroll
  for (int t = 0; t < kTilesPerWarp; ++t) {
    row[t][0] = (first_tile + t) * kRowsPerTile + lane / 4;
    row[t][1] = row[t][0] + 8;
    w[t] = p.weights + (static_cast<int64_t>(first_tile + t) * p.kblocks + k_begin / kBlockK) * 32 + lane;
  }

  float acc[kTilesPerWarp][kTokenTiles][4] = {};        // Σ over folded groups, scales applied
  float group_acc[kTilesPerWarp][kTokenTiles][4] = {};  // the current group's sum, unscaled

  // Scales and zero points of the current group, and of the next one, loaded a group ahead so
  // that a fold never waits on memory. K padding past the last group reuses its values: the padded
  // activations are zero.
  using Pair = typename Act<T>::Pair;
  float scale[kTilesPerWarp][2], next_scale[kTilesPerWarp][2], next_zero[kTilesPerWarp][2];
  Pair offset[kTilesPerWarp][2];  // magic + zero point, subtracted from each dequantized pair
  const auto load_next = [&](int k) {
    const int g = min(k / p.group_size, p.groups - 1);
#pragma unroll
    for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        next_scale[t][h] = p.scales[row[t][h] * p.groups + g];
        next_zero[t][h] = p.zeros ? p.zeros[row[t][h] * p.groups + g] : 8.f;
      }
  };
  const auto enter_group = [&](int k) {  // k: first K position of the group entered
#pragma unroll
    for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        scale[t][h] = next_scale[t][h];
        const float o = Act<T>::kMagicValue + next_zero[t][h];
        offset[t][h] = Act<T>::pair(o, o);
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
          acc[t][j][r] += scale[t][r / 2] * group_acc[t][j][r];
          group_acc[t][j][r] = 0.f;
        }
  };
  // Groups of 32 end twice in every k-block; larger groups (multiples of 64) end on a k-block
  // boundary, counted down here (the slice may start inside a group).
  const bool group_32 = p.group_size == 32;
  int kblocks_left = (p.group_size - k_begin % p.group_size) / kBlockK;

  // Weight pipeline: kPrefetch k-blocks of each tile in flight; slot i holds k-block i mod kPrefetch.
  uint4 in_flight[kTilesPerWarp][kPrefetch];
  if (active) {
    load_next(k_begin);
    enter_group(k_begin);
#pragma unroll
    for (int i = 0; i < kPrefetch; ++i)
#pragma unroll
      for (int t = 0; t < kTilesPerWarp; ++t)
        if (i < kb_count) in_flight[t][i] = load_streaming(w[t] + i * 32);
  }

  for (int chunk = 0; chunk < k_len; chunk += kChunkK) {
    const int chunk_len = min(kChunkK, k_len - chunk);
    // Stage X[m0 .. m0 + kTokens) × this chunk of K, zero-padded, in act order if any: each
    // thread issues kStageLoads loads before it stores any, so a chunk costs one memory latency,
    // not one per element; rows past M are zero-filled without loading.
    __syncthreads();
    if (p.x_vectors) {  // 16-byte loads: K % 8 == 0, no act order, x 16-byte aligned
      const int per_row = chunk_len / 8, total = kTokens * per_row;
      for (int base = threadIdx.x; base < total; base += kStageLoads * blockDim.x) {
        uint4 v[kStageLoads];
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x, t = i / per_row, kk = (i % per_row) * 8;
          const int m = m0 + t, k = k_begin + chunk + kk;
          v[u] = make_uint4(0, 0, 0, 0);
          if (i < total && m < p.m && k < p.k) v[u] = *reinterpret_cast<const uint4*>(x + static_cast<int64_t>(m) * p.k + k);
        }
#pragma unroll
        for (int u = 0; u < kStageLoads; ++u) {
          const int i = base + u * blockDim.x, t = i / per_row, kk = (i % per_row) * 8;
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
    const int kb_first = chunk / kBlockK, kb_last = kb_first + chunk_len / kBlockK;
    for (int kb = kb_first; kb < kb_last; kb += kPrefetch) {
#pragma unroll
      for (int i = 0; i < kPrefetch; ++i) {
        if (kb + i >= kb_last) break;
        uint32_t word[kTilesPerWarp][4];
#pragma unroll
        for (int t = 0; t < kTilesPerWarp; ++t) {
          const uint4 words = in_flight[t][i];
          word[t][0] = words.x, word[t][1] = words.y, word[t][2] = words.z, word[t][3] = words.w;
          if (kb + i + kPrefetch < kb_count) in_flight[t][i] = load_streaming(w[t] + (kb + i + kPrefetch) * 32);
        }
        const int k_block = (kb + i - kb_first) * kBlockK;  // within the chunk
#pragma unroll
        for (int s = 0; s < 4; ++s) {
          uint32_t b[kTokenTiles][2];
#pragma unroll
          for (int j = 0; j < kTokenTiles; ++j) {
            const T* src = sx + (j * 8 + lane / 4) * kRowStride + k_block + s * 16 + 2 * (lane % 4);
            b[j][0] = *reinterpret_cast<const uint32_t*>(src);
            b[j][1] = *reinterpret_cast<const uint32_t*>(src + 8);
          }
#pragma unroll
          for (int t = 0; t < kTilesPerWarp; ++t) {
            const uint32_t a[4] = {dequantize_pair<T>(word[t][s], 0, offset[t][0]),
                                   dequantize_pair<T>(word[t][s], 1, offset[t][1]),
                                   dequantize_pair<T>(word[t][s], 2, offset[t][0]),
                                   dequantize_pair<T>(word[t][s], 3, offset[t][1])};
#pragma unroll
            for (int j = 0; j < kTokenTiles; ++j) mma_16x8x16<T>(group_acc[t][j], a, b[j][0], b[j][1]);
          }
          if (group_32 && s % 2 == 1) {
            fold();
            enter_group(k_begin + chunk + k_block + s * 16 + 16);
          }
        }
        if (!group_32 && --kblocks_left == 0) {
          fold();
          enter_group(k_begin + chunk + k_block + kBlockK);
          kblocks_left = p.group_size / kBlockK;
        }
      }
    }
  }
  if (!active) return;
  fold();

  // Partial sums: register r of token tile j is (row lane/4 + 8·(r/2), token 2·(lane%4) + r%2).
  float* out = p.partials + static_cast<int64_t>(blockIdx.y) * p.m * p.n;
#pragma unroll
  for (int t = 0; t < kTilesPerWarp; ++t)
#pragma unroll
    for (int j = 0; j < kTokenTiles; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int n = row[t][r / 2];
        const int m = m0 + j * 8 + 2 * (lane % 4) + r % 2;
        if (m < p.m && n < p.n) out[static_cast<int64_t>(m) * p.n + n] = acc[t][j][r];
      }
}

template <typename Out>
__device__ Out convert_out(float v) {
  if constexpr (std::is_same_v<Out, float>) return v;
  else if constexpr (std::is_same_v<Out, __half>) return __float2half_rn(v);
  else return __float2bfloat16_rn(v);
}

template <typename B>
__device__ float bias_value(const void* bias, int n) {
  if constexpr (std::is_same_v<B, float>) return static_cast<const float*>(bias)[n];
  else if constexpr (std::is_same_v<B, __half>) return __half2float(static_cast<const __half*>(bias)[n]);
  else return __bfloat162float(static_cast<const __nv_bfloat16*>(bias)[n]);
}

// out[m, n] = Σ_slices partials + bias, rounded once.
template <typename Out, typename B>
__global__ void reduce_slices_kernel(const float* partials, int slices, int m, int n,
                                     const void* bias, Out* out) {
  const int64_t total = static_cast<int64_t>(m) * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int s = 0; s < slices; ++s) sum += partials[s * total + i];
    if (bias) sum += bias_value<B>(bias, static_cast<int>(i % n));
    out[i] = convert_out<Out>(sum);
  }
}

// ---- host side -----------------------------------------------------------------------------------

struct Prepared final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  Tensor weights, scales, zeros, k_order;  // on the device
  int padded_k = 0, group_size = 0, groups = 0, kblocks = 0;
  // M > kMaxTokens: the emulation kernel, dequantizing the canonical weights in every call.
  std::shared_ptr<const Kernel> large_m_kernel;
  std::shared_ptr<const PreparedWeights> large_m;
};

// Packs canonical [N, K] codes into the fragment-ordered layout above, permuting K by `order`
// (act order) and padding N to 16 rows and K to 64 with code 8 / zero point 8 (value 0).
std::vector<uint32_t> pack_weights(const Tensor& codes, int64_t n, int64_t k, int64_t padded_n,
                                   int64_t padded_k, const std::vector<int32_t>& order) {
  const int64_t tiles = padded_n / kRowsPerTile, kblocks = padded_k / kBlockK;
  std::vector<uint32_t> packed(static_cast<size_t>(tiles * kblocks * 32 * 4), 0x88888888u);
  const auto code = [&](int64_t row, int64_t kk) -> uint32_t {
    if (row >= n || kk >= k) return 8;  // value 0 for both uint4b8 and the padded zero point 8
    return load_code(codes, row * k + (order.empty() ? kk : order[kk]));
  };
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t b = 0; b < kblocks; ++b)
      for (int lane = 0; lane < 32; ++lane)
        for (int s = 0; s < 4; ++s) {
          const int64_t r0 = t * 16 + lane / 4, r1 = r0 + 8;
          const int64_t c0 = b * kBlockK + s * 16 + 2 * (lane % 4), c1 = c0 + 8;
          const uint32_t e[8] = {code(r0, c0), code(r0, c0 + 1), code(r1, c0), code(r1, c0 + 1),
                                 code(r0, c1), code(r0, c1 + 1), code(r1, c1), code(r1, c1 + 1)};
          // Slots [e0 e2 e4 e6 e1 e3 e5 e7].
          uint32_t word = 0;
          for (int p = 0; p < 4; ++p) word |= (e[2 * p] << (4 * p)) | (e[2 * p + 1] << (4 * (p + 4)));
          packed[packed_word_index(t, b, kblocks, lane, s)] = word;
        }
  return packed;
}

template <typename T>
Tensor to_device(const std::vector<T>& host, ScalarType dtype, Device device) {
  Tensor t = Tensor::empty(dtype, {static_cast<int64_t>(host.size())}, device);
  copy_bytes(t, TensorView(const_cast<T*>(host.data()), dtype, {static_cast<int64_t>(host.size())}));
  return t;
}

class W4a16MmaSm80 final : public Kernel {
 public:
  const KernelInfo& info() const override {
    static const KernelInfo kInfo{"w4a16_mma_sm80", Provider::cuda, Family::mixed_precision};
    return kInfo;
  }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda) return Verdict::no("a CUDA kernel");
    if (platform.compute_capability < 80)
      return Verdict::no(cat("needs compute capability 8.0 or newer (bf16 mma.sync); this is ",
                             platform.str()));
    return Verdict::yes();
  }

  Verdict can_implement(const LayerConfig& c) const override {
    if (c.weight_type != ScalarType::uint4b8 && c.weight_type != ScalarType::uint4)
      return Verdict::no(cat("weight_type (", qlinear::name(c.weight_type), ") not supported; supported: uint4b8, uint4"));
    if (c.act_type != ScalarType::bf16 && c.act_type != ScalarType::fp16)
      return Verdict::no(cat("act_type (", qlinear::name(c.act_type), ") not supported; supported: bf16, fp16"));
    if (c.weight_scale == Granularity::per_group && c.group_size != 32 && c.group_size % kBlockK != 0)
      return Verdict::no(cat("group_size (", c.group_size, ") not supported; supported: 32 and multiples of 64"));
    if (c.act_order && c.part_k() != c.k)
      return Verdict::no(cat("act order on a row-split partition (K ", c.part_k(), " of ", c.k,
                             ") not supported: its groups are not whole, contiguous runs of K"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c, const LayerWeights& w,
                                                         Device device) const override {
    const int64_t n = c.part_n(), k = c.part_k();
    const int64_t padded_n = (n + kRowsPerBlock - 1) / kRowsPerBlock * kRowsPerBlock;
    const int64_t padded_k = (k + kBlockK - 1) / kBlockK * kBlockK;
    const Tensor codes = Tensor::copy_of(w.weight, Device::cpu());
    const Tensor scales = Tensor::copy_of(w.weight_scale, Device::cpu());
    const int64_t groups = c.weight_scale_shape()[1];

    // Act order: visit K sorted by group so that each group is contiguous.
    std::vector<int32_t> order;
    if (c.act_order) {
      const Tensor g_idx = Tensor::copy_of(w.g_idx, Device::cpu());
      const auto* g = g_idx.data_as<const int32_t>();
      order.resize(static_cast<size_t>(k));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return g[a] < g[b]; });
      for (int64_t i = 0; i < k; ++i)
        require(g[order[i]] == i / c.group_size, "g_idx: group ", i / c.group_size, " does not hold exactly ",
                c.group_size, " K positions; ", name(), " needs every act-order group to be full");
    }

    auto prepared = std::make_shared<Prepared>(c);
    prepared->padded_k = static_cast<int>(padded_k);
    prepared->groups = static_cast<int>(groups);
    prepared->group_size = static_cast<int>(c.weight_scale == Granularity::per_group ? c.group_size : padded_k);
    prepared->kblocks = static_cast<int>(padded_k / kBlockK);
    prepared->weights = to_device(pack_weights(codes, n, k, padded_n, padded_k, order), ScalarType::int32, device);

    std::vector<float> scale_f32(static_cast<size_t>(padded_n * groups), 0.f);
    std::vector<uint8_t> zeros(c.zero_points ? static_cast<size_t>(padded_n * groups) : 0, 8);
    const Tensor zero_codes = c.zero_points ? Tensor::copy_of(w.weight_zero_point, Device::cpu()) : Tensor();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        scale_f32[r * groups + g] = static_cast<float>(load_value(scales, r * groups + g));
        if (c.zero_points) zeros[r * groups + g] = static_cast<uint8_t>(load_code(zero_codes, r * groups + g));
      }
    prepared->scales = to_device(scale_f32, ScalarType::fp32, device);
    if (c.zero_points) prepared->zeros = to_device(zeros, ScalarType::uint8, device);
    if (c.act_order) prepared->k_order = to_device(order, ScalarType::int32, device);
    prepared->large_m_kernel = make_emulation(Family::mixed_precision, /*per_call=*/true);
    prepared->large_m = prepared->large_m_kernel->process_weights(c, w, device);
    return prepared;
  }

  void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override {
    const auto& w = static_cast<const Prepared&>(weights);
    const LayerConfig& c = w.config();
    auto s = static_cast<cudaStream_t>(stream.handle);
    DeviceGuard guard(x.device().index);
    const int64_t n = c.part_n(), k = c.part_k();
    if (x.rows() > kMaxTokens) {
      w.large_m_kernel->apply(*w.large_m, x, bias, out, stream);
      return;
    }
    const int m = static_cast<int>(x.rows());
    const int sms = platform_of(x.device()).sm_count;
    Problem p{};
    p.weights = w.weights.data_as<const uint4>();
    p.scales = w.scales.data_as<const float>();
    p.zeros = w.zeros.defined() ? w.zeros.data_as<const uint8_t>() : nullptr;
    p.k_order = w.k_order.defined() ? w.k_order.data_as<const int32_t>() : nullptr;
    p.x = x.data();
    p.x_vectors = p.k_order == nullptr && k % 8 == 0 && reinterpret_cast<uintptr_t>(p.x) % 16 == 0;
    p.m = m;
    p.n = static_cast<int>(n);
    p.k = static_cast<int>(k);
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
    p.slice_k = (w.kblocks + slices - 1) / slices * kBlockK;
    slices = (w.padded_k + p.slice_k - 1) / p.slice_k;

    const Scratch partials(static_cast<int64_t>(sizeof(float)) * slices * m * n, s, x.device().index);
    p.partials = partials.get<float>();
    // Token blocks vary fastest, so the blocks that read the same weights run together and the
    // second read comes from L2.
    const dim3 grid(token_blocks, slices, row_blocks);
    switch (tokens) {
      case 8: launch<8>(bf16, grid, s, p); break;
      case 16: launch<16>(bf16, grid, s, p); break;
      default: launch<32>(bf16, grid, s, p); break;
    }
    reduce(p.partials, slices, m, static_cast<int>(n), bias, out, s);
  }

  // Up to kMaxTokens: exact weights and activations, fp32 accumulation in the tensor cores and in
  // the group folds (allowing twice the plain bound for the tensor cores' accumulation), one
  // rounding to the output. Past it, the emulation's bound (weights rounded to bf16), the larger.
  double tolerance(const LayerConfig& c) const override {
    const double exact = unit_roundoff(c.out_type) + 2.0 * static_cast<double>(c.part_k()) * unit_roundoff(ScalarType::fp32);
    return std::max(exact, make_emulation(Family::mixed_precision)->tolerance(c));
  }

 private:
  template <int kTokens>
  static auto kernel_for(bool bf16) {
    return bf16 ? w4a16_mma_kernel<__nv_bfloat16, kTokens> : w4a16_mma_kernel<__half, kTokens>;
  }

  // Blocks of a launch resident on one SM at once (registers and shared memory permitting).
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

  template <int kTokens>
  static void launch(bool bf16, dim3 grid, cudaStream_t s, const Problem& p) {
    kernel_for<kTokens>(bf16)<<<grid, kWarps * 32, 0, s>>>(p);
    check_cuda(cudaGetLastError(), "w4a16_mma_kernel launch");
  }

  template <typename Out>
  static void reduce_to(const float* partials, int slices, int m, int n, const TensorView& bias,
                        const TensorView& out, cudaStream_t s) {
    const int64_t total = static_cast<int64_t>(m) * n;
    const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4096));
    auto* o = out.data_as<Out>();
    const void* b = bias.defined() ? bias.data() : nullptr;
    switch (bias.defined() ? bias.dtype() : ScalarType::fp32) {
      case ScalarType::bf16: reduce_slices_kernel<Out, __nv_bfloat16><<<blocks, 256, 0, s>>>(partials, slices, m, n, b, o); break;
      case ScalarType::fp16: reduce_slices_kernel<Out, __half><<<blocks, 256, 0, s>>>(partials, slices, m, n, b, o); break;
      default: reduce_slices_kernel<Out, float><<<blocks, 256, 0, s>>>(partials, slices, m, n, b, o); break;
    }
    check_cuda(cudaGetLastError(), "reduce_slices_kernel launch");
  }

  static void reduce(const float* partials, int slices, int m, int n, const TensorView& bias,
                     const TensorView& out, cudaStream_t s) {
    switch (out.dtype()) {
      case ScalarType::bf16: reduce_to<__nv_bfloat16>(partials, slices, m, n, bias, out, s); break;
      case ScalarType::fp16: reduce_to<__half>(partials, slices, m, n, bias, out, s); break;
      default: reduce_to<float>(partials, slices, m, n, bias, out, s); break;
    }
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_w4a16_mma_sm80() { return std::make_shared<W4a16MmaSm80>(); }

}  // namespace qlinear::cuda
