// The Hopper scaled-mm GEMM core (sm_90a): C[R, C] = P[R, K] · Q[C, K]ᵀ over 8-bit codes, one
// persistent CTA per SM, three warpgroups:
//
//   producer (warpgroup 0, one thread)       consumers (warpgroups 1 and 2: 64 rows of P each)
//   for each work unit, each 128-wide K slice:   for each work unit, each K slice:
//     wait  empty[s]                               wait  full[s]
//     TMA   P tile [128 x 128] -> stage s          wgmma 4 x (m64 nBN k32) from stage s
//     TMA   Q tile [BN x 128]  -> stage s          arrive empty[s]  (then promote, for fp8)
//     (full[s] completes when both land)         epilogue: scales, zero points, bias -> y
//
// Operand order: "rows" P is x (tokens) and "cols" Q is W, except for decode (M <= 64), where W
// takes the 128-row side of wgmma and the few tokens its N side (swap AB): M = 1 is a 16-wide
// tile, not a padded 64-row one. Shared memory holds kStages stages of both tiles, each row
// 128 bytes with TMA's 128-byte swizzle, which is the layout wgmma's descriptors name.
//
// Work units: (tile, K split). Tiles are rasterized in groups of kRasterGroup tile-rows so that
// concurrent CTAs share column tiles in L2. When the tiles cannot fill the SMs (decode, small M)
// K is split: each split writes its fp32/int32 partial tile, and the last split of a tile to finish
// (an atomic ticket) adds all partials in split order (deterministic) and runs the epilogue.
//
// fp8 sums: Hopper adds fp8 products with about 14 significant bits, so each 128-wide slice is
// summed by wgmma into `slice_sum` and added (promoted) into fp32 registers — scaled by its 1x128
// and 128x128 block scales in the block mode (DeepGEMM's technique). int8 sums are exact in s32.
//
// The kernel is launched with programmatic dependent launch after the activation quantizer: the
// producer requests the first stages' weight tiles before waiting for that grid (griddepcontrol).
// Where it stands on the H100 (bench/NOTES.md): ahead of cuBLASLt for decode; for prefill the
// epilogue, which runs with the tensor cores idle, costs as much as the main loop.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <atomic>
#include <cuda/ptx>
#include <type_traits>

#include "cuda/hopper/scaled_mm_sm90.hpp"
#include "cuda/hopper/tensor_map.hpp"
#include "cuda/hopper/wgmma_ops.cuh"
#include "gpu/check.hpp"
#include "gpu/dependent_launch.cuh"
#include "qlinear/error.hpp"

namespace qlinear::cuda::sm90 {

namespace ptx = ::cuda::ptx;

// ---- geometry
// ------------------------------------------------------------------------------------
inline constexpr int kBlockM = 128;  // rows of P a tile: one 64-row slab per consumer warpgroup
inline constexpr int kConsumers = 2;
inline constexpr int kThreads = 128 * (1 + kConsumers);
inline constexpr int kStepK = 32;                      // wgmma K for 8-bit operands
inline constexpr int kStepsPerSlice = kBoxK / kStepK;  // wgmmas per 128-wide K slice
inline constexpr int kRasterGroup = 8;
inline constexpr int kSharedLimit = 227 * 1024;  // opt-in shared memory per block on sm_90
inline constexpr int kMaxStages = 8;

template <int kBlockN>
struct TileShape {
  static constexpr int kRowTileBytes = kBlockM * kBoxK;
  static constexpr int kColTileBytes = kBlockN * kBoxK;  // a multiple of 1024: swizzle atoms
  static constexpr int kStageBytes = kRowTileBytes + kColTileBytes;
  static constexpr int kBarrierBytes = 2 * kMaxStages * 8 + 16;
  static constexpr int kStages =
      std::min(kMaxStages, (kSharedLimit - 1024 - kBarrierBytes) / kStageBytes);
  // + 1024: the dynamic window is aligned up to the swizzle atom inside the kernel.
  static constexpr int kSharedBytes = 1024 + kStages * kStageBytes + kBarrierBytes;
};

// ---- work units
// ----------------------------------------------------------------------------------
struct Schedule {
  int tiles_r = 0, tiles_c = 0, splits = 1, slices_per_split = 0, k_slices = 0;
  __host__ __device__ int units() const { return tiles_r * tiles_c * splits; }
};

struct Work {
  int tile, tile_r, tile_c, split, slice_begin, slice_end;
};

__device__ inline Work work_at(const Schedule& s, int unit) {
  Work w;
  w.tile = unit / s.splits;
  w.split = unit % s.splits;
  const int per_group = kRasterGroup * s.tiles_c;
  const int group = w.tile / per_group, first = group * kRasterGroup;
  const int rows_in_group = min(s.tiles_r - first, kRasterGroup);
  const int in_group = w.tile - group * per_group;
  w.tile_r = first + in_group % rows_in_group;
  w.tile_c = in_group / rows_in_group;
  w.slice_begin = w.split * s.slices_per_split;
  w.slice_end = min(s.k_slices, w.slice_begin + s.slices_per_split);
  return w;
}

struct Params {
  Schedule schedule;
  int m = 0, n = 0;  // tokens, features
  ScaledMmEpilogue epilogue;
  uint32_t* partials = nullptr;  // split K: [tiles * splits][kBlockM * kBlockN] words
  int* arrivals = nullptr;       // split K: [tiles], zero at launch
};

// ---- synchronisation and wgmma plumbing
// ------------------------------------------------------------
__device__ __forceinline__ void wait_barrier(uint64_t* barrier, uint32_t parity) {
  while (!ptx::mbarrier_try_wait_parity(barrier, parity)) {
  }
}

// Descriptor of a K-major tile in shared memory, 128-byte rows, 128-byte swizzle: rows in groups
// of 8 (1024 bytes apart); the leading offset is unused in this mode. Advancing the start address
// by 32 bytes steps K by 32 codes inside the swizzle atom (the tile base is 1024-aligned).
__device__ __forceinline__ uint64_t tile_descriptor(const void* tile) {
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(tile));
  return static_cast<uint64_t>((address & 0x3FFFF) >> 4) | (uint64_t{1} << 16) |
         (uint64_t{1024 >> 4} << 32) | (uint64_t{1} << 62);
}
inline constexpr uint64_t kDescriptorStepK = kStepK >> 4;

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// Keeps the compiler from moving accumulator reads or writes across the asynchronous wgmma.
template <typename T, int kCount>
__device__ __forceinline__ void fence_registers(T (&registers)[kCount]) {
#pragma unroll
  for (int i = 0; i < kCount; ++i) {
    if constexpr (std::is_same_v<T, float>)
      asm volatile("" : "+f"(registers[i])::"memory");
    else
      asm volatile("" : "+r"(registers[i])::"memory");
  }
}

// The two consumer warpgroups, and nobody else, meet here (split-K ticket).
__device__ __forceinline__ void consumers_sync() {
  asm volatile("bar.sync 1, %0;\n" ::"n"(128 * kConsumers) : "memory");
}

// ---- accumulator fragment
// ------------------------------------------------------------------------ wgmma m64nN leaves D[64,
// N] across the warpgroup's 128 threads: register 4c + 2h + j of a thread holds row 16·warp +
// lane/4 + 8h, column 8c + 2·(lane % 4) + j.
struct Fragment {
  int row0, col0;  // of register 0, within the consumer's 64-row slab and the tile's columns
  __device__ explicit Fragment(int thread_in_warpgroup) {
    const int warp = thread_in_warpgroup / 32, lane = thread_in_warpgroup % 32;
    row0 = 16 * warp + lane / 4;
    col0 = 2 * (lane % 4);
  }
  __device__ static constexpr int row_offset(int reg) { return 8 * ((reg / 2) % 2); }
  __device__ static constexpr int col_offset(int reg) { return 8 * (reg / 4) + reg % 2; }
};

// Split-K partials travel as 32-bit words (fp32 or s32 sums).
__device__ __forceinline__ uint32_t to_bits(float v) { return __float_as_uint(v); }
__device__ __forceinline__ uint32_t to_bits(int32_t v) { return static_cast<uint32_t>(v); }
template <typename Acc>
__device__ __forceinline__ Acc from_bits(uint32_t bits) {
  if constexpr (std::is_same_v<Acc, float>)
    return __uint_as_float(bits);
  else
    return static_cast<int32_t>(bits);
}

// ---- epilogue
// ------------------------------------------------------------------------------------ y = (acc -
// z_m·Σw_n) · s_m · s_n + bias_n, in that order as gpu/epilogue.cu (absent terms are exact
// identities: z = 0, s = 1, bias = 0). Each thread loads the terms of its two fragment rows once a
// tile and those of its columns once per 8-column chunk, and stores pairs of adjacent features as
// one vector where the layout allows.
struct TokenTerms {
  bool valid = false;
  float scale = 1.f;
  int32_t zero = 0;
};
struct FeatureTerms {
  bool valid = false;
  float scale = 1.f;
  int32_t sum = 0;
  float bias = 0.f;
};

// The terms are read through the read-only path (__ldg): the compiler may then issue the loads of
// later chunks ahead of this chunk's stores to y, which it must otherwise assume they alias.
__device__ __forceinline__ TokenTerms token_terms(const Params& p, int token) {
  const ScaledMmEpilogue& e = p.epilogue;
  TokenTerms t;
  t.valid = token < p.m;
  if (!t.valid) return t;
  if (e.token_scale) t.scale = __ldg(&e.token_scale[token * e.token_scale_stride]);
  if (e.token_zero) t.zero = __ldg(&e.token_zero[token * e.token_zero_stride]);
  return t;
}

__device__ __forceinline__ FeatureTerms feature_terms(const Params& p, int feature) {
  const ScaledMmEpilogue& e = p.epilogue;
  FeatureTerms f;
  f.valid = feature < p.n;
  if (!f.valid) return f;
  if (e.feature_scale) f.scale = __ldg(&e.feature_scale[feature * e.feature_scale_stride]);
  if (e.token_zero) f.sum = __ldg(&e.feature_sum[feature]);
  if (e.bias) {
    if (e.bias_type == ScalarType::bf16)
      f.bias = __bfloat162float(__ldg(&static_cast<const __nv_bfloat16*>(e.bias)[feature]));
    else if (e.bias_type == ScalarType::fp16)
      f.bias = __half2float(__ldg(&static_cast<const __half*>(e.bias)[feature]));
    else
      f.bias = __ldg(&static_cast<const float*>(e.bias)[feature]);
  }
  return f;
}

// `zero_points` (uniform): the integer correction applies; without it the s32 sum converts as is.
template <Scaling kScaling, typename Acc>
__device__ __forceinline__ float finish(Acc acc, const TokenTerms& t, const FeatureTerms& f,
                                        bool zero_points) {
  float y;
  if constexpr (kScaling == Scaling::integer)
    y = zero_points ? static_cast<float>(static_cast<int64_t>(acc) -
                                         static_cast<int64_t>(t.zero) * f.sum)  // exact
                    : static_cast<float>(acc);
  else
    y = acc;
  if constexpr (kScaling != Scaling::block) y = y * t.scale * f.scale;
  return y + f.bias;
}

template <typename Out>
__device__ __forceinline__ Out to_output(float y) {
  if constexpr (std::is_same_v<Out, __nv_bfloat16>)
    return __float2bfloat16_rn(y);
  else if constexpr (std::is_same_v<Out, __half>)
    return __float2half_rn(y);
  else
    return y;
}

// Two adjacent features of one token, as one 4- or 8-byte store.
template <typename Out>
__device__ __forceinline__ void store_pair(Out* at, float a, float b) {
  if constexpr (std::is_same_v<Out, __nv_bfloat16>)
    *reinterpret_cast<__nv_bfloat162*>(at) = __floats2bfloat162_rn(a, b);
  else if constexpr (std::is_same_v<Out, __half>)
    *reinterpret_cast<__half2*>(at) = __floats2half2_rn(a, b);
  else
    *reinterpret_cast<float2*>(at) = make_float2(a, b);
}

template <typename Out, Scaling kScaling, bool kSwap, typename Acc, int kRegs>
__device__ void store_tile(const Params& p, const Acc (&acc)[kRegs], int row_base, int col_base) {
  Out* out = static_cast<Out*>(p.epilogue.out);
  const bool zero_points = p.epilogue.token_zero != nullptr;
  if constexpr (!kSwap) {
    // Rows are tokens, columns features: register 4c + 2h + j is (token h, feature 8c + j).
    const TokenTerms tokens[2] = {token_terms(p, row_base), token_terms(p, row_base + 8)};
    const bool pairs = p.n % 2 == 0;  // then feature pairs (even, odd) are aligned
    const int last_feature = col_base + 8 * (kRegs / 4 - 1) + 1;
    if (pairs && tokens[1].valid && last_feature < p.n) {
      // Interior (every tile but those on the edges of y): straight-line code, one vector store
      // per pair. Kept apart from the checked path below so that the code the warps run stays
      // small (the instruction cache is the limit of an unrolled epilogue).
#pragma unroll
      for (int c = 0; c < kRegs / 4; ++c) {
        const int feature = col_base + 8 * c;
        const FeatureTerms f0 = feature_terms(p, feature), f1 = feature_terms(p, feature + 1);
#pragma unroll
        for (int h = 0; h < 2; ++h)
          store_pair(out + static_cast<int64_t>(row_base + 8 * h) * p.n + feature,
                     finish<kScaling>(acc[4 * c + 2 * h], tokens[h], f0, zero_points),
                     finish<kScaling>(acc[4 * c + 2 * h + 1], tokens[h], f1, zero_points));
      }
      return;
    }
#pragma unroll
    for (int c = 0; c < kRegs / 4; ++c) {
      const int feature = col_base + 8 * c;
      const FeatureTerms f0 = feature_terms(p, feature), f1 = feature_terms(p, feature + 1);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (!tokens[h].valid) continue;
        const float y0 = finish<kScaling>(acc[4 * c + 2 * h], tokens[h], f0, zero_points);
        const float y1 = finish<kScaling>(acc[4 * c + 2 * h + 1], tokens[h], f1, zero_points);
        Out* at = out + static_cast<int64_t>(row_base + 8 * h) * p.n + feature;
        if (pairs && f1.valid) {
          store_pair(at, y0, y1);
        } else {
          if (f0.valid) at[0] = to_output<Out>(y0);
          if (f1.valid) at[1] = to_output<Out>(y1);
        }
      }
    }
  } else {
    // Rows are features, columns tokens (decode, and the mixed-input kernels): register
    // 4c + 2h + j is (feature h, token 8c + j).
    const FeatureTerms features[2] = {feature_terms(p, row_base), feature_terms(p, row_base + 8)};
    const int last_token = col_base + 8 * (kRegs / 4 - 1) + 1;
    const bool interior = features[1].valid && last_token < p.m && p.n % 2 == 0 &&
                          reinterpret_cast<uintptr_t>(out) % (2 * sizeof(Out)) == 0;
    if (__all_sync(0xffffffffu, interior)) {
      // Interior tiles, the warp's features and tokens all in y: the lanes of fragment rows r and
      // r ^ 1 (lanes l and l ^ 4: adjacent features) trade one value a token pair, so that each
      // stores two adjacent features of one token as one vector — the even row's lane token
      // 8c, the odd row's token 8c + 1. Straight-line code, half the stores of the checked path
      // below and whole 4-byte words (ncu: the checked path was a fifth of the mixed-input
      // kernel's consumer time at prefill, 25 instructions an output).
      const int odd = row_base % 2;
#pragma unroll
      for (int c = 0; c < kRegs / 4; ++c) {
        const int token = col_base + 8 * c;
        const TokenTerms t0 = token_terms(p, token), t1 = token_terms(p, token + 1);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const float y0 = finish<kScaling>(acc[4 * c + 2 * h], t0, features[h], zero_points);
          const float y1 = finish<kScaling>(acc[4 * c + 2 * h + 1], t1, features[h], zero_points);
          const float theirs = __shfl_xor_sync(0xffffffffu, odd ? y0 : y1, 4);
          store_pair(out + static_cast<int64_t>(token + odd) * p.n + row_base + 8 * h - odd,
                     odd ? theirs : y0, odd ? y1 : theirs);
        }
      }
      return;
    }
#pragma unroll
    for (int c = 0; c < kRegs / 4; ++c) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int token = col_base + 8 * c + j;
        const TokenTerms t = token_terms(p, token);
        if (!t.valid) continue;
#pragma unroll
        for (int h = 0; h < 2; ++h)
          if (features[h].valid)
            out[static_cast<int64_t>(token) * p.n + row_base + 8 * h] = to_output<Out>(
                finish<kScaling>(acc[4 * c + 2 * h + j], t, features[h], zero_points));
      }
    }
  }
}

// ---- split K
// ----------------------------------------------------------------------------------------------
// Publishes this split's partial tile (one 32-bit word per accumulator register, laid out by
// thread); in the last split of the tile to arrive (an atomic ticket) adds every split's partial
// in split order (deterministic) into acc and returns true, elsewhere returns false. `thread` is
// the caller's index among the consumers.
//
// kReload: the last split reads its own partial back from the workspace too and sums into acc,
// rather than into a second set of kRegs registers beside acc. It is what lets 256-token tiles
// fit (their second set spilled ~95 registers) and it is faster for the fp8 GEMM (1.00-1.05x at
// 16-256 tokens) and NVFP4 (1.05-1.13x at 64 tokens); int4 g128 is 3-6 % faster at 256 tokens with
// the second set (H100, bench/NOTES.md "NVFP4 on 256-token tiles"), so the caller chooses.
template <bool kReload, typename Acc, int kRegs>
__device__ bool reduce_splits(const Params& p, const Work& w, Acc (&acc)[kRegs], int thread,
                              int* ticket) {
  constexpr int kTileWords = kRegs * 128 * kConsumers;
  const Schedule& schedule = p.schedule;
  uint32_t* mine =
      p.partials + (static_cast<int64_t>(w.tile) * schedule.splits + w.split) * kTileWords;
#pragma unroll
  for (int i = 0; i < kRegs; ++i) mine[i * 128 * kConsumers + thread] = to_bits(acc[i]);
  __threadfence();
  consumers_sync();
  if (thread == 0) *ticket = atomicAdd(&p.arrivals[w.tile], 1);
  consumers_sync();
  if (*ticket != schedule.splits - 1) return false;
  __threadfence();
  if constexpr (kReload) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) acc[i] = 0;
  }
  Acc total[kReload ? 1 : kRegs];
  if constexpr (!kReload) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) total[i] = 0;
  }
  for (int s = 0; s < schedule.splits; ++s) {
    const uint32_t* theirs =
        p.partials + (static_cast<int64_t>(w.tile) * schedule.splits + s) * kTileWords;
#pragma unroll
    for (int i = 0; i < kRegs; ++i) {
      if constexpr (kReload) {
        acc[i] += from_bits<Acc>(__ldcg(&theirs[i * 128 * kConsumers + thread]));
      } else if (s == w.split) {
        total[i] += acc[i];
      } else {
        total[i] += from_bits<Acc>(__ldcg(&theirs[i * 128 * kConsumers + thread]));
      }
    }
  }
  if constexpr (!kReload) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) acc[i] = total[i];
  }
  return true;
}

// ---- the producer
// ------------------------------------------------------------------------------------ This CTA's
// (work unit, K slice) pairs in order.
struct SliceCursor {
  const Schedule& schedule;
  int unit;
  Work work;
  int slice = 0;
  __device__ explicit SliceCursor(const Schedule& s) : schedule(s), unit(blockIdx.x) {
    start_unit();
  }
  __device__ bool valid() const { return unit < schedule.units(); }
  __device__ void advance() {
    if (++slice == work.slice_end) {
      unit += gridDim.x;
      start_unit();
    }
  }
  __device__ void start_unit() {
    if (!valid()) return;
    work = work_at(schedule, unit);
    slice = work.slice_begin;
  }
};

// The producer's pipeline, for both cores: each (work unit, K slice) of this CTA in turn takes the
// next stage once the consumers have released it, expects kStageBytes on its full barrier and
// requests its loads. The weights do not depend on the kernel before this one (the activation
// quantizer, or whatever wrote x): the first stages' weights are requested before waiting for it
// (for decode, that is most of the work), their activations after.
template <int kStages, int kStageBytes, typename LoadWeights, typename LoadX>
__device__ void run_producer(const Schedule& schedule, uint64_t* full, uint64_t* empty,
                             LoadWeights load_weights, LoadX load_x) {
  SliceCursor cursor(schedule), first(schedule);
  int stage = 0;
  uint32_t phase = 0;
  for (; stage < kStages && cursor.valid(); ++stage, cursor.advance()) {
    ptx::mbarrier_arrive_expect_tx(ptx::sem_release, ptx::scope_cta, ptx::space_shared,
                                   &full[stage], kStageBytes);
    load_weights(cursor, stage);
  }
  wait_for_previous_grid();
  for (int s = 0; s < stage; ++s, first.advance()) load_x(first, s);
  if (stage == kStages) stage = 0, phase = 1;

  for (; cursor.valid(); cursor.advance()) {
    wait_barrier(&empty[stage], phase ^ 1);
    ptx::mbarrier_arrive_expect_tx(ptx::sem_release, ptx::scope_cta, ptx::space_shared,
                                   &full[stage], kStageBytes);
    load_weights(cursor, stage);
    load_x(cursor, stage);
    if (++stage == kStages) stage = 0, phase ^= 1;
  }
}

template <int kBlockN, bool kSwap>
__device__ void produce(const CUtensorMap& rows_map, const CUtensorMap& cols_map,
                        const Schedule& schedule, uint8_t* row_tiles, uint8_t* col_tiles,
                        uint64_t* full, uint64_t* empty) {
  using Shape = TileShape<kBlockN>;
  const auto load_rows = [&](const SliceCursor& at, int stage) {
    const int32_t coordinates[2] = {at.slice * kBoxK, at.work.tile_r * kBlockM};
    ptx::cp_async_bulk_tensor(ptx::space_cluster, ptx::space_global,
                              row_tiles + stage * Shape::kRowTileBytes, &rows_map, coordinates,
                              &full[stage]);
  };
  const auto load_cols = [&](const SliceCursor& at, int stage) {
    const int32_t coordinates[2] = {at.slice * kBoxK, at.work.tile_c * kBlockN};
    ptx::cp_async_bulk_tensor(ptx::space_cluster, ptx::space_global,
                              col_tiles + stage * Shape::kColTileBytes, &cols_map, coordinates,
                              &full[stage]);
  };
  const auto load_weights = [&](const SliceCursor& at, int stage) {
    kSwap ? load_rows(at, stage) : load_cols(at, stage);
  };
  const auto load_x = [&](const SliceCursor& at, int stage) {
    kSwap ? load_cols(at, stage) : load_rows(at, stage);
  };

  run_producer<Shape::kStages, Shape::kStageBytes>(schedule, full, empty, load_weights, load_x);
}

// ---- the consumers
// -----------------------------------------------------------------------------------
template <Operand kOperand, Scaling kScaling, int kBlockN, bool kSwap>
__device__ void consume(const Params& p, int consumer, const uint8_t* row_tiles,
                        const uint8_t* col_tiles, uint64_t* full, uint64_t* empty, int* ticket) {
  using Shape = TileShape<kBlockN>;
  using Acc = std::conditional_t<kOperand == Operand::E4m3, float, int32_t>;
  using Mma = Wgmma<kOperand, kBlockN>;
  constexpr int kRegs = kBlockN / 2;
  constexpr bool kPromote = kScaling != Scaling::integer;
  const Schedule& schedule = p.schedule;
  const ScaledMmEpilogue& e = p.epilogue;

  const int thread = threadIdx.x - 128;  // among the consumers
  const Fragment fragment(thread % 128);
  const bool warp_leader = threadIdx.x % 32 == 0;
  // Descriptors of stage 0 (this warpgroup's 64 rows of the P tile, the whole Q tile); a stage's
  // are these plus its offset (the start address field counts 16-byte units).
  const uint64_t rows_descriptor = tile_descriptor(row_tiles + consumer * 64 * kBoxK);
  const uint64_t cols_descriptor = tile_descriptor(col_tiles);

  Acc acc[kRegs];
  float slice_sum[kPromote ? kRegs : 1];
  int stage = 0;
  uint32_t phase = 0;
  for (int unit = blockIdx.x; unit < schedule.units(); unit += gridDim.x) {
    const Work w = work_at(schedule, unit);
    const int row_base = w.tile_r * kBlockM + consumer * 64 + fragment.row0;
    const int col_base = w.tile_c * kBlockN + fragment.col0;
    if constexpr (kPromote) {
#pragma unroll
      for (int i = 0; i < kRegs; ++i) acc[i] = 0.f;
    }
    int previous_stage = -1;
    for (int slice = w.slice_begin; slice < w.slice_end; ++slice) {
      // Block scales of this slice, fetched before the wait so that their latency hides behind it.
      float token_scales[kSwap ? kRegs / 2 : 2];
      float feature_scale = 1.f;
      if constexpr (kScaling == Scaling::block) {
        const int64_t g = e.k_groups;
        if constexpr (kSwap) {
          feature_scale = e.feature_block_scale[(w.tile_r * kBlockM / 128) * g + slice];
#pragma unroll
          for (int i = 0; i < kRegs / 2; ++i) {
            const int token = col_base + 8 * (i / 2) + i % 2;  // column of registers 4(i/2) + i%2
            token_scales[i] = token < p.m ? e.token_block_scale[token * g + slice] : 0.f;
          }
        } else {
          feature_scale = e.feature_block_scale[(w.tile_c * kBlockN / 128) * g + slice];
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int token = row_base + 8 * h;
            token_scales[h] = token < p.m ? e.token_block_scale[token * g + slice] : 0.f;
          }
        }
      }
      wait_barrier(&full[stage], phase);
      const uint64_t a = rows_descriptor + stage * (Shape::kRowTileBytes >> 4);
      const uint64_t b = cols_descriptor + stage * (Shape::kColTileBytes >> 4);
      if constexpr (kPromote) {
        wgmma_fence();
#pragma unroll
        for (int step = 0; step < kStepsPerSlice; ++step)
          Mma::mma(slice_sum, a + step * kDescriptorStepK, b + step * kDescriptorStepK, step > 0);
        wgmma_commit();
        wgmma_wait<0>();
        fence_registers(slice_sum);
        if (warp_leader) ptx::mbarrier_arrive(&empty[stage]);
#pragma unroll
        for (int i = 0; i < kRegs; ++i) {
          if constexpr (kScaling == Scaling::block) {
            const float token_scale =
                kSwap ? token_scales[(i / 4) * 2 + i % 2] : token_scales[(i / 2) % 2];
            acc[i] += slice_sum[i] * (token_scale * feature_scale);
          } else {
            acc[i] += slice_sum[i];
          }
        }
      } else {
        // Integer: one exact s32 chain over the unit's K; the previous slice's wgmmas retire while
        // this slice's are issued, and its stage is released then.
        fence_registers(acc);
        wgmma_fence();
#pragma unroll
        for (int step = 0; step < kStepsPerSlice; ++step)
          Mma::mma(acc, a + step * kDescriptorStepK, b + step * kDescriptorStepK,
                   slice > w.slice_begin || step > 0);
        wgmma_commit();
        wgmma_wait<1>();
        if (previous_stage >= 0 && warp_leader) ptx::mbarrier_arrive(&empty[previous_stage]);
        previous_stage = stage;
      }
      if (++stage == Shape::kStages) stage = 0, phase ^= 1;
    }
    if constexpr (!kPromote) {
      wgmma_wait<0>();
      fence_registers(acc);
      if (warp_leader) ptx::mbarrier_arrive(&empty[previous_stage]);
    }

    if (schedule.splits > 1 && !reduce_splits<true>(p, w, acc, thread, ticket)) continue;

    if (e.out_type == ScalarType::bf16)
      store_tile<__nv_bfloat16, kScaling, kSwap>(p, acc, row_base, col_base);
    else if (e.out_type == ScalarType::fp16)
      store_tile<__half, kScaling, kSwap>(p, acc, row_base, col_base);
    else
      store_tile<float, kScaling, kSwap>(p, acc, row_base, col_base);
  }
}

// ---- the kernels' common frame
// ----------------------------------------------------------------------------------------------
// The dynamic shared memory, from its first 1024-byte boundary (the swizzle atom TMA and wgmma's
// descriptors assume; the kernels ask for 1024 bytes more than they use).
__device__ __forceinline__ uint8_t* aligned_shared_window() {
  extern __shared__ uint8_t shared_window[];
  const uint32_t window = static_cast<uint32_t>(__cvta_generic_to_shared(shared_window));
  return shared_window + ((1024 - window % 1024) % 1024);
}

// full[s]: the producer's one arrival and the stage's bytes; empty[s]: one arrival per consumer
// warp. Ends with the CTA's barrier, so every thread sees them initialized.
__device__ __forceinline__ void init_stage_barriers(uint64_t* full, uint64_t* empty, int stages) {
  if (threadIdx.x == 0) {
    for (int s = 0; s < stages; ++s) {
      ptx::mbarrier_init(&full[s], 1);
      ptx::mbarrier_init(&empty[s], kConsumers * 4);
    }
    ptx::fence_mbarrier_init(ptx::sem_release, ptx::scope_cluster);
  }
  __syncthreads();
}

// Warpgroup 0 gives up registers and one of its threads produces; warpgroups 1 and 2 take them and
// consume (`consume(0 or 1)`), once the kernel before this one has finished: it may have written
// what the epilogue reads (scales, zero points) or still read what it writes (y).
template <typename Produce, typename Consume>
__device__ __forceinline__ void specialize_warpgroups(Produce produce, Consume consume) {
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
    if (threadIdx.x == 0) produce();
  } else {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
    wait_for_previous_grid();
    consume(warpgroup - 1);
  }
}

// ---- the kernel
// --------------------------------------------------------------------------------------
template <Operand kOperand, Scaling kScaling, int kBlockN, bool kSwap>
__global__ void __launch_bounds__(kThreads, 1)
    scaled_mm_sm90_kernel(const __grid_constant__ CUtensorMap rows_map,
                          const __grid_constant__ CUtensorMap cols_map, const Params p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Shape = TileShape<kBlockN>;
  uint8_t* row_tiles = aligned_shared_window();
  uint8_t* col_tiles = row_tiles + Shape::kStages * Shape::kRowTileBytes;
  auto* full = reinterpret_cast<uint64_t*>(col_tiles + Shape::kStages * Shape::kColTileBytes);
  uint64_t* empty = full + kMaxStages;
  auto* ticket = reinterpret_cast<int*>(empty + kMaxStages);
  init_stage_barriers(full, empty, Shape::kStages);

  specialize_warpgroups(
      [&] {
        produce<kBlockN, kSwap>(rows_map, cols_map, p.schedule, row_tiles, col_tiles, full, empty);
      },
      [&](int consumer) {
        consume<kOperand, kScaling, kBlockN, kSwap>(p, consumer, row_tiles, col_tiles, full, empty,
                                                    ticket);
      });
#endif
}

// ---- launch
// ----------------------------------------------------------------------------------------------
// The parameters of a call of m tokens and n features for either core: rows x cols cut into
// kBlockM x block_n tiles, k_slices slices of K shared out over the plan's splits, and the split-K
// workspace (tickets, then partial tiles) where there is more than one split.
inline Params core_params(const TilePlan& plan, void* workspace, int64_t m, int64_t n, int64_t rows,
                          int64_t cols, int block_n, int64_t k_slices,
                          const ScaledMmEpilogue& epilogue) {
  Params p;
  p.m = static_cast<int>(m);
  p.n = static_cast<int>(n);
  p.epilogue = epilogue;
  Schedule& s = p.schedule;
  s.k_slices = static_cast<int>(k_slices);
  s.tiles_r = static_cast<int>((rows + kBlockM - 1) / kBlockM);
  s.tiles_c = static_cast<int>((cols + block_n - 1) / block_n);
  s.slices_per_split = (s.k_slices + plan.splits - 1) / plan.splits;
  s.splits = (s.k_slices + s.slices_per_split - 1) / s.slices_per_split;
  if (plan.splits > 1) {
    p.arrivals = static_cast<int*>(workspace);
    p.partials = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(workspace) + ticket_bytes(plan));
  }
  return p;
}

// Launches one of the cores' kernels: a persistent grid of `grid` CTAs of kThreads with
// `shared_bytes` of dynamic shared memory (the limit raised once per device and kernel), with
// programmatic dependent launch, so that it starts while the kernel before it in the stream ends.
template <auto kKernel, typename... Args>
void launch_persistent(int shared_bytes, int grid, cudaStream_t stream, const char* name,
                       const Args&... args) {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  static std::atomic<uint64_t> configured{0};  // devices whose shared-memory limit is raised
  if (!(configured.load() >> (device % 64) & 1)) {
    check_cuda(
        cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes),
        "cudaFuncSetAttribute");
    configured.fetch_or(uint64_t{1} << (device % 64));
  }
  launch_dependent(kKernel, dim3(static_cast<unsigned>(grid)), dim3(kThreads), shared_bytes, stream,
                   true, name, args...);
}

template <Operand kOperand, Scaling kScaling, int kBlockN, bool kSwap>
void launch(const ScaledMmCall& call, cudaStream_t stream) {
  using Shape = TileShape<kBlockN>;
  const int64_t rows = kSwap ? call.n : call.m, cols = kSwap ? call.m : call.n;
  const Params p = core_params(call.plan, call.workspace, call.m, call.n, rows, cols, kBlockN,
                               (call.k_pitch + kBoxK - 1) / kBoxK, call.epilogue);
  const Schedule& s = p.schedule;

  const CUtensorMap x_map = make_code_map(call.x, call.m, call.k_pitch, call.k_pitch,
                                          kSwap ? kBlockN : kBlockM, "x codes");
  const CUtensorMap& rows_map = kSwap ? *call.weight_map : x_map;
  const CUtensorMap& cols_map = kSwap ? x_map : *call.weight_map;

  launch_persistent<scaled_mm_sm90_kernel<kOperand, kScaling, kBlockN, kSwap>>(
      Shape::kSharedBytes, std::min(s.units(), call.plan.sms), stream, "scaled_mm_sm90", rows_map,
      cols_map, p);
}

template <Operand kOperand, Scaling kScaling>
void run_scaled_mm(const ScaledMmCall& call, cudaStream_t stream) {
  if (!call.plan.swap) return launch<kOperand, kScaling, 128, false>(call, stream);
  if (call.plan.block_n == 16) return launch<kOperand, kScaling, 16, true>(call, stream);
  if (call.plan.block_n == 32) return launch<kOperand, kScaling, 32, true>(call, stream);
  return launch<kOperand, kScaling, 64, true>(call, stream);
}

}  // namespace qlinear::cuda::sm90
