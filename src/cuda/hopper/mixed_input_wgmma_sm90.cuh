// The Hopper mixed-input GEMM core (sm_90a): y[M, N] = x[M, K] · Ŵ[N, K]ᵀ with low-bit weights W
// converted to bf16 / fp16 in registers and fed to wgmma as its A operand, x (bf16 / fp16, as
// given) its B operand from shared memory. One persistent CTA per SM, three warpgroups:
//
//   producer (warpgroup 0, one thread)        consumers (warpgroups 1 and 2: 64 rows of W each)
//   for each work unit, each stage of K:         for each work unit, each stage:
//     wait  empty[s]                               wait  full[s]
//     TMA   W words [8 tiles x 2 k-blocks]         per k-block: 16 bytes a thread -> A registers
//     TMA   x tile [block_n x stage K]               (the format's bit operations), wgmma k16 x 4
//     (full[s] completes when both land)             (x 2 for 8-bit codes)
//                                                  at a group's end: wait, fold group sum · scale
//                                                  arrive empty[s]; epilogue: bias -> y
//
// The product is computed transposed, yᵀ = Ŵ·xᵀ (Machete's arrangement): W on wgmma's 64-row
// side, whose A fragment may come from registers, the tokens on its N side (32, 64 or 128 a tile).
// The weights are the packed fragments of the format's mma.sync kernel (cuda/detail/fragments.hpp):
// wgmma's register A fragment for 16-bit types is, warp by warp, mma.sync m16n8k16's, so the
// 16 bytes a lane reads per k-block are exactly its four A registers of 4 (4-bit) or 2 (8-bit) k16
// steps — one layout and one copy serve both kernels.
//
// Exactness is the mma kernel's: the format's policy dequantizes a code to a value exact in the
// activation type (block-scaled formats: times its block scale, still exact), wgmma multiplies
// exact weights by the given activations and accumulates in fp32; a group's sum is multiplied by
// its fp32 scale when the group ends (the fold), never by rounding the weight — on tiles of up to
// 128 tokens. The 256-token tiles hold one fp32 sum over K and no group sum beside it (128
// accumulators a thread), so there the integer formats' group scales are rounded to T and applied
// in the fragment (GroupScalesInFragment: each weight rounded once, the kernel's tolerance says
// so; on 128-token tiles that measured no faster than the folds: bench/NOTES.md "The wgmma core's
// scale in the fragment"). Zero points keep the folds and 128-token tiles.
//
// Work units, split K and the epilogue are the scaled-mm core's (cuda/hopper/scaled_mm_sm90.cuh).
//
// Where it stands on the H100 (bench/NOTES.md "The wgmma core's consumers", 2026-12-07): for
// int4 g128, ahead of the mma kernel from 8-32 tokens and of dequantize-then-GEMM up to 1024, at
// 0.68-0.97x cuBLAS bf16 at 256 tokens and 0.74x at 1024. ncu's source counters put what is left
// in the consumers' own instruction stream (the conversion, the stage and group bookkeeping) and
// in the waits for the producer's stages; the epilogue is a tenth of it. Folding a group one
// k-block late (two group sums, which fit only 64-token tiles) measured 2-6 % faster at 64
// tokens and slower past them: bench/NOTES.md "The wgmma core's group folds".
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "cuda/detail/mixed_input_mma_sm80.cuh"
#include "cuda/hopper/mixed_input_wgmma_sm90.hpp"
#include "cuda/hopper/scaled_mm_layer.hpp"
#include "cuda/hopper/scaled_mm_sm90.cuh"
#include "cuda/hopper/tensor_map.hpp"
#include "gpu/scratch.hpp"

namespace qlinear::cuda::sm90 {

// ---- geometry
// ------------------------------------------------------------------------------------
inline constexpr int kRowTiles = kBlockM / detail::kRowsPerTile;  // 16-row tiles of W a CTA tile
inline constexpr int kPackedKBlockBytes = 32 * 16;  // one k-block of a 16-row tile: 16 B a lane
inline constexpr int kHalfBoxK = kBoxK / 2;         // 16-bit elements of a 128-byte swizzle row

template <typename F, int kBlockN>
struct MixedShape {
  static constexpr int kBlockK = detail::block_k(F::kBits);  // K of one 16-byte word a lane
  static constexpr int kStageK = kMixedStageKBlocks * kBlockK;
  static constexpr int kStepsPerKBlock = kBlockK / 16;  // wgmma k16 steps
  static constexpr int kXBoxes = kStageK / kHalfBoxK;
  static constexpr int kXBoxBytes = kBlockN * 128;  // a multiple of 1024: swizzle atoms
  static constexpr int kXTileBytes = kXBoxes * kXBoxBytes;
  static constexpr int kWeightTileBytes = kRowTiles * kMixedStageKBlocks * kPackedKBlockBytes;
  static constexpr int kStageBytes = kXTileBytes + kWeightTileBytes;
  static constexpr int kBarrierBytes = 2 * kMaxStages * 8 + 16;
  static constexpr int kStages =
      std::min(kMaxStages, (kSharedLimit - 1024 - kBarrierBytes) / kStageBytes);
  static constexpr int kSharedBytes = 1024 + kStages * kStageBytes + kBarrierBytes;
  static_assert(kStageK % kHalfBoxK == 0, "a stage holds whole 128-byte swizzle rows of x");
  static_assert(kXBoxBytes % 1024 == 0, "x boxes start on swizzle atoms");
};

struct MixedParams {
  Params core;  // schedule (in stages), m, n, epilogue (bias, out), split-K workspace
  const void* scales = nullptr;
  const uint8_t* zeros = nullptr;
  int groups = 0, group_size = 0;
  // F::kBlockScales: [16-row tiles][k-blocks][8 row quads][2 rows][F::kBlockScaleSlots]
  const uint8_t* block_scales = nullptr;
  int kblocks = 0;
};

template <typename T>
inline constexpr HalfOperand kHalfOperand =
    std::is_same_v<T, __half> ? HalfOperand::F16 : HalfOperand::Bf16;

// ---- the producer
// ------------------------------------------------------------------------------------
template <typename F, int kBlockN>
__device__ void produce_mixed(const CUtensorMap& weight_map, const CUtensorMap& x_map,
                              const Schedule& schedule, uint8_t* x_tiles, uint8_t* weight_tiles,
                              uint64_t* full, uint64_t* empty) {
  using Shape = MixedShape<F, kBlockN>;
  const auto load_weights = [&](const SliceCursor& at, int stage) {
    const int32_t coordinates[2] = {at.slice * kMixedStageKBlocks * (kPackedKBlockBytes / 4),
                                    at.work.tile_r * kRowTiles};
    ptx::cp_async_bulk_tensor(ptx::space_cluster, ptx::space_global,
                              weight_tiles + stage * Shape::kWeightTileBytes, &weight_map,
                              coordinates, &full[stage]);
  };
  const auto load_x = [&](const SliceCursor& at, int stage) {
#pragma unroll
    for (int box = 0; box < Shape::kXBoxes; ++box) {
      const int32_t coordinates[2] = {at.slice * Shape::kStageK + box * kHalfBoxK,
                                      at.work.tile_c * kBlockN};
      ptx::cp_async_bulk_tensor(ptx::space_cluster, ptx::space_global,
                                x_tiles + stage * Shape::kXTileBytes + box * Shape::kXBoxBytes,
                                &x_map, coordinates, &full[stage]);
    }
  };
  run_producer<Shape::kStages, Shape::kStageBytes>(schedule, full, empty, load_weights, load_x);
}

// ---- the consumers
// -----------------------------------------------------------------------------------
// This thread's part of a work unit's K loop: the group scales and dequantization offsets of its
// two rows (row_base, row_base + 8), loaded a group ahead. Rows past N are padding (scale 0); K
// past the last group reuses its values (the weights there are zero or meet zero activations).
// The group index advances by one a group (no division in the loop: a group's end is on the
// consumers' path to their next wgmma), and the conversion and the fold move to the next group at
// different k-blocks: the first k-block of a group is converted while the last of the one before
// is still in the tensor cores, before that group's sum is folded.
template <typename F, typename T>
struct GroupCursor {
  const MixedParams& p;
  int row_index[2];  // row * groups, of both rows
  int next_group;    // the group whose scale and zero point the loads below hold
  float scale[2], next_scale[2], next_zero[2];
  typename F::template Offset<T> offset[2];

  __device__ GroupCursor(const MixedParams& params, int row, int k_begin) : p(params) {
#pragma unroll
    for (int h = 0; h < 2; ++h) row_index[h] = (row + 8 * h) * p.groups;
    next_group = k_begin / p.group_size;
    load_next();
    enter_conversion();
    enter_fold();
  }
  __device__ void load_next() {
    const int g = min(next_group, p.groups - 1);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      next_scale[h] = F::scale(p.scales, row_index[h] + g);
      next_zero[h] = p.zeros ? p.zeros[row_index[h] + g] : F::kZero;
    }
  }
  // The k-blocks converted from here on belong to the next group.
  __device__ void enter_conversion() {
#pragma unroll
    for (int h = 0; h < 2; ++h) offset[h] = F::template offset<T>(next_zero[h]);
  }
  // The sums folded from here on belong to the next group (after enter_conversion).
  __device__ void enter_fold() {
#pragma unroll
    for (int h = 0; h < 2; ++h) scale[h] = next_scale[h];
    ++next_group;
    load_next();
  }
};

// A stage's operands as a consumer lane reads them, for both K loops below: its 16 bytes of each
// k-block's packed words, and x's k16 steps as wgmma B descriptors.
template <typename Shape>
struct StageOperands {
  const uint4* words;  // this lane's word of k-block 0; k-block kb's is 32 words on
  uint64_t x;          // the descriptor of the stage's x tile

  __device__ StageOperands(const uint4* words0, uint64_t x_descriptor, int stage)
      : words(words0 + stage * (Shape::kWeightTileBytes / 16)),
        x(x_descriptor + stage * (Shape::kXTileBytes >> 4)) {}
  __device__ void kblock_words(int kb, uint32_t (&word)[4]) const {
    const uint4 v = words[kb * 32];
    word[0] = v.x, word[1] = v.y, word[2] = v.z, word[3] = v.w;
  }
  // Step s of k-block kb: 32 bytes into its 128-byte swizzle row, rows of 64 K a box.
  __device__ uint64_t x_step(int kb, int s) const {
    const int j = kb * Shape::kStepsPerKBlock + s;
    return x + (j / 4) * (Shape::kXBoxBytes >> 4) + (j % 4) * 2;
  }
};

// Group-scaled formats: exact weights, a group's fp32 sum folded with its fp32 scale when the group
// ends. The k-blocks alternate between two sets of A registers: k-block i + 1 (of this stage or,
// after waiting for it, of the next) is converted while k-block i's wgmmas run, so a group's end
// waits for its wgmmas and folds, and the next group's first wgmmas issue at once (int4 g128 on
// the H100: 1.12-1.18x faster than converting each stage's first k-block after the fold, with the
// slimmer epilogue and the group cursor's division gone; bench/NOTES.md "The wgmma core's
// consumers"). A stage is released once the wgmmas of its last k-block are retired (by the next
// k-block's wait).
template <typename F, typename T, typename Shape, typename Mma, int kRegs>
__device__ void accumulate_folded(const MixedParams& p, const Work& w, int row_base,
                                  const uint4* words0, uint64_t x_descriptor, bool warp_leader,
                                  uint64_t* full, uint64_t* empty, int& stage, uint32_t& phase,
                                  float (&acc)[kRegs]) {
  static_assert(kMixedStageKBlocks % 2 == 0, "k-blocks alternate between two sets of A registers");
  constexpr int kBlockK = Shape::kBlockK;
  constexpr int kSteps = Shape::kStepsPerKBlock;
  float group_acc[kRegs];
  const int k_begin = w.slice_begin * Shape::kStageK;
  GroupCursor<F, T> group(p, row_base, k_begin);
  const int kblocks_per_group = p.group_size / kBlockK;
  int kblocks_left = (p.group_size - k_begin % p.group_size) / kBlockK;
  bool fresh = true;  // the next wgmma starts the group's sum (overwrites group_acc)
  const auto fold = [&] {
    fence_registers(group_acc);
#pragma unroll
    for (int i = 0; i < kRegs; ++i) acc[i] += group.scale[(i / 2) % 2] * group_acc[i];
  };
  uint32_t a[2][kSteps][4];
  uint32_t word[4];  // the packed words of the next k-block to convert, read a k-block ahead
  const auto convert = [&](uint32_t(&set)[kSteps][4]) {
#pragma unroll
    for (int s = 0; s < kSteps; ++s)
      F::template fragment<T>(word, s, group.offset, uint2{}, set[s]);
  };

  wait_barrier(&full[stage], phase);
  StageOperands<Shape>(words0, x_descriptor, stage).kblock_words(0, word);
  convert(a[0]);
  int released = -1;  // the stage whose last k-block may still be read by wgmmas in flight
  for (int slice = w.slice_begin; slice < w.slice_end; ++slice) {
    const StageOperands<Shape> operands(words0, x_descriptor, stage);
    const int next_stage = stage + 1 == Shape::kStages ? 0 : stage + 1;
    const uint32_t next_phase = next_stage == 0 ? phase ^ 1 : phase;
#pragma unroll
    for (int kb = 0; kb < kMixedStageKBlocks; ++kb) {
      // The next k-block's words are read before this k-block's wgmmas issue (a stage's first,
      // once the stage has landed, right after them), their shared-memory latency behind them.
      const bool more = kb + 1 < kMixedStageKBlocks || slice + 1 < w.slice_end;
      if (kb + 1 < kMixedStageKBlocks) operands.kblock_words(kb + 1, word);
      wgmma_fence();
#pragma unroll
      for (int s = 0; s < kSteps; ++s)
        Mma::mma(group_acc, a[kb % 2][s], operands.x_step(kb, s), fresh && s == 0 ? 0 : 1);
      wgmma_commit();
      fresh = false;
      if (kb + 1 == kMixedStageKBlocks && more) {
        wait_barrier(&full[next_stage], next_phase);
        StageOperands<Shape>(words0, x_descriptor, next_stage).kblock_words(0, word);
      }
      wgmma_wait<1>();  // k-block kb - 1 is done: the other set of A registers is free
      if (kb == 0 && released >= 0 && warp_leader) ptx::mbarrier_arrive(&empty[released]);
      const bool group_ends = --kblocks_left == 0;
      if (group_ends) group.enter_conversion();
      if (more) convert(a[(kb + 1) % 2]);
      if (group_ends) {
        wgmma_wait<0>();
        fold();
        group.enter_fold();
        kblocks_left = kblocks_per_group;
        fresh = true;
      }
    }
    released = stage;
    stage = next_stage, phase = next_phase;
  }
  wgmma_wait<0>();
  if (released >= 0 && warp_leader) ptx::mbarrier_arrive(&empty[released]);
  if (!fresh) fold();  // the split ended inside a group
}

// Block-scaled formats (F::kBlockScales: NVFP4): the policy applies the block scales in the
// fragment, exactly, and the one fp32 scale of the row (the format's global scale, its one group)
// multiplies the sum at the end, so one fp32 sum runs over all of K and nothing waits at a group's
// end. A k-block's wgmmas stay in flight while the next k-block is converted into the other set of
// A registers, and a stage is released once the k-block after its last has been issued.
template <typename F, typename T, typename Shape, typename Mma, int kRegs>
__device__ void accumulate_pipelined(const MixedParams& p, const Work& w, int row_base,
                                     int row_tile, const uint4* words0, uint64_t x_descriptor,
                                     uint64_t* full, uint64_t* empty, int& stage, uint32_t& phase,
                                     float (&acc)[kRegs]) {
  static_assert(kMixedStageKBlocks % 2 == 0, "k-blocks alternate between two sets of A registers");
  static_assert(F::kBlockScales, "one group a row; the scales within it are the policy's");
  const int lane = threadIdx.x % 32;
  const bool warp_leader = lane == 0;
  GroupCursor<F, T> group(p, row_base, w.slice_begin * Shape::kStageK);
  // Block scales: this lane's bytes of each k-block of a stage, loaded a stage ahead.
  constexpr int kLaneBytes = detail::block_scale_lane_bytes<F>();
  const uint8_t* block_scales =
      p.block_scales +
      ((int64_t{w.tile_r * kRowTiles + row_tile} * p.kblocks) * 8 + lane / 4) * kLaneBytes;
  uint2 next_block_scales[kMixedStageKBlocks] = {};
  const auto load_stage_scales = [&](int slice) {
#pragma unroll
    for (int kb = 0; kb < kMixedStageKBlocks; ++kb)
      next_block_scales[kb] = detail::load_block_scales<kLaneBytes>(
          block_scales + (slice * kMixedStageKBlocks + kb) * 8 * kLaneBytes);
  };
  load_stage_scales(w.slice_begin);

  uint32_t a[2][Shape::kStepsPerKBlock][4];
  int released = -1;  // the stage whose last k-block may still be read by wgmmas in flight
  for (int slice = w.slice_begin; slice < w.slice_end; ++slice) {
    uint2 block_scale[kMixedStageKBlocks];
#pragma unroll
    for (int kb = 0; kb < kMixedStageKBlocks; ++kb) block_scale[kb] = next_block_scales[kb];
    if (slice + 1 < w.slice_end) load_stage_scales(slice + 1);
    wait_barrier(&full[stage], phase);
    const StageOperands<Shape> operands(words0, x_descriptor, stage);
#pragma unroll
    for (int kb = 0; kb < kMixedStageKBlocks; ++kb) {
      uint32_t word[4];
      operands.kblock_words(kb, word);
      uint32_t(&set)[Shape::kStepsPerKBlock][4] = a[kb % 2];
#pragma unroll
      for (int s = 0; s < Shape::kStepsPerKBlock; ++s)
        F::template fragment<T>(word, s, group.offset, block_scale[kb], set[s]);
      wgmma_fence();
#pragma unroll
      for (int s = 0; s < Shape::kStepsPerKBlock; ++s)
        Mma::mma(acc, set[s], operands.x_step(kb, s), 1);
      wgmma_commit();
      wgmma_wait<1>();  // the k-block before this one is done: its A registers and x are free
      if (kb == 0 && released >= 0 && warp_leader) ptx::mbarrier_arrive(&empty[released]);
    }
    released = stage;
    if (++stage == Shape::kStages) stage = 0, phase ^= 1;
  }
  wgmma_wait<0>();
  fence_registers(acc);
  if (released >= 0 && warp_leader) ptx::mbarrier_arrive(&empty[released]);
#pragma unroll
  for (int i = 0; i < kRegs; ++i) acc[i] *= group.scale[(i / 2) % 2];
}

// A group-scaled format on the 256-token tiles (F's fp32 group scales, no zero points): its
// fragment times the row's group scale rounded to T (MixedInputCall::block_scales as
// group_scale_pairs lays them out: a uint2 of T pairs a k-block), so that one fp32 sum runs over
// K on the pipelined path. Each weight is rounded once (twice where the scales are not of T), the
// tolerance the kernel states; the 32- to 128-token tiles keep the exact folds.
template <typename F>
struct GroupScalesInFragment : F {
  static constexpr bool kBlockScales = true;
  static constexpr int kBlockScaleSlots = 4;  // a T pair a row: 8 bytes a lane
  __device__ static float scale(const void*, int64_t) { return 1.f; }  // applied in the fragment
  template <typename T>
  static __device__ void fragment(const uint32_t (&word)[4], int s,
                                  const typename F::template Offset<T> (&offset)[2], uint2 scales,
                                  uint32_t (&a)[4]) {
    F::template fragment<T>(word, s, offset, uint2{}, a);
#pragma unroll
    for (int p = 0; p < 4; ++p)
      a[p] = detail::bits_of<T>(detail::pair_of<T>(a[p]) *
                                detail::pair_of<T>(p % 2 ? scales.y : scales.x));
  }
};

template <typename F, typename T, int kBlockN>
__device__ void consume_mixed(const MixedParams& p, int consumer, const uint8_t* x_tiles,
                              const uint8_t* weight_tiles, uint64_t* full, uint64_t* empty,
                              int* ticket) {
  using Shape = MixedShape<F, kBlockN>;
  using Mma = WgmmaRegisterA<kHalfOperand<T>, kBlockN>;
  constexpr int kRegs = kBlockN / 2;
  const Schedule& schedule = p.core.schedule;

  const int thread = threadIdx.x - 128;  // among the consumers
  const int warp = thread % 128 / 32, lane = threadIdx.x % 32;
  const Fragment fragment(thread % 128);
  const bool warp_leader = lane == 0;
  // This warp's 16-row tile of W within the CTA tile, and where its words lie in a stage.
  const int row_tile = consumer * 4 + warp;
  const uint4* words0 = reinterpret_cast<const uint4*>(
                            weight_tiles + row_tile * kMixedStageKBlocks * kPackedKBlockBytes) +
                        lane;
  const uint64_t x_descriptor = tile_descriptor(x_tiles);

  float acc[kRegs];
  int stage = 0;
  uint32_t phase = 0;
  for (int unit = blockIdx.x; unit < schedule.units(); unit += gridDim.x) {
    const Work w = work_at(schedule, unit);
    const int row_base = w.tile_r * kBlockM + consumer * 64 + fragment.row0;  // and row_base + 8
    const int col_base = w.tile_c * kBlockN + fragment.col0;
#pragma unroll
    for (int i = 0; i < kRegs; ++i) acc[i] = 0.f;
    if constexpr (F::kBlockScales)
      accumulate_pipelined<F, T, Shape, Mma>(p, w, row_base, row_tile, words0, x_descriptor, full,
                                             empty, stage, phase, acc);
    else
      accumulate_folded<F, T, Shape, Mma>(p, w, row_base, words0, x_descriptor, warp_leader, full,
                                          empty, stage, phase, acc);

    if (schedule.splits > 1 && !reduce_splits<F::kBlockScales>(p.core, w, acc, thread, ticket))
      continue;
    const ScaledMmEpilogue& e = p.core.epilogue;
    if (e.out_type == ScalarType::bf16)
      store_tile<__nv_bfloat16, Scaling::promoted, true>(p.core, acc, row_base, col_base);
    else if (e.out_type == ScalarType::fp16)
      store_tile<__half, Scaling::promoted, true>(p.core, acc, row_base, col_base);
    else
      store_tile<float, Scaling::promoted, true>(p.core, acc, row_base, col_base);
  }
}

// ---- the kernel
// --------------------------------------------------------------------------------------
template <typename F, typename T, int kBlockN>
__global__ void __launch_bounds__(kThreads, 1)
    mixed_input_wgmma_kernel(const __grid_constant__ CUtensorMap weight_map,
                             const __grid_constant__ CUtensorMap x_map, const MixedParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Shape = MixedShape<F, kBlockN>;
  uint8_t* x_tiles = aligned_shared_window();
  uint8_t* weight_tiles = x_tiles + Shape::kStages * Shape::kXTileBytes;
  auto* full = reinterpret_cast<uint64_t*>(weight_tiles + Shape::kStages * Shape::kWeightTileBytes);
  uint64_t* empty = full + kMaxStages;
  auto* ticket = reinterpret_cast<int*>(empty + kMaxStages);
  init_stage_barriers(full, empty, Shape::kStages);

  specialize_warpgroups(
      [&] {
        produce_mixed<F, kBlockN>(weight_map, x_map, p.core.schedule, x_tiles, weight_tiles, full,
                                  empty);
      },
      [&](int consumer) {
        consume_mixed<F, T, kBlockN>(p, consumer, x_tiles, weight_tiles, full, empty, ticket);
      });
#endif
}

// ---- launch
// ----------------------------------------------------------------------------------------------
template <typename F, typename T, int kBlockN>
void launch_mixed(const MixedInputCall& call, cudaStream_t stream) {
  using Shape = MixedShape<F, kBlockN>;
  MixedParams p;
  // W on the rows side (features), the tokens on the columns side, K in stages.
  p.core = core_params(call.plan, call.workspace, call.m, call.n, call.n, call.m, kBlockN,
                       call.k_stages, call.epilogue);
  const Schedule& s = p.core.schedule;
  p.scales = call.scales;
  p.zeros = call.zeros;
  p.groups = call.groups;
  p.group_size = call.group_size;
  p.block_scales = call.block_scales;
  p.kblocks = call.kblocks;

  launch_persistent<mixed_input_wgmma_kernel<F, T, kBlockN>>(
      Shape::kSharedBytes, std::min(s.units(), call.plan.sms), stream, "mixed_input_wgmma_sm90",
      *call.weight_map, call.x_map, p);
}

// Runs format F's GEMM on bf16 (or fp16) activations as call.plan says.
template <typename F>
void run_mixed_input(const MixedInputCall& call, bool bf16, cudaStream_t stream) {
  const auto run = [&]<typename T>() {
    if (call.plan.block_n == 32) return launch_mixed<F, T, 32>(call, stream);
    if (call.plan.block_n == 64) return launch_mixed<F, T, 64>(call, stream);
    // 256 tokens only where one sum runs over K: a group's sum beside it would not fit, so the
    // group-scaled formats apply their scales in the fragment there.
    if (call.plan.block_n == 256) {
      if constexpr (F::kBlockScales)
        return launch_mixed<F, T, 256>(call, stream);
      else
        return launch_mixed<GroupScalesInFragment<F>, T, 256>(call, stream);
    }
    return launch_mixed<F, T, 128>(call, stream);
  };
  if (bf16)
    run.template operator()<__nv_bfloat16>();
  else
    run.template operator()<__half>();
}

// x as TMA reads it: rows [M, K] in K order (act order: the weights' K permutation applied, x's
// column order[k] at k), with a pitch of `pitch` elements (16-byte rows).
template <typename T>
__global__ void stage_activations(const T* x, int64_t m, int64_t k, const int32_t* order, T* staged,
                                  int64_t pitch) {
  const int64_t total = m * k;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t row = i / k, col = i % k;
    staged[row * pitch + col] = x[row * k + (order ? order[col] : col)];
  }
}

// ---- the kernel of format F
// ------------------------------------------------------------------------------ F is the format
// policy of the mma.sync kernel `layout` (cuda/detail/mixed_input_mma_sm80.cuh), whose packed
// weights this kernel reads: a composite plan of both holds one copy (Kernel::weights_for).
template <typename F>
class MixedInputWgmmaSm90 final : public Kernel {
 public:
  MixedInputWgmmaSm90(std::string name, std::shared_ptr<const Kernel> layout)
      : info_{std::move(name), Provider::cuda, F::kFamily}, layout_(std::move(layout)) {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return hopper_sm90a(platform); }

  Verdict can_implement(const LayerConfig& c) const override {
    static_assert(!detail::kQuantizedActivations<F>, "the core takes 16-bit activations");
    constexpr int kBlockK = MixedShape<F, 128>::kBlockK;
    if (Verdict v = layout_->can_implement(c); !v) return v;
    // A group's scale changes when a k-block ends (block-scaled formats: inside the policy's
    // fragment, by k16 step).
    if (!F::kBlockScales && c.weight_scale == Granularity::per_group && c.group_size % kBlockK != 0)
      return Verdict::no(cat("group_size (", c.group_size,
                             ") not supported; supported: multiples of ", kBlockK,
                             ", or per-channel scales"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& weights,
                                                         Device device) const override {
    require(device.is_cuda(), name(), " takes weights on a CUDA device, not ", device.str());
    return over(layout_->process_weights(c, weights, device), device);
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override {
    const auto& w = static_cast<const MixedInputWeights&>(prepared);
    if (w.on_mma_kernel) return layout_->apply(*w.packed, x, bias, out, stream);
    const auto& packed = static_cast<const detail::Prepared&>(*w.packed);
    const LayerConfig& c = w.config();
    DeviceGuard guard(w.device.index);
    const cudaStream_t s = native(stream.handle);
    const int64_t m = x.rows(), k = c.part_k();
    constexpr int kStageK = MixedShape<F, 128>::kStageK;
    MixedInputCall call;
    call.m = m;
    call.n = c.part_n();
    call.k_stages = (packed.padded_k + kStageK - 1) / kStageK;
    call.plan = mixed_input_tile_plan(m, call.n, call.k_stages, w.sms,
                                      F::kBlockScales || w.block_scales.defined() ? 256 : 128);

    // TMA reads rows of 16-byte multiples from a 16-byte aligned base, in the weights' K order:
    // x as given where it is so, else a staged copy.
    const int64_t pitch = round_up(k, 8);
    const bool as_given =
        !packed.k_order.defined() && pitch == k && reinterpret_cast<uintptr_t>(x.data()) % 16 == 0;
    const Scratch staged(as_given ? 0 : m * pitch * 2, s, w.device.index);
    if (!as_given) {
      const int64_t total = m * k;
      const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4096));
      const int32_t* order =
          packed.k_order.defined() ? packed.k_order.data_as<const int32_t>() : nullptr;
      if (c.act_type == ScalarType::bf16)
        stage_activations<<<blocks, 256, 0, s>>>(x.data_as<const __nv_bfloat16>(), m, k, order,
                                                 staged.get<__nv_bfloat16>(), pitch);
      else
        stage_activations<<<blocks, 256, 0, s>>>(x.data_as<const __half>(), m, k, order,
                                                 staged.get<__half>(), pitch);
      check_launch("stage_activations");
    }
    call.x_map =
        make_half_map(as_given ? x.data() : staged.get(), m, k, pitch * 2, call.plan.block_n, "x");

    const Scratch workspace(workspace_bytes(call.plan), s, w.device.index);
    if (call.plan.splits > 1)
      check_cuda(cudaMemsetAsync(workspace.get(), 0, ticket_bytes(call.plan), s),
                 "cudaMemsetAsync (split-K tickets)");
    call.workspace = workspace.get();
    call.weight_map = &w.weight_map;
    call.scales = packed.scales.data();
    call.zeros = packed.zeros.defined() ? packed.zeros.data_as<const uint8_t>() : nullptr;
    call.groups = packed.groups;
    call.group_size = packed.group_size;
    const Tensor& block_scales = w.block_scales.defined() ? w.block_scales : packed.block_scales;
    if (block_scales.defined()) call.block_scales = block_scales.data_as<const uint8_t>();
    call.kblocks = packed.kblocks;
    if (bias.defined()) {
      call.epilogue.bias = bias.data();
      call.epilogue.bias_type = bias.dtype();
    }
    call.epilogue.out = out.data();
    call.epilogue.out_type = out.dtype();
    run_mixed_input<F>(call, c.act_type == ScalarType::bf16, s);
  }

  // The mma kernel's: exact weights, fp32 sums in the tensor cores and the group folds (twice the
  // plain bound), one rounding to the output; and where the 256-token tiles round each weight with
  // its scale (GroupScalesInFragment), two roundings to T a weight.
  double tolerance(const LayerConfig& c) const override {
    const bool rounds = kScalesRoundedOnWideTiles && !c.zero_points;
    return layout_->tolerance(c) + (rounds ? 2 * unit_roundoff(c.act_type) : 0.0);
  }

  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    if (&other == this) return prepared;
    if (other.name() == layout_->name())
      return static_cast<const MixedInputWeights&>(*prepared).packed;
    return nullptr;
  }
  std::shared_ptr<const PreparedWeights> weights_from(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    if (other.name() != layout_->name()) return nullptr;
    return over(prepared, static_cast<const detail::Prepared&>(*prepared).weights.device());
  }

 private:
  // The formats whose group scales are fp32 (the integer formats): on the 256-token tiles, their
  // scales rounded into the fragment.
  static constexpr bool kScalesRoundedOnWideTiles =
      !F::kBlockScales && std::is_base_of_v<detail::Fp32Scales, F>;

  // This kernel's weights over the mma kernel's packed ones (`packed_weights`, on `device`): its
  // tensor map and what the wide tiles need beside them.
  std::shared_ptr<const PreparedWeights> over(std::shared_ptr<const PreparedWeights> packed_weights,
                                              Device device) const {
    const LayerConfig& c = packed_weights->config();
    DeviceGuard guard(device.index);
    auto w = std::make_shared<MixedInputWeights>(c);
    w->packed = std::move(packed_weights);
    w->device = device;
    check_cuda(cudaDeviceGetAttribute(&w->sms, cudaDevAttrMultiProcessorCount, device.index),
               "cudaDeviceGetAttribute");
    const auto& packed = static_cast<const detail::Prepared&>(*w->packed);
    const int64_t tiles = packed.weights.numel() / (int64_t{packed.kblocks} * 128);
    w->weight_map = make_word_map(packed.weights.data(), tiles, int64_t{packed.kblocks} * 128,
                                  int64_t{packed.kblocks} * kPackedKBlockBytes, kRowTiles,
                                  kMixedStageKBlocks * kPackedKBlockBytes / 4, "packed weights");
    if constexpr (F::kBlockScales) {
      // The mma kernel lays the block scales out; where it folds a layer's scales instead (an MX
      // layer outside the fragment's exact range, detail::kHasFolds), the layer runs on it.
      w->on_mma_kernel = !packed.block_scales.defined();
    } else if (kScalesRoundedOnWideTiles && !packed.zeros.defined()) {
      const Tensor scales = Tensor::copy_of(packed.scales, Device::cpu());
      if (const auto pairs = group_scale_pairs(
              {scales.data_as<const float>(), static_cast<size_t>(scales.numel())},
              tiles * detail::kRowsPerTile, packed.groups, packed.group_size, packed.kblocks,
              MixedShape<F, 128>::kBlockK, F::kZero, c.act_type))
        w->block_scales = detail::to_device(*pairs, ScalarType::int32, device);
    }
    return w;
  }

  KernelInfo info_;
  std::shared_ptr<const Kernel> layout_;
};

}  // namespace qlinear::cuda::sm90
